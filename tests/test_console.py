"""The offline console: ``psgbot run`` without a token, driven through a pipe."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

from support.feeds import HISTORY, FeedItem, recent, rss


def run_console(script: str, cwd: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PSGBOT_")}
    env.update(settings)
    return subprocess.run(
        [sys.executable, "-m", "psgbot", "run"],
        input=script,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=env,
    )


def test_piped_session_answers_every_line(tmp_path: Path) -> None:
    result = run_console("/start\n/latest\n/aims\n/events\n/latest abc\n", tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "\033[" not in out, "no colour when not on a terminal"
    assert "you>" not in out, "no prompt when not on a terminal"
    welcome, latest, aims, events, bad = (
        out.index("Peru Support Group, the UK network"),
        out.index("Latest news from the Peru Support Group"),
        out.index("PSG Aims"),
        out.index("No upcoming events just now"),
        out.index("I don't know the topic “abc”"),
    )
    assert welcome < latest < aims < events < bad
    headlines = out[latest:aims]
    assert headlines.count("(https://perusupportgroup.org.uk/news.php)") == 5
    first = headlines.splitlines()[2]
    assert first.startswith("Fujimoristas vote may save Hinostroza from prosecution")
    assert "Peru Support Group Annual Conference" in out[events:bad]
    assert "15 December 2018" in out[events:bad]
    assert "UCL Global Governance Institute" in out[events:bad]
    assert "Tavistock Square" in out[events:bad]
    assert "[1] 📰 Latest news" in out


def test_the_console_speaks_spanish_when_told(tmp_path: Path) -> None:
    result = run_console("/ayuda\n/eventos\n/aims\n", tmp_path, PSGBOT_CONSOLE_LANGUAGE="es")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Lo que puedo hacer" in out
    assert "/noticias: Últimas noticias" in out
    assert "sábado 15 de diciembre de 2018" in out
    assert "Objetivos del PSG" in out


def test_buttons_are_pressed_by_number(tmp_path: Path) -> None:
    result = run_console("/start\n6\n", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Why join the PSG?" in result.stdout
    assert "Become a member (https://perusupportgroup.org.uk/)" in result.stdout


def test_bad_setting_stops_with_one_clear_line(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PSGBOT_")}
    env["PSGBOT_POLL_INTERVAL"] = "often"
    result = subprocess.run(
        [sys.executable, "-m", "psgbot", "run"],
        input="",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "PSGBOT_POLL_INTERVAL" in result.stderr


def test_an_alert_arrives_in_the_console(tmp_path: Path) -> None:
    """The README's walk-through: subscribe, add an item to a local feed, see the alert."""
    feed = tmp_path / "feed.xml"
    feed.write_bytes(rss(HISTORY))
    env = {key: value for key, value in os.environ.items() if not key.startswith("PSGBOT_")}
    env.update(PSGBOT_FEEDS=str(feed), PSGBOT_POLL_INTERVAL="5")
    process = subprocess.Popen(
        [sys.executable, "-m", "psgbot", "run"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    output = process.stdout

    def pump() -> None:
        for line in output:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()

    def wait_for(fragment: str, seconds: float) -> str:
        seen = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                seen.append(lines.get(timeout=0.2))
            except queue.Empty:
                continue
            if fragment in seen[-1]:
                return "".join(seen)
        raise AssertionError(f"{fragment!r} not printed; got {''.join(seen)!r}")

    try:
        process.stdin.write("/subscribe justice\n")
        process.stdin.flush()
        wait_for("Subscribed to Justice", 30)
        fresh = FeedItem(
            "console-1",
            "Court annuls the pardon",
            "The ruling came today.",
            "https://n.example/c1",
            recent(),
        )
        feed.write_bytes(rss([fresh, *HISTORY]))
        wait_for("Court annuls the pardon", 30)
        wait_for("[2] Unsubscribe from Justice", 5)
    finally:
        process.stdin.close()
    assert process.wait(timeout=30) == 0
