"""Operations: Prometheus metrics, health and readiness, audit."""

from .audit import Auditor, audit_fields
from .health import healthz, readyz
from .metrics import Metrics

__all__ = ["Auditor", "Metrics", "audit_fields", "healthz", "readyz"]
