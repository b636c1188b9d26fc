"""The public surface of iamgw.policy: what it exports, and that it stands alone."""

from __future__ import annotations

import ast
from pathlib import Path

import iamgw.policy

PACKAGE = Path(iamgw.policy.__file__).parent


def test_exported_names() -> None:
    assert sorted(iamgw.policy.__all__) == sorted(
        [
            "SIZE_LIMITS",
            "Decision",
            "Effect",
            "Engine",
            "MalformedPolicyDocument",
            "Outcome",
            "Policy",
            "PolicyError",
            "PolicyKind",
            "PolicySizeExceeded",
            "PolicyType",
            "Principal",
            "PrincipalKind",
            "Request",
            "evaluate",
            "parse_policy",
            "validate",
        ]
    )
    for name in iamgw.policy.__all__:
        assert getattr(iamgw.policy, name) is not None


def test_docstring_cites_the_reference() -> None:
    assert "https://docs.aws.amazon.com/IAM/latest/UserGuide/" in (iamgw.policy.__doc__ or "")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_imports_nothing_else_of_iamgw_and_casbin_only_in_one_module() -> None:
    for path in PACKAGE.rglob("*.py"):
        imports = _imports(path)
        assert not any(n == "iamgw" or n.startswith("iamgw.") for n in imports), path
        if path.name != "_casbin.py":
            assert not any(n.split(".")[0] == "casbin" for n in imports), path


def test_no_io_outside_the_cli() -> None:
    for path in PACKAGE.rglob("*.py"):
        if path.name in ("cli.py", "_casbin.py"):  # _casbin reads model.conf (package data)
            continue
        text = path.read_text()
        assert "open(" not in text and "read_text(" not in text, path
