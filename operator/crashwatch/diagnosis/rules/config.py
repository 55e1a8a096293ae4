"""Configuration errors: a ConfigMap, Secret or key that does not exist, a security
context the image cannot satisfy. Read from ``CreateContainerConfigError`` and from
``FailedMount`` events; the kubelet's message names the object, the code does not
have to guess."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crashwatch.diagnosis import rx
from crashwatch.diagnosis.context import ContainerContext, event_line, waiting_line
from crashwatch.diagnosis.owners import all_containers
from crashwatch.diagnosis.view import as_dict, as_list, as_str, as_text
from crashwatch.model import Confidence, Finding, Reason

_MISSING_KEY = rx.compile(
    r"(?i)couldn't find key (?P<key>\S+) in (?P<kind>ConfigMap|Secret) "
    r"(?:(?P<ns>[^/\s]+)/)?(?P<name>[^\s,]+)"
)
_MISSING_OBJECT = rx.compile(r"(?i)\b(?P<kind>configmaps?|secrets?) \"(?P<name>[^\"]+)\" not found")
_MOUNT_MISSING_KEY = rx.compile(
    r"(?i)(?P<kind>configmap|secret) references non-existent (?:config|secret) key:? (?P<key>\S+)"
)
#: A security profile the runtime cannot apply: the node lacks it or the kubelet forbids
#: it (``cannot load seccomp profile "/var/lib/kubelet/seccomp/x.json": open ...: no such
#: file or directory``, ``empty localhost AppArmor profile is forbidden``, ``apparmor profile
#: not found``).
_PROFILE = rx.compile(r"(?i)\b(?P<kind>seccomp|apparmor)(?: security)?(?: options)?"
                      r"(?: for container)?[^\n]{0,40}?\bprofiles?\b")
_PROFILE_PATH = rx.compile(r'(?i)\bprofile "(?P<path>/[^"]+)"')
_MOUNT_VOLUME = rx.compile(r'for volume "(?P<volume>[^"]+)"')
_SECURITY = rx.compile(
    r"(?i)runAsNonRoot and image will run as root|runAsNonRoot and image has non-numeric user|"
    r"runAsUser breaks non-root policy|non-root policy"
)


def _kind(raw: str) -> str:
    return "ConfigMap" if raw.lower().startswith("configmap") else "Secret"


def _references(ctx: ContainerContext, kind: str, name: str, key: str | None) -> list[str]:
    """Where this container's spec refers to the missing object (or key)."""
    ref_field = "configMapKeyRef" if kind == "ConfigMap" else "secretKeyRef"
    from_field = "configMapRef" if kind == "ConfigMap" else "secretRef"
    found = []
    spec = ctx.spec
    for env in as_list(spec.get("env")):
        env = as_dict(env)
        ref = as_dict(as_dict(env.get("valueFrom")).get(ref_field))
        if ref.get("name") == name and (key is None or ref.get("key") == key):
            found.append(
                f"env {as_str(env.get('name'))} of container {ctx.name} reads key "
                f"{as_str(ref.get('key'))} of {kind} {name}"
            )
    for src in as_list(spec.get("envFrom")):
        ref = as_dict(as_dict(src).get(from_field))
        if ref.get("name") == name:
            found.append(f"envFrom of container {ctx.name} reads all keys of {kind} {name}")
    return found


def _similar(ctx: ContainerContext, kind: str, name: str) -> list[str]:
    """Objects of the same kind whose names contain the missing one: the kustomize
    ``namePrefix``/hash-suffix case, where the reference lost or gained a prefix."""
    names = (ctx.view.configmaps if kind == "ConfigMap" else ctx.view.secrets).get(ctx.namespace)
    if not names:
        return []
    found = [n for n in names if n != name and (name in n or (len(n) >= 4 and n in name))]
    return sorted(found, key=lambda n: (abs(len(n) - len(name)), n))[:3]


