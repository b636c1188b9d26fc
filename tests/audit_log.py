"""The audit record of one request, read from a test gateway's audit file."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.gateway_server import GatewayServer


def audit_record(gateway: GatewayServer, request_id: str, timeout: float = 10) -> dict[str, Any]:
    """The audit event of the request answered with `x-amz-request-id: request_id`
    (the auditor writes in batches: wait for it)."""
    assert request_id, "the answer carries no request id"
    path = gateway.settings.data_dir / "audit.log"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                event = json.loads(line)
                if event.get("request_id") == request_id:
                    return dict(event)
        time.sleep(0.1)
    raise AssertionError(f"request {request_id} is not in the audit log")
