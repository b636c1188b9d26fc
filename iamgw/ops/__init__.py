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
from .metrics import (
    Metrics,
    count_auth_failures,
    count_decision,
    idp_error,
    idp_request,
    prepare_multiprocess_dir,
    register_operations,
    upstream_error,
    upstream_request,
)

__all__ = [
    "AuditMiddleware",
    "Auditor",
    "Exchange",
    "Metrics",
    "audit_fields",
    "count_auth_failures",
    "count_decision",
    "healthz",
    "idp_error",
    "idp_request",
    "kind_of_arn",
    "note",
    "note_decision",
    "prepare_multiprocess_dir",
    "principal_kind",
    "readyz",
    "record_principal",
    "register_operations",
    "upstream_error",
    "upstream_request",
]
