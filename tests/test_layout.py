"""The layout of DESIGN.md §1 holds: imports run one way, and across packages only
through a package's public names (its `__init__`), as httpx's packages do."""

from __future__ import annotations

import ast
from pathlib import Path

import iamgw

ROOT = Path(iamgw.__file__).parent
# What each package (or top-level module) may import of the rest of iamgw. The request
# flows app -> sigv4 -> identity -> s3 / iam / sts -> policy -> proxy -> ops: nothing
# imports back up, the policy library imports nothing, and the three APIs not each other.
ALLOWED: dict[str, set[str]] = {
    "policy": set(),
    "errors": set(),
    "config": set(),
    "sigv4": {"errors"},
    "store": {"errors", "config", "policy"},
    # identity counts its decisions and failures into ops (metrics), which comes after it.
    "identity": {"errors", "config", "gateway", "ops", "policy", "sigv4", "store"},
    "ops": {"errors", "config", "gateway", "policy"},
    "queryapi": {"errors", "gateway", "identity", "ops", "sigv4"},
    "s3": {"errors", "config", "gateway", "identity", "ops", "policy", "sigv4", "store"},
    "iam": {"errors", "config", "gateway", "identity", "ops", "policy", "queryapi", "store"},
    "sts": {"errors", "config", "gateway", "identity", "ops", "policy", "queryapi", "store"},
    "console": {
        "errors",
        "config",
        "gateway",
        "iam",
        "identity",
        "ops",
        "queryapi",
        "s3",
        "sigv4",
        "store",
        "sts",
    },
    "datadir": {"config", "store"},
    "terminal_login": set(),  # a client of the gateway: it talks HTTP, imports nothing
    "http_server": {"errors"},
    "gateway": {"config", "console", "datadir", "identity", "ops", "s3", "store", "sts"},  # types
    "app": {
        "config",
        "console",
        "datadir",
        "errors",
        "gateway",
        "iam",
        "identity",
        "ops",
        "queryapi",
        "s3",
        "sigv4",
        "store",
        "sts",
    },  # fmt: skip
    "cli": {
        "app",
        "config",
        "datadir",
        "errors",
        "http_server",
        "iam",
        "ops",
        "policy",
        "s3",
        "store",
        "sts",
        "terminal_login",
    },  # fmt: skip
}


def _unit(path: Path) -> str:
    parts = path.relative_to(ROOT).parts
    return parts[0] if len(parts) > 1 else parts[0].removesuffix(".py")


def _imports(path: Path) -> list[tuple[str, int, bool]]:
    """(module, line, runtime) of every absolute import of iamgw in `path`."""
    tree = ast.parse(path.read_text())
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_only |= {id(n) for child in node.body for n in ast.walk(child)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            module = node.module if node.module != "iamgw" else names[1]
        elif isinstance(node, ast.Import):
            module = next((a.name for a in node.names if a.name.startswith("iamgw")), "")
        else:
            continue
        if module.startswith("iamgw."):
            found.append((module, node.lineno, id(node) not in type_only))
    return found


def _modules() -> list[Path]:
    return [p for p in ROOT.rglob("*.py") if "migrations" not in p.parts]


def test_every_package_has_its_rules() -> None:
    assert {_unit(p) for p in _modules()} - {"__init__"} <= set(ALLOWED)


def test_imports_run_one_way() -> None:
    wrong = []
    for path in _modules():
        unit = _unit(path)
        for module, line, runtime in _imports(path):
            target = module.split(".")[1]
            if target != unit and target not in ALLOWED.get(unit, set()):
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
            if unit == "gateway" and runtime and target != "gateway":
                wrong.append(f"gateway.py:{line} imports {module} outside TYPE_CHECKING")
    assert not wrong, "\n".join(wrong)


def test_packages_are_entered_by_their_public_names() -> None:
    """`from iamgw.identity import Access`, never `from iamgw.identity.access import ...`
    from outside the package."""
    wrong = []
    for path in _modules():
        unit = _unit(path)
        for module, line, _ in _imports(path):
            parts = module.split(".")
            package = ROOT / parts[1]
            if parts[1] != unit and package.is_dir() and len(parts) > 2:
                submodule = package / f"{parts[2]}.py"
                if submodule.exists() or (package / parts[2]).is_dir():
                    wrong.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not wrong, "\n".join(wrong)
