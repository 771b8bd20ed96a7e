"""bench/topics.py lists the misses of the items tuned on, never those of held-out items unless
told to: what a tuner reads, a tuner chases, and held-out figures then mean nothing."""

from __future__ import annotations

import subprocess
import sys

import yaml

from psgbot.config import DEFAULT_DATA_DIR, PROJECT_ROOT

BENCH = PROJECT_ROOT / "bench" / "topics.py"


def bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BENCH), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PROJECT_ROOT,
    )


def listed(output: str) -> list[str]:
    """The titles of the misses listed: lines ``#<n> (<part>) <title>``."""
    return [line.split(") ", 1)[1] for line in output.splitlines() if line.startswith("#")]


def test_a_held_out_sets_misses_are_refused_without_the_flag() -> None:
    held_out = DEFAULT_DATA_DIR / "topics-heldout.yaml"
    titles = {item["title"] for item in yaml.safe_load(held_out.read_text())["items"]}
    refused = bench("--misses", "--set", str(held_out))
    assert refused.returncode == 2
    assert "is held out" in refused.stderr
    assert "--show-held-out" in refused.stderr
    assert not any(title in refused.stdout + refused.stderr for title in titles)
    # Its figures alone are fine, and the flag shows the misses.
    assert bench("--set", str(held_out)).returncode == 0
    shown = bench("--misses", "--show-held-out", "--set", str(held_out))
    assert shown.returncode == 0
    assert listed(shown.stdout)
    assert set(listed(shown.stdout)) <= titles


def test_the_dev_sets_held_out_third_is_not_listed_without_the_flag() -> None:
    tuned_on = bench("--misses")
    assert tuned_on.returncode == 0
    assert listed(tuned_on.stdout)
    assert "(held out)" not in tuned_on.stdout
    assert "held-out items tagged wrongly not listed: --show-held-out" in tuned_on.stdout
    everything = bench("--misses", "--show-held-out")
    assert "(held out)" in everything.stdout
    assert set(listed(tuned_on.stdout)) < set(listed(everything.stdout))
