"""Plain, frozen data that every layer shares: reason codes, owners and findings.

Nothing here does I/O or knows about kopf. Reason codes are a public contract
(annotations, metric labels, CLI JSON): add new ones, never rename.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Reason(StrEnum):
    """The stable reason codes crashwatch attaches to a failing container or workload."""

    OOM_KILLED = "CrashLoop.OOMKilled"
    OOM_AFTER_SHRINK = "CrashLoop.OOMAfterShrink"
    MISSING_ENV = "CrashLoop.MissingEnv"
    READ_ONLY_FILESYSTEM = "CrashLoop.ReadOnlyFilesystem"
    DEPENDENCY_UNREACHABLE = "CrashLoop.DependencyUnreachable"
    COMMAND_NOT_FOUND = "CrashLoop.CommandNotFound"
    PERMISSION_DENIED = "CrashLoop.PermissionDenied"
    LIVENESS_PROBE = "CrashLoop.LivenessProbe"
    APP_ERROR = "CrashLoop.AppError"
    MISSING_CONFIGMAP = "Config.MissingConfigMap"
    MISSING_CONFIGMAP_KEY = "Config.MissingConfigMapKey"
    MISSING_SECRET = "Config.MissingSecret"
    MISSING_SECRET_KEY = "Config.MissingSecretKey"
    SECURITY_CONTEXT = "Config.SecurityContext"
    CONFIG_INVALID = "Config.Invalid"
    IMAGE_NOT_FOUND = "Image.NotFound"
    IMAGE_UNAUTHORIZED = "Image.Unauthorized"
    IMAGE_INVALID_NAME = "Image.InvalidName"
    IMAGE_PULL_BACKOFF = "Image.PullBackOff"
    READINESS_FAILING = "Probe.ReadinessFailing"
    EVICTED = "Pod.Evicted"
    ROLLOUT_REGRESSION = "Rollout.Regression"
    # Added with the wider taxonomy (issue #13): never renamed once published.
    EXEC_FORMAT_ERROR = "CrashLoop.ExecFormatError"
    SEGFAULT = "CrashLoop.Segfault"
    HEAP_EXHAUSTED = "CrashLoop.HeapExhausted"
    DISK_FULL = "CrashLoop.DiskFull"
    TOO_MANY_OPEN_FILES = "CrashLoop.TooManyOpenFiles"
    STARTUP_PROBE = "CrashLoop.StartupProbe"
    HOOK_FAILED = "CrashLoop.HookFailed"
    UNSCHEDULABLE = "Pod.Unschedulable"
    VOLUME_MOUNT_FAILED = "Pod.VolumeMountFailed"
    IMAGE_NEVER_PULL = "Image.NeverPull"
    CREATE_CONTAINER_ERROR = "Config.CreateContainerError"
    RUNTIME_START_ERROR = "Runtime.StartError"
    JOB_BACKOFF_LIMIT_EXCEEDED = "Job.BackoffLimitExceeded"
    JOB_DEADLINE_EXCEEDED = "Job.DeadlineExceeded"
    WORKLOAD_FAILED_CREATE = "Workload.FailedCreate"
    INIT_STUCK = "Init.Stuck"

    def __str__(self) -> str:
        return self.value


class Confidence(StrEnum):
    """How sure a finding is: OOM attribution and log heuristics are imperfect."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class OwnerRef:
    """The top controller of a pod: the Deployment, not its ReplicaSet."""

    kind: str
    name: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "name": self.name}


@dataclass(frozen=True, slots=True)
class Finding:
    """One diagnosis: what fails, the single most specific reason, and the evidence."""

    namespace: str
    pod: str | None
    container: str | None
    owner: OwnerRef | None
    reason: Reason
    summary: str
    evidence: tuple[str, ...]
    remediation: dict[str, Any] | None = None
    confidence: Confidence = Confidence.HIGH
    details: dict[str, Any] = field(default_factory=dict)
    """Structured specifics (key, variable, limits, status code...) for machines."""

    def key(self) -> tuple[str, str, str, str]:
        """Identity of what the finding is about (not of its reason)."""
        owner = f"{self.owner.kind}/{self.owner.name}" if self.owner else ""
        return (self.namespace, owner, self.pod or "", self.container or "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "pod": self.pod,
            "container": self.container,
            "owner": self.owner.to_dict() if self.owner else None,
            "reason": self.reason.value,
            "summary": self.summary,
            "evidence": list(self.evidence),
            "remediation": self.remediation,
            "confidence": self.confidence.value,
            "details": self.details,
        }
