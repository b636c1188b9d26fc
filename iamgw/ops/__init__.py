"""Operations: Prometheus metrics, health and readiness, audit."""

from .health import healthz, readyz
from .metrics import Metrics

__all__ = ["Metrics", "healthz", "readyz"]
