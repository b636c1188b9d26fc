"""Operations: Prometheus metrics, health and readiness, audit."""

from .audit import (
    Auditor,
    audit_fields,
    kind_of_arn,
    note,
    note_decision,
    principal_kind,
    record_principal,
)
from .audit_exchange import AuditMiddleware, Exchange
from .health import healthz, readyz
from .metrics import Metrics

__all__ = [
    "AuditMiddleware",
    "Auditor",
    "Exchange",
    "Metrics",
    "audit_fields",
    "healthz",
    "kind_of_arn",
    "note",
    "note_decision",
    "principal_kind",
    "readyz",
    "record_principal",
]
