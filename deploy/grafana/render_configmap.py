"""Render deploy/grafana/configmap.yaml from deploy/grafana/crashwatch.json (the one source of
the dashboard): `python deploy/grafana/render_configmap.py`. A test fails when the two drift
apart (tests/deploy/test_grafana.py)."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "crashwatch.json"
TARGET = HERE / "configmap.yaml"
NAME = "crashwatch-dashboard"
KEY = "crashwatch.json"
LABELS = {
    # What Grafana's dashboard sidecar selects on (the grafana chart's default label).
    "grafana_dashboard": "1",
    "app.kubernetes.io/name": "crashwatch",
    "app.kubernetes.io/part-of": "crashwatch",
}
HEADER = """\
# Generated from deploy/grafana/crashwatch.json by render_configmap.py: do not edit.
# Grafana's dashboard sidecar loads it from the namespaces it searches (the grafana chart's
# sidecar.dashboards.searchNamespace; its own namespace by default), so it names none:
#   kubectl apply -n <grafana's namespace> -f deploy/grafana/configmap.yaml
# (the Helm chart renders the same ConfigMap with grafanaDashboard.enabled=true).
# checkov:skip=CKV_K8S_21:applied with kubectl apply -n into the namespace Grafana searches
"""


def render() -> str:
    text = SOURCE.read_text()
    if not text.endswith("\n"):
        text += "\n"
    body = "".join(f"    {line}\n" if line else "\n" for line in text.splitlines())
    labels = "".join(f'    {k}: "{v}"\n' if k == "grafana_dashboard" else f"    {k}: {v}\n"
                     for k, v in LABELS.items())
    return (f"{HEADER}apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {NAME}\n"
            f"  labels:\n{labels}data:\n  {KEY}: |\n{body}")


if __name__ == "__main__":
    TARGET.write_text(render())
    sys.stdout.write(f"wrote {TARGET}\n")
