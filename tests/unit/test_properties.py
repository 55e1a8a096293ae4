"""Property tests: malformed and random objects never make the engine raise."""

import copy
from typing import Any

import kube as k
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crashwatch.diagnosis.context import ContainerContext
from crashwatch.diagnosis.engine import diagnose_container, diagnose_pod
from crashwatch.diagnosis.logcause import read_crash
from crashwatch.diagnosis.rules.rollout import diagnose_regressions
from crashwatch.diagnosis.view import ClusterView
from crashwatch.redact import redact

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                    st.text(max_size=20))
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.text(max_size=12), children, max_size=5)),
    max_leaves=25,
)
KEYS = ["kind", "metadata", "spec", "status", "state", "lastState", "waiting", "terminated",
        "running", "reason", "message", "exitCode", "containerStatuses", "name", "restartCount",
        "ownerReferences", "involvedObject", "items", "ready", "annotations", "resources"]


def _base_objects() -> list[dict[str, Any]]:
    c = k.container(livenessProbe={"httpGet": {"path": "/h", "port": 8080}})
    p = k.pod(containers=[c])
    p["status"]["containerStatuses"] = [k.crashloop_status(c, p, k.terminated("OOMKilled", 137))]
    return [
        p,
        k.event(p, "Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 500",
                container_name="app"),
        k.deployment("web", [c], revision=2),
        k.replicaset("web-7d9c5b8f6d", "web", 2, [c]),
        k.replicaset("web-5c8d7f", "web", 1, [k.container(memory_limit="1Gi")]),
        k.vpa("web", ("Deployment", "web"), "app", "32Mi"),
    ]


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(obj, dict):
        for key, val in obj.items():
            out += _paths(val, (*prefix, key))
    elif isinstance(obj, list):
        for i, val in enumerate(obj):
            out += _paths(val, (*prefix, i))
    return out


def _set(obj: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    target = obj
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return obj


def _run_unguarded(objects: list[Any]) -> None:
    """The rules without diagnose()'s safety net: they themselves must not raise."""
    view = ClusterView(objects)
    findings = []
    for pod in view.pods:
        findings += diagnose_pod(view, pod, lambda ns, p, c: "KeyError: 'X_Y'\n")
    diagnose_regressions(view, findings)
    for f in findings:
        f.to_dict()


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(data=st.data())
def test_mutating_any_field_of_realistic_objects_never_raises(data):
    objects = copy.deepcopy(_base_objects())
    idx = data.draw(st.integers(0, len(objects) - 1))
    paths = _paths(objects[idx])
    for _ in range(data.draw(st.integers(1, 4))):
        paths = _paths(objects[idx])
        path = data.draw(st.sampled_from(paths))
        objects[idx] = _set(objects[idx], path, data.draw(json_values))
    _run_unguarded(objects)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(json_values, st.dictionaries(
    st.sampled_from(KEYS), json_values, max_size=8)), max_size=6))
def test_random_objects_never_raise(objects):
    _run_unguarded([{"kind": "Pod", **o} if isinstance(o, dict) else o for o in objects])
    _run_unguarded(objects)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(KEYS), json_values, max_size=8))
def test_random_container_status_never_raises(status):
    view = ClusterView([])
    pod = k.pod()
    ctx = ContainerContext(view=view, pod=pod, owner=None, name="app", is_init=False,
                           status=status)
    diagnose_container(ctx, lambda *_: None)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=3000))
def test_log_matching_and_redaction_never_raise(text):
    read_crash(text)
    assert len(redact(text)) <= 300
