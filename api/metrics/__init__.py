"""The admin API's /metrics: its own HTTP requests (http.py) and the platform's operations
(operations.py: flow runs, invoices issued, usage reconciliation), computed at scrape time."""

from .http import RequestMetrics, metrics_registry
from .operations import OperationsCollector, OperationsSnapshot, OperationsSource, operations_families

__all__ = ["OperationsCollector", "OperationsSnapshot", "OperationsSource", "RequestMetrics", "metrics_registry",
           "operations_families"]