def _object_missing(
    ctx: ContainerContext, kind: str, name: str, evidence: list[str], via: str
) -> Finding:
    reason = Reason.MISSING_CONFIGMAP if kind == "ConfigMap" else Reason.MISSING_SECRET
    evidence += _references(ctx, kind, name, None)
    similar = _similar(ctx, kind, name)
    details: dict[str, Any] = {"kind": kind, "name": name, "via": via}
    summary = f"{kind} {ctx.namespace}/{name} does not exist, so container {ctx.name} cannot start"
    if similar:
        details["similar"] = similar
        evidence.append(f"{kind}s with a similar name exist: {', '.join(similar)}")
        summary += f" (did the name lose a prefix? {kind} {similar[0]} exists)"
        remediation = {"action": "fix-reference", "kind": kind, "name": name, "candidates": similar}
    else:
        remediation = {"action": "create-object", "kind": kind, "name": name}
    return ctx.finding(reason, summary + ".", evidence, remediation=remediation, details=details)


def _key_missing(
    ctx: ContainerContext, kind: str, name: str, key: str, evidence: list[str], via: str
) -> Finding:
    reason = Reason.MISSING_CONFIGMAP_KEY if kind == "ConfigMap" else Reason.MISSING_SECRET_KEY
    refs = _references(ctx, kind, name, key)
    evidence += refs
    env_names = [r.split()[1] for r in refs if r.startswith("env ")]
    details: dict[str, Any] = {"kind": kind, "name": name, "key": key, "via": via}
    if env_names:
        details["env"] = env_names[0]
    summary = f"Key {key!r} is missing from {kind} {ctx.namespace}/{name}" + (
        f" (env {env_names[0]} of container {ctx.name} needs it)." if env_names else "."
    )
    return ctx.finding(
        reason,
        summary,
        evidence,
        remediation={"action": "add-key", "kind": kind, "name": name, "key": key},
        details=details,
    )


def classify_message(
    ctx: ContainerContext, message: str, evidence: list[str], via: str
) -> Finding | None:
    """A finding from a kubelet configuration error message, or None if it says nothing
    we recognise."""
    m = _MISSING_KEY.search(message)
    if m:
        return _key_missing(ctx, _kind(m["kind"]), m["name"], m["key"], evidence, via)
    m = _MISSING_OBJECT.search(message)
    if m:
        return _object_missing(ctx, _kind(m["kind"]), m["name"], evidence, via)
    if _SECURITY.search(message):
        sc = {
            **as_dict(ctx.pod_spec.get("securityContext")),
            **as_dict(ctx.spec.get("securityContext")),
        }
        if sc:
            evidence.append(f"securityContext: {dict(sorted(sc.items()))}")
        return ctx.finding(
            Reason.SECURITY_CONTEXT,
            f"Container {ctx.name} cannot be created: its image runs as root but the pod "
            "requires runAsNonRoot (set runAsUser to a non-zero UID or use a non-root image).",
            evidence,
            remediation={"action": "set-run-as-user", "container": ctx.name},
            details={"message": message},
        )
    m = _PROFILE.search(message)
    if m:
        return _profile_refused(ctx, m, message, evidence)
    return None


def _profile_refused(ctx: ContainerContext, m: rx.Match, message: str,
                     evidence: list[str]) -> Finding:
    """A seccomp or AppArmor profile the pod asks for that the runtime cannot apply."""
    kind = "seccomp" if m["kind"].lower() == "seccomp" else "AppArmor"
    field = "seccompProfile" if kind == "seccomp" else "appArmorProfile"
    for where, spec in (("pod", ctx.pod_spec), ("container", ctx.spec)):
        profile = as_dict(as_dict(spec.get("securityContext")).get(field))
        if profile:
            evidence.append(f"{where} securityContext.{field}: {dict(sorted(profile.items()))}")
    path = _PROFILE_PATH.search(message)
    what = f"the {kind} profile {path['path']}" if path else f"its {kind} profile"
    return ctx.finding(
        Reason.SECURITY_CONTEXT,
        f"Container {ctx.name} cannot be created: {what} cannot be applied "
        f"(securityContext.{field}): {message.removeprefix('Error: ')}",
        evidence,
        remediation={"action": "fix-security-profile", "container": ctx.name,
                     "profile": kind},
        details={"message": message, "profile": kind,
                 "path": path["path"] if path else None},
    )


