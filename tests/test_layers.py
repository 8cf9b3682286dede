"""The layering, enforced on the imports of every module of the package (read with ast)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "pytest_jetson"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> set[str]:
    """Every module ``path`` imports (relative imports made absolute), at any depth."""
    tree = ast.parse(path.read_text(), filename=str(path))
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def within(path: Path, folder: str) -> bool:
    return path.relative_to(PACKAGE).parts[0] == folder


def test_the_walk_sees_the_package() -> None:
    found = {module_name(p) for p in modules()}
    assert {"pytest_jetson.bench", "pytest_jetson.sim.plugin", "pytest_jetson.plugin.main"} <= found
    assert "pytest_jetson.sim.bench" in imported(PACKAGE / "sim" / "plugin.py")
    assert "pytest" in imported(PACKAGE / "plugin" / "main.py")


def test_nothing_outside_sim_imports_the_simulator() -> None:
    offenders = {
        module_name(path): sorted(
            m
            for m in imported(path)
            if m == "pytest_jetson.sim" or m.startswith("pytest_jetson.sim.")
        )
        for path in modules()
        if not within(path, "sim")
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_only_the_pytest_layer_imports_pytest() -> None:
    allowed = {PACKAGE / "sim" / "plugin.py"}
    offenders = {
        module_name(path): sorted(
            m for m in imported(path) if m.split(".")[0] in ("pytest", "_pytest")
        )
        for path in modules()
        if not within(path, "plugin") and path not in allowed
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_at_most_a_dozen_modules_sit_flat_at_the_top() -> None:
    flat = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(flat) <= 12, flat
