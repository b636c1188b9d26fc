"""The audit record of one request, read from a test gateway's audit file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.gateway_server import GatewayServer
from tests.waiting import wait_until


def audit_record(gateway: GatewayServer, request_id: str, timeout: float = 10) -> dict[str, Any]:
    """The audit event of the request answered with `x-amz-request-id: request_id`
    (the auditor writes in batches: wait for it)."""
    assert request_id, "the answer carries no request id"
    path = gateway.settings.data_dir / "audit.log"

    def find() -> dict[str, Any] | None:
        events = (json.loads(line) for line in audit_lines(path))
        return next((dict(e) for e in events if e.get("request_id") == request_id), None)

    return wait_until(find, timeout, what=f"request {request_id} is in the audit log")


def audit_lines(path: Path) -> list[str]:
    """The complete lines of an audit file: the auditor may be writing the last one
    (a reader of a growing log never parses a line before its newline)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    return text.split("\n")[:-1]