def diagnose_config_error(ctx: ContainerContext, waiting: Mapping[str, Any]) -> Finding:
    """``CreateContainerConfigError`` (and ``CreateContainerError`` with a config cause)."""
    evidence = [waiting_line(waiting)]
    failed = [ev for ev in ctx.container_events("Failed") if ev.message.startswith("Error: ")]
    if failed:
        evidence.append(event_line(failed[-1]))
    texts = [as_text(waiting.get("message"))] + [ev.message for ev in reversed(failed)]
    for text in texts:
        found = classify_message(ctx, text, evidence, via="env")
        if found is not None:
            return found
    message = next((t for t in texts if t), as_str(waiting.get("reason")))
    return ctx.finding(
        Reason.CONFIG_INVALID,
        f"Container {ctx.name} cannot be created because of its configuration: {message}",
        evidence,
        confidence=Confidence.MEDIUM,
        details={"message": message},
    )


def _volume_source(ctx: ContainerContext, volume: str) -> list[tuple[str, str]]:
    """The (kind, name) objects a pod volume draws from (projected volumes: several)."""
    for vol in as_list(ctx.pod_spec.get("volumes")):
        vol = as_dict(vol)
        if vol.get("name") != volume:
            continue
        out = []
        cm, sec = as_dict(vol.get("configMap")), as_dict(vol.get("secret"))
        if cm:
            out.append(("ConfigMap", as_str(cm.get("name"))))
        if sec:
            out.append(("Secret", as_str(sec.get("secretName"))))
        for src in as_list(as_dict(vol.get("projected")).get("sources")):
            src = as_dict(src)
            if src.get("configMap"):
                out.append(("ConfigMap", as_str(as_dict(src["configMap"]).get("name"))))
            if src.get("secret"):
                out.append(("Secret", as_str(as_dict(src["secret"]).get("name"))))
        return out
    return []


def mounts_volume(container: Mapping[str, Any], volume: str) -> bool:
    return any(as_dict(m).get("name") == volume for m in as_list(container.get("volumeMounts")))


def failed_mount_volume(ctx: ContainerContext) -> tuple[str, Any] | None:
    """The newest recent ``FailedMount`` event naming a volume, with that volume."""
    for ev in reversed(ctx.pod_events("FailedMount")):
        m = _MOUNT_VOLUME.search(ev.message)
        if m:
            return m["volume"], ev
    return None


def diagnose_failed_mount(ctx: ContainerContext) -> Finding | None:
    """A pod stuck in ``ContainerCreating`` because a ConfigMap/Secret volume fails."""
    found = failed_mount_volume(ctx)
    if found is None:
        return None
    volume, ev = found
    containers = all_containers(ctx.pod_spec)
    mounting = [c.get("name") for c in containers if mounts_volume(c, volume)]
    first = next((c.get("name") for c in as_list(ctx.pod_spec.get("containers"))
                  if isinstance(c, dict)), None)
    if ctx.name not in mounting and not (not mounting and ctx.name == first):
        return None
    evidence = [waiting_line(as_dict(ctx.state.get("waiting"))), event_line(ev)]
    m = _MOUNT_MISSING_KEY.search(ev.message)
    if m:
        kind = _kind(m["kind"])
        sources = [name for k, name in _volume_source(ctx, volume) if k == kind]
        name = sources[0] if sources else "?"
        return _key_missing(ctx, kind, name, m["key"], evidence, via=f"volume {volume}")
    m = _MISSING_OBJECT.search(ev.message)
    if m:
        return _object_missing(ctx, _kind(m["kind"]), m["name"], evidence, via=f"volume {volume}")
    return None
