"""Images that cannot be pulled: no such tag or repository, access denied, a malformed
reference, or any other pull failure. The waiting message of ``ImagePullBackOff`` only
says "Back-off pulling image"; the cause is in the kubelet's ``Failed`` event."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crashwatch.diagnosis import rx
from crashwatch.diagnosis.context import ContainerContext, event_line, waiting_line
from crashwatch.diagnosis.view import as_str, as_text
from crashwatch.model import Confidence, Finding, Reason

IMAGE_WAITING = frozenset(
    {
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "ErrImageNeverPull",
        "RegistryUnavailable",
        "SignatureValidationFailed",
        "ImageInspectError",
    }
)

_EXPLICIT_NOT_FOUND = rx.compile(r"code = NotFound")
_UNAUTHORIZED = rx.compile(
    r"(?i)pull access denied|insufficient_scope|401 Unauthorized|403 Forbidden|"
    r"failed to authorize|unauthorized: |authentication required|"
    r"requested access to the resource is denied|denied: |no basic auth credentials|"
    # Docker's daemon passing on GHCR's bare answer: ``Head "https://ghcr.io/v2/...": denied``
    r"\":\s*denied\s*$"
)
_NOT_FOUND = rx.compile(
    r"(?i): not found\b|manifest unknown|manifest for \S+ not found|name unknown|"
    r"repository \S+ not found|not found: manifest|no such image|404 Not Found"
)
_INVALID = rx.compile(
    r"(?i)invalid reference format|couldn't parse image reference|InvalidImageName"
)
_NEVER_PULL = rx.compile(r"is not present with pull policy of Never|ErrImageNeverPull")
_IMAGE_REF = rx.compile(r'image "(?P<image>[^"]+)"')


def diagnose_image(ctx: ContainerContext, waiting: Mapping[str, Any]) -> Finding:
    reason_text = as_str(waiting.get("reason"))
    events = ctx.container_events("Failed", "InspectFailed", "ErrImageNeverPull", "BackOff")
    pull_events = [ev for ev in events if not ev.message.startswith("Error: ")]
    texts = [as_text(waiting.get("message"))] + [ev.message for ev in reversed(pull_events)]
    joined = "\n".join(texts)
    image = as_str(ctx.spec.get("image")) or as_str(ctx.status.get("image"))
    ref = _IMAGE_REF.search(joined)
    if ref:
        image = ref["image"]
    evidence = [waiting_line(waiting)]
    telling = [ev for ev in pull_events
               if ev.reason in ("Failed", "InspectFailed", "ErrImageNeverPull")]
    if telling:
        evidence.append(event_line(telling[-1]))
    evidence.append(f"image: {image}")
    details: dict[str, Any] = {"image": image}
    confidence = Confidence.HIGH

    if reason_text == "ErrImageNeverPull" or _NEVER_PULL.search(joined):
        reason = Reason.IMAGE_NEVER_PULL
        policy = as_str(ctx.spec.get("imagePullPolicy")) or "Never"
        evidence.append(f"imagePullPolicy: {policy}")
        node = as_str(ctx.pod_spec.get("nodeName"))
        summary = (
            f"Image {image} of container {ctx.name} is not on node {node or '?'} and its "
            "imagePullPolicy is Never: load the image onto the node or allow pulling it."
        )
        remediation: dict[str, Any] | None = {"action": "fix-image-pull-policy",
                                              "image": image, "policy": policy}
        details["imagePullPolicy"] = policy
    elif reason_text == "InvalidImageName" or _INVALID.search(joined):
        reason = Reason.IMAGE_INVALID_NAME
        summary = f"Image reference {image!r} of container {ctx.name} is not a valid image name."
        remediation = {"action": "fix-image", "image": image}
    elif _EXPLICIT_NOT_FOUND.search(joined) or (
        _NOT_FOUND.search(joined) and not _UNAUTHORIZED.search(joined)
    ):
        reason = Reason.IMAGE_NOT_FOUND
        summary = (
            f"Image {image} of container {ctx.name} does not exist "
            "(no such tag or repository in the registry)."
        )
        remediation = {"action": "fix-image", "image": image}
    elif _UNAUTHORIZED.search(joined):
        reason = Reason.IMAGE_UNAUTHORIZED
        pull_secrets = [
            as_str(s.get("name")) for s in ctx.pod_spec.get("imagePullSecrets") or []
            if isinstance(s, dict)
        ]
        details["imagePullSecrets"] = pull_secrets
        evidence.append(f"imagePullSecrets: {', '.join(pull_secrets) or 'none'}")
        summary = (
            f"The registry refuses to serve {image} to this node: access denied "
            f"(imagePullSecrets: {', '.join(pull_secrets) or 'none'})."
        )
        remediation = {"action": "fix-pull-credentials", "image": image}
    else:
        reason = Reason.IMAGE_PULL_BACKOFF
        if not telling:
            confidence = Confidence.MEDIUM
        summary = f"Image {image} of container {ctx.name} cannot be pulled ({reason_text})."
        remediation = None
    return ctx.finding(
        reason, summary, evidence, remediation=remediation, details=details, confidence=confidence
    )
