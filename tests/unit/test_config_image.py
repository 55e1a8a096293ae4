"""Configuration errors (CreateContainerConfigError, FailedMount) and image pulls."""

import kube as k
import pytest
from helpers import evidence_text, only, run

from crashwatch.model import Reason


def _config_error(message, env=None, extra=()):
    c = k.container(env=env or [])
    p = k.pod(containers=[c])
    p["status"]["phase"] = "Pending"
    p["status"]["containerStatuses"] = [
        k.waiting_status(c, "CreateContainerConfigError", message)]
    ev = k.event(p, "Failed", f"Error: {message}", container_name="app", count=14)
    return [p, ev, *extra]


def test_missing_configmap_key_names_key_object_and_env():
    env = [{"name": "FEATURE_FLAGS_URL", "valueFrom": {"configMapKeyRef": {
        "name": "web-config", "key": "feature_flags_url"}}}]
    f = only(run(_config_error(
        "couldn't find key feature_flags_url in ConfigMap shop/web-config", env)))
    assert f.reason is Reason.MISSING_CONFIGMAP_KEY
    assert f.details == {"kind": "ConfigMap", "name": "web-config", "key": "feature_flags_url",
                         "via": "env", "env": "FEATURE_FLAGS_URL"}
    assert "feature_flags_url" in evidence_text(f) and "web-config" in evidence_text(f)
    assert f.remediation == {"action": "add-key", "kind": "ConfigMap", "name": "web-config",
                             "key": "feature_flags_url"}


def test_missing_secret_key_older_kubelet_capitalisation():
    f = only(run(_config_error("Couldn't find key password in Secret shop/db-credentials")))
    assert f.reason is Reason.MISSING_SECRET_KEY
    assert (f.details["name"], f.details["key"]) == ("db-credentials", "password")


@pytest.mark.parametrize("message", ['configmap "web-config" not found',
                                     'configmaps "web-config" not found'])
def test_missing_configmap(message):
    f = only(run(_config_error(message)))
    assert f.reason is Reason.MISSING_CONFIGMAP and f.details["name"] == "web-config"


@pytest.mark.parametrize("message", ['secret "worker-env" not found',
                                     'secrets "worker-env" not found'])
def test_missing_secret_singular_and_plural(message):
    f = only(run(_config_error(message)))
    assert f.reason is Reason.MISSING_SECRET and f.details["name"] == "worker-env"


def test_missing_secret_that_lost_its_kustomize_prefix_points_at_the_real_one():
    extra = [k.named("Secret", "prod-worker-env-7g9k2m4b5t"), k.named("Secret", "unrelated")]
    f = only(run(_config_error('secret "worker-env" not found', extra=extra)))
    assert f.reason is Reason.MISSING_SECRET
    assert f.details["similar"] == ["prod-worker-env-7g9k2m4b5t"]
    assert "prod-worker-env-7g9k2m4b5t" in evidence_text(f)
    assert f.remediation is not None and f.remediation["action"] == "fix-reference"


def test_run_as_non_root_with_root_image():
    msg = ('container has runAsNonRoot and image will run as root (pod: '
           '"web-7d9c5b8f6d-x2x9k_shop(0a1b)", container: app)')
    f = only(run(_config_error(msg)))
    assert f.reason is Reason.SECURITY_CONTEXT
    assert "runAsNonRoot" in evidence_text(f)


def _mount_failure(message, volumes):
    c = k.container(volumeMounts=[{"name": volumes[0]["name"], "mountPath": "/etc/app"}])
    p = k.pod(containers=[c], volumes=volumes)
    p["status"]["phase"] = "Pending"
    p["status"]["containerStatuses"] = [k.waiting_status(c, "ContainerCreating")]
    ev = k.event(p, "FailedMount", message, count=9)
    return [p, ev]


def test_failed_mount_of_missing_secret_volume():
    vols = [{"name": "tls", "secret": {"secretName": "web-tls", "defaultMode": 420}}]
    f = only(run(_mount_failure(
        'MountVolume.SetUp failed for volume "tls" : secret "web-tls" not found', vols)))
    assert f.reason is Reason.MISSING_SECRET
    assert f.container == "app" and f.details["name"] == "web-tls"
    assert f.details["via"] == "volume tls"


def test_failed_mount_of_missing_configmap_key():
    vols = [{"name": "config", "configMap": {"name": "web-config", "items": [
        {"key": "app.yaml", "path": "app.yaml"}]}}]
    f = only(run(_mount_failure(
        'MountVolume.SetUp failed for volume "config" : configmap references non-existent '
        "config key: app.yaml", vols)))
    assert f.reason is Reason.MISSING_CONFIGMAP_KEY
    assert (f.details["name"], f.details["key"]) == ("web-config", "app.yaml")


def test_container_creating_without_mount_failure_is_starting():
    c = k.container()
    p = k.pod(containers=[c])
    p["status"]["phase"] = "Pending"
    p["status"]["containerStatuses"] = [k.waiting_status(c, "ContainerCreating")]
    assert run([p]) == []


