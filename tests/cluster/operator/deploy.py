"""crashwatch as a real pod: its image built from the Dockerfile (build-image.sh), installed
with ``kubectl apply -k`` of a kustomize overlay written into a temp dir on top of one of
``deploy/overlays/`` (the image swapped for the local one by digest), running under its own
ServiceAccount token and reading logs through the API server (``pods/log``).

The one thing the overlay adds besides the image: ``KUBERNETES_SERVICE_HOST``/``PORT`` point at
the API server's address on this machine. The test node runs no kube-proxy (no iptables
here), so the ``kubernetes`` Service's ClusterIP leads nowhere; an explicit container env
var takes precedence over the kubelet's service variables, and the in-cluster client
reads exactly those two.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from kubernetes import client
from tests.cluster.controlplane.plane import REPO, ControlPlane, ControlPlaneError

HERE = Path(__file__).resolve().parent
BUILD_IMAGE = HERE / "build-image.sh"
DEPLOY = REPO / "deploy"
UPSTREAM_IMAGE = "ghcr.io/crashwatch/crashwatch"
NAMESPACE = "crashwatch"
# See tests/realnode/conftest.py: kopf needs a user name, and UID 65532 has none.


def build_image(registry_host: str, tag: str = "dev") -> str:
    """Build crashwatch's image with buildah and push it; return ``REG/crashwatch@sha256:…``."""
    proc = subprocess.run(["bash", str(BUILD_IMAGE), registry_host, tag], stdout=subprocess.PIPE,
                          text=True, check=False)
    if proc.returncode != 0:
        raise ControlPlaneError(f"{BUILD_IMAGE} failed with exit code {proc.returncode}")
    return proc.stdout.strip().splitlines()[-1]


def kubectl(plane: ControlPlane, *args: str, stdin: str | None = None) -> str:
    binary = shutil.which("kubectl")
    if binary is None:
        raise ControlPlaneError("kubectl (with kustomize) is needed to apply deploy/")
    env = {**os.environ, "KUBECONFIG": str(plane.admin_kubeconfig)}
    out = subprocess.run([binary, *args], input=stdin, capture_output=True, text=True, env=env,
                         timeout=180, check=False)
    if out.returncode != 0:
        raise ControlPlaneError(f"kubectl {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
    return out.stdout


def write_overlay(directory: Path, image: str, api_host: str, api_port: int,
                  base: str = "remediation", env: dict[str, str] | None = None) -> Path:
    """A kustomization in ``directory`` over ``deploy/overlays/<base>``."""
    directory.mkdir(parents=True, exist_ok=True)
    name, digest = image.split("@", 1)
    variables = {"KUBERNETES_SERVICE_HOST": api_host, "KUBERNETES_SERVICE_PORT": str(api_port),
                 **(env or {})}
    env_yaml = "".join(f"                  - name: {k}\n                    value: \"{v}\"\n"
                       for k, v in variables.items())
    rel = os.path.relpath(DEPLOY / "overlays" / base, directory)
    (directory / "kustomization.yaml").write_text(f"""\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - {rel}
images:
  - name: {UPSTREAM_IMAGE}
    newName: {name}
    digest: {digest}
patches:
  - patch: |-
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: crashwatch
        namespace: {NAMESPACE}
      spec:
        template:
          spec:
            containers:
              - name: crashwatch
                env:
{env_yaml}""")
    return directory


def install(plane: ControlPlane, overlay: Path, timeout: float = 180.0) -> dict[str, Any]:
    """Apply the overlay server-side and wait until the Deployment's pod is ready; return the
    pod (wire form)."""
    kubectl(plane, "apply", "--server-side", "--force-conflicts", "-k", str(overlay))
    deadline = time.monotonic() + timeout
    with plane.api_client() as api:
        apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
        while time.monotonic() < deadline:
            dep = apps.read_namespaced_deployment("crashwatch", NAMESPACE)
            if (dep.status.available_replicas or 0) >= 1 and (
                    dep.status.updated_replicas or 0) >= 1:
                pods = core.list_namespaced_pod(
                    NAMESPACE, label_selector="app.kubernetes.io/name=crashwatch").items
                ready = [p for p in pods if p.status.phase == "Running" and all(
                    cs.ready for cs in (p.status.container_statuses or []))]
                if ready:
                    return dict(api.sanitize_for_serialization(ready[0]))
            time.sleep(0.5)
        pods = core.list_namespaced_pod(NAMESPACE)
        raise ControlPlaneError(
            "crashwatch did not become available: "
            + str(api.sanitize_for_serialization(pods))[-4000:])
