"""The README's layout section names every module and package of psgbot, and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "psgbot"


def layout_block() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Layout", 1)[1]
    return section.split("```", 2)[1]


def modules() -> set[str]:
    """Every module's name without ``.py``, and every package's name: what the layout names."""
    names = set()
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts or path.name in {"__init__.py", "__main__.py"}:
            continue
        names.add(path.stem)
    names.update(path.name for path in PACKAGE.iterdir() if (path / "__init__.py").exists())
    return names


def test_the_layout_names_every_module() -> None:
    words = set(re.findall(r"[a-z0-9_]+", layout_block()))
    missing = sorted(modules() - words)
    assert not missing, f"README's layout does not mention: {', '.join(missing)}"


def test_every_file_the_layout_names_exists() -> None:
    named = re.findall(r"(?<![/\w])([a-z_][a-z0-9_]*)(\.py|/)", layout_block())
    files = {path.name for path in PACKAGE.rglob("*.py")}
    folders = {path.name for path in PACKAGE.rglob("*") if path.is_dir()}
    folders |= {path.name for path in ROOT.iterdir() if path.is_dir()}
    absent = [
        name + suffix
        for name, suffix in named
        if (name + suffix not in files if suffix == ".py" else name not in folders)
    ]
    assert not absent, f"README's layout names what is not there: {', '.join(absent)}"
