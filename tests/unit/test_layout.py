"""The layout rules a newcomer can rely on (README, "How it works"), checked on every run.

- no import cycle between the top-level packages of `jira_sync`;
- SQLAlchemy is imported only under `store/`;
- `domain/` imports no adapter (jira, store, web, console, sources, sync, setup, app);
- `console/` never imports `web/` (the web app installs the console, not the other way);
- no module outside `devtools/` is over 400 lines.
"""
from __future__ import annotations

import ast
from pathlib import Path

import jira_sync

ROOT = Path(jira_sync.__file__).parent
MODULES = sorted(p for p in ROOT.rglob("*.py") if "devtools" not in p.parts and "migrations" not in p.parts)


def _package(path: Path) -> str:
    rel = path.relative_to(ROOT).parts
    return rel[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    """Fully qualified names this module imports (relative imports resolved)."""
    tree = ast.parse(path.read_text())
    here = ["jira_sync", *path.relative_to(ROOT).with_suffix("").parts]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found |= {f"{module}.{a.name}" for a in node.names}
    return found


def _top_level_imports(path: Path) -> set[str]:
    return {name.split(".")[1] for name in _imports(path) if name.startswith("jira_sync.") and name.count(".") >= 1}


def test_no_import_cycle_between_top_level_packages() -> None:
    graph: dict[str, set[str]] = {}
    for path in MODULES:
        pkg = _package(path)
        graph.setdefault(pkg, set()).update(p for p in _top_level_imports(path) if p != pkg)

    def cycle_from(start: str) -> list[str] | None:
        stack = [(start, [start])]
        while stack:
            node, trail = stack.pop()
            for nxt in graph.get(node, ()):
                if nxt == start:
                    return trail + [start]
                if nxt not in trail:
                    stack.append((nxt, trail + [nxt]))
        return None

    cycles = {tuple(c) for p in graph if (c := cycle_from(p))}
    assert not cycles, f"import cycles between packages: {sorted(cycles)}"


def test_sqlalchemy_only_in_store() -> None:
    offenders = [str(p.relative_to(ROOT)) for p in MODULES
                 if _package(p) != "store" and any(n.split(".")[0] == "sqlalchemy" for n in _imports(p))]
    assert offenders == []


def test_domain_imports_no_adapter() -> None:
    adapters = {"jira", "store", "web", "console", "sources", "sync", "setup", "app", "bootstrap", "cli"}
    offenders = {str(p.relative_to(ROOT)): sorted(_top_level_imports(p) & adapters)
                 for p in MODULES if _package(p) == "domain"}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_console_does_not_import_web() -> None:
    offenders = [str(p.relative_to(ROOT)) for p in MODULES if _package(p) == "console" and "web" in _top_level_imports(p)]
    assert offenders == []


def test_modules_stay_small() -> None:
    big = {str(p.relative_to(ROOT)): n for p in MODULES if (n := len(p.read_text().splitlines())) > 400}
    assert big == {}
