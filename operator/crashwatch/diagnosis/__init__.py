"""The pure diagnosis core: Kubernetes objects in, findings out."""

from crashwatch.diagnosis.engine import LogSource, diagnose, diagnose_container, diagnose_pod
from crashwatch.diagnosis.view import ClusterView

__all__ = ["ClusterView", "LogSource", "diagnose", "diagnose_container", "diagnose_pod"]
