"""The package's public surface and its purity (no I/O, imports only iamgw.errors)."""

from __future__ import annotations

import ast
from pathlib import Path

import iamgw.sigv4

PACKAGE = Path(iamgw.sigv4.__file__).parent
ALLOWED_STDLIB = {
    "__future__",
    "base64",
    "binascii",
    "collections",
    "dataclasses",
    "datetime",
    "email",
    "enum",
    "functools",
    "hashlib",
    "hmac",
    "re",
    "typing",
    "urllib",
    "zlib",
}


def test_exported_names() -> None:
    assert set(iamgw.sigv4.__all__) >= {
        "AuthInfo",
        "SigningContext",
        "ChunkedDecoder",
        "PayloadVerifier",
        "parse_auth",
        "verify",
        "verify_payload",
        "sha256_hex",
        "sign_request",
        "Credentials",
    }
    for name in iamgw.sigv4.__all__:
        assert hasattr(iamgw.sigv4, name), name


def test_docstring_names_the_aws_documents() -> None:
    doc = iamgw.sigv4.__doc__ or ""
    for page in ("sig-v4-authenticating-requests", "sigv4-query-string-auth", "sigv4-streaming"):
        assert page in doc


def test_imports_are_pure() -> None:
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top == "iamgw":
                    assert name == "iamgw.errors" or name.startswith("iamgw.sigv4"), (path, name)
                else:
                    assert top in ALLOWED_STDLIB, (path, name)