def _pull(reason, waiting_msg, event_msg, image="registry.example.com/shop/hub:3.2.0"):
    c = k.container(name="hub", image=image)
    p = k.pod(name="hub-5b9d7c6f4-qq2lm", containers=[c], owner=("ReplicaSet", "hub-5b9d7c6f4"))
    p["status"]["phase"] = "Pending"
    p["status"]["containerStatuses"] = [k.waiting_status(c, reason, waiting_msg)]
    evs = [
        k.event(p, "Pulling", f'Pulling image "{image}"', type_="Normal", container_name="hub",
                count=5),
        k.event(p, "Failed", event_msg, container_name="hub", count=5),
        k.event(p, "Failed", "Error: ErrImagePull", container_name="hub", count=5),
        k.event(p, "BackOff", f'Back-off pulling image "{image}"', type_="Normal",
                container_name="hub", count=40),
    ]
    return [p, *evs]


def test_image_tag_not_found():
    image = "registry.example.com/shop/hub:3.2.0"
    msg = (f'Failed to pull image "{image}": rpc error: code = NotFound desc = failed to pull and '
           f'unpack image "{image}": failed to resolve reference "{image}": {image}: not found')
    f = only(run(_pull("ImagePullBackOff", f'Back-off pulling image "{image}"', msg)))
    assert f.reason is Reason.IMAGE_NOT_FOUND
    assert f.details["image"] == image and image in evidence_text(f)


#: containerd 2.x behind a 1.36 kubelet, word for word as the real node wrote them
#: (tests/cluster/nodes/real/observed-1.36.txt): "failed to resolve image", and no
#: "rpc error" prefix when the registry wants credentials.
CONTAINERD2 = {
    "notfound": "rpc error: code = NotFound desc = failed to pull and unpack image \"{i}\": "
                "failed to resolve image: {i}: not found",
    "unauthorized": "failed to pull and unpack image \"{i}\": failed to resolve image: pull "
                    "access denied, repository does not exist or may require authorization: "
                    "authorization failed: no basic auth credentials",
}


@pytest.mark.parametrize(("kind", "reason"), [("notfound", Reason.IMAGE_NOT_FOUND),
                                              ("unauthorized", Reason.IMAGE_UNAUTHORIZED)])
@pytest.mark.parametrize("waiting", ["ErrImagePull", "ImagePullBackOff"])
def test_image_errors_as_containerd_2_and_a_136_kubelet_write_them(kind, reason, waiting):
    """ErrImagePull's waiting message is the runtime's error; ImagePullBackOff's carries it
    after ``Back-off pulling image "I": ErrImagePull: ``."""
    image = "127.0.0.1:37883/shop/hub:3.2.0"
    err = CONTAINERD2[kind].format(i=image)
    msg = err if waiting == "ErrImagePull" else (
        f'Back-off pulling image "{image}": ErrImagePull: {err}')
    f = only(run(_pull(waiting, msg, f'Failed to pull image "{image}": {err}', image=image)))
    assert f.reason is reason
    assert f.details["image"] == image


def test_image_unauthorized():
    image = "ghcr.io/acme/private-hub:1.0"
    msg = (f'Failed to pull image "{image}": failed to pull and unpack image "{image}": failed to '
           f'resolve reference "{image}": failed to authorize: failed to fetch anonymous token: '
           "unexpected status from GET request to https://ghcr.io/token?scope=repository%3Aacme%"
           "2Fprivate-hub%3Apull&service=ghcr.io: 401 Unauthorized")
    f = only(run(_pull("ErrImagePull", msg, msg, image=image)))
    assert f.reason is Reason.IMAGE_UNAUTHORIZED


def test_docker_hub_pull_access_denied_is_unauthorized():
    image = "acme/hub:1.0"
    msg = (f'Failed to pull image "{image}": rpc error: code = Unknown desc = failed to pull and '
           f'unpack image "docker.io/{image}": failed to resolve reference "docker.io/{image}": '
           "pull access denied, repository does not exist or may require authorization: server "
           "message: insufficient_scope: authorization failed")
    assert only(run(_pull("ImagePullBackOff", "", msg, image=image))).reason is (
        Reason.IMAGE_UNAUTHORIZED)


def test_invalid_image_name():
    image = "registry.example.com/shop/hub:3.2.0:latest"
    c = k.container(name="hub", image=image)
    p = k.pod(containers=[c])
    p["status"]["phase"] = "Pending"
    msg = (f'Failed to apply default image tag "{image}": couldn\'t parse image reference '
           f'"{image}": invalid reference format')
    p["status"]["containerStatuses"] = [k.waiting_status(c, "InvalidImageName", msg)]
    ev = k.event(p, "InspectFailed", msg, container_name="hub", count=3)
    f = only(run([p, ev]))
    assert f.reason is Reason.IMAGE_INVALID_NAME


def test_other_pull_failure_is_pull_backoff():
    image = "registry.example.com/shop/hub:3.2.0"
    msg = (f'Failed to pull image "{image}": rpc error: code = DeadlineExceeded desc = failed to '
           f'pull and unpack image "{image}": failed to copy: httpReadSeeker: failed open: '
           "failed to do request: dial tcp 10.0.0.9:443: i/o timeout")
    assert only(run(_pull("ImagePullBackOff", "", msg))).reason is Reason.IMAGE_PULL_BACKOFF
