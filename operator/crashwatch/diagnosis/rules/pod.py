"""Pod-level failures that are not about one container: node-pressure eviction."""

from __future__ import annotations

from crashwatch.diagnosis import rx
from crashwatch.diagnosis.view import ClusterView, Obj, as_dict, as_list, as_str, as_text, meta
from crashwatch.model import Finding, OwnerRef, Reason
from crashwatch.redact import redact

_RESOURCE = rx.compile(r"low on resource: (?P<resource>[\w.-]+)")
_CONDITION = rx.compile(r"node had condition: \[(?P<condition>\w+)\]")
_USAGE = rx.compile(
    r"Container (?P<container>\S+) was using (?P<usage>\S+?),? "
    r"(?:request is (?P<request>[^,.\s]+)|which exceeds its request of (?P<request2>[^,.\s]+))"
)
_EPHEMERAL = rx.compile(r"(?i)ephemeral local storage usage exceeds")


def diagnose_eviction(view: ClusterView, pod: Obj, owner: OwnerRef | None) -> Finding | None:
    status = as_dict(pod.get("status"))
    if as_str(status.get("reason")) != "Evicted":
        return None
    message = as_text(status.get("message"))
    details: dict[str, object] = {}
    m = _RESOURCE.search(message)
    if m:
        details["resource"] = m["resource"].rstrip(".")
    elif _EPHEMERAL.search(message):
        details["resource"] = "ephemeral-storage"
    else:
        c = _CONDITION.search(message)
        if c:
            details["condition"] = c["condition"]
    users = [
        {"container": u["container"], "usage": u["usage"], "request": u["request"] or u["request2"]}
        for u in _USAGE.finditer(message)
    ]
    if users:
        details["containers"] = users
    evidence = [f"status: phase={as_str(status.get('phase'))} reason=Evicted message={message!r}"]
    for cond in as_list(status.get("conditions")):
        cond = as_dict(cond)
        if cond.get("type") == "DisruptionTarget":
            evidence.append(
                f"condition DisruptionTarget={cond.get('status')} reason={cond.get('reason')}"
            )
    node = as_str(as_dict(pod.get("spec")).get("nodeName"))
    if node:
        details["node"] = node
    resource = details.get("resource") or details.get("condition") or "a resource"
    summary = f"Pod was evicted from node {node or '?'} because the node ran low on {resource}"
    if users:
        u = users[0]
        summary += (
            f"; container {u['container']} used {u['usage']} "
            f"against a request of {u['request']}"
        )
    return Finding(
        namespace=as_str(meta(pod).get("namespace")),
        pod=as_str(meta(pod).get("name")),
        container=None,
        owner=owner,
        reason=Reason.EVICTED,
        summary=redact(summary + ".", limit=400),
        evidence=tuple(redact(e) for e in evidence),
        remediation={"action": "raise-request", "resource": details.get("resource")}
        if users else None,
        details=details,
    )
