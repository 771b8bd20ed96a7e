"""Layers point down: no module imports one of a higher layer.

    foundation (config, logs, i18n, dates, numbers)  any layer may use them
    db         (psgbot.db, leader)          tables, enums, engine, migrations, the active lock
    domain     (news, events, chats, outbox, feeds, ...)  what the bot knows and decides
    render     (psgbot.render)              Telegram HTML from domain data
    delivery   (psgbot.alerts)              the dispatcher: renders and sends the outbox
    bot        (psgbot.bot)                 handlers
    app        (app, cli, console, ...)     wiring, transports, entry points

Imports inside a layer are free; every module must be placed in one.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "psgbot"

LAYERS: dict[str, tuple[str, ...]] = {
    "foundation": (
        "psgbot",
        "psgbot.config",
        "psgbot.logs",
        "psgbot.i18n",
        "psgbot.dates",
        "psgbot.numbers",
    ),
    # The active lock is an advisory lock on the engine: it imports nothing of psgbot.
    "db": ("psgbot.db", "psgbot.leader"),
    "domain": (
        "psgbot.admins",
        "psgbot.broadcasts",
        "psgbot.channels",
        "psgbot.chats",
        "psgbot.events",
        "psgbot.events_file",
        "psgbot.feeds",
        "psgbot.news",
        "psgbot.outbox",
        "psgbot.preferences",
        "psgbot.privacy",
        "psgbot.retag",
        "psgbot.retention",
        # The archive's search: folding, the index rows, the queries on each database.
        "psgbot.search",
        "psgbot.stats",
        "psgbot.texts",
        "psgbot.topics",
        "psgbot.watches",
        # What every job and handler shares (settings, sessions, taxonomy, feed client).
        "psgbot.services",
        # Counters the poller and dispatcher feed, and the endpoints that serve them.
        "psgbot.metrics",
    ),
    "render": ("psgbot.render",),
    "delivery": ("psgbot.alerts",),
    "bot": ("psgbot.bot",),
    "app": (
        "psgbot.__main__",
        "psgbot.app",
        "psgbot.cli",
        "psgbot.console",
        "psgbot.offline",
        "psgbot.offline_updates",
        "psgbot.topology",
        "psgbot.webhook",
    ),
}
RANK = {layer: rank for rank, layer in enumerate(LAYERS)}


def layer_of(module: str) -> str | None:
    """The layer of a module: the one naming it or its closest enclosing package (the top
    package holds only its own ``__init__``)."""
    best: tuple[int, str] | None = None
    for layer, prefixes in LAYERS.items():
        for prefix in prefixes:
            inside = "." in prefix and module.startswith(prefix + ".")
            if (module == prefix or inside) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), layer)
    return best[1] if best else None


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported(path: Path, root: Path) -> list[tuple[int, str]]:
    """The psgbot modules a file imports (type-checking imports too), with their lines."""
    names: list[tuple[int, str]] = []
    package = module_name(path, root)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                # "from psgbot import metrics" imports a module; "from psgbot import
                # __version__" the package.
                candidate = f"{base}.{alias.name}"
                is_module = (root.parent / Path(*candidate.split("."))).with_suffix(".py").exists()
                is_package = (root.parent / Path(*candidate.split("."))).is_dir()
                names.append((node.lineno, candidate if is_module or is_package else base))
    return [(line, name) for line, name in names if name.split(".")[0] == root.name]


def violations(root: Path) -> list[str]:
    """Every upward import, and every module no layer holds, as one line each."""
    found: list[str] = []
    for path in sorted(root.rglob("*.py")):
        module = module_name(path, root)
        layer = layer_of(module)
        where = path.relative_to(root.parent)
        if layer is None:
            found.append(f"{where}: {module} is in no layer (place it in tests/test_layers.py)")
            continue
        for line, target in imported(path, root):
            target_layer = layer_of(target)
            if target_layer is not None and RANK[target_layer] > RANK[layer]:
                found.append(
                    f"{where}:{line}: {module} ({layer}) imports {target} ({target_layer})"
                )
    return found


def test_no_module_imports_a_higher_layer() -> None:
    found = violations(PACKAGE)
    assert not found, "imports pointing up:\n" + "\n".join(found)


def test_an_upward_import_is_named(tmp_path: Path) -> None:
    root = tmp_path / "psgbot"
    (root / "alerts").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "alerts" / "__init__.py").write_text("")
    (root / "alerts" / "sends.py").write_text("X = 1\n")
    (root / "events.py").write_text("from psgbot.alerts.sends import X\n")
    (root / "chats.py").write_text("from .alerts import sends\n")
    (root / "stray.py").write_text("")
    assert violations(root) == [
        "psgbot/chats.py:1: psgbot.chats (domain) imports psgbot.alerts.sends (delivery)",
        "psgbot/events.py:1: psgbot.events (domain) imports psgbot.alerts.sends (delivery)",
        "psgbot/stray.py: psgbot.stray is in no layer (place it in tests/test_layers.py)",
    ]
