"""Render deploy/base/prometheusrule.yaml from deploy/prometheus/rules.yaml (the one
source of the alert rules): `python deploy/prometheus/render_prometheusrule.py`.
A test fails when the two drift apart."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
TARGET = HERE.parent / "base" / "prometheusrule.yaml"
HEADER = "# Generated from deploy/prometheus/rules.yaml by render_prometheusrule.py: do not edit.\n"


def render() -> str:
    rules = yaml.safe_load((HERE / "rules.yaml").read_text())
    doc = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "crashwatch", "namespace": "crashwatch"},
        "spec": {"groups": rules["groups"]},
    }
    return HEADER + yaml.safe_dump(doc, sort_keys=False, width=100)


if __name__ == "__main__":
    TARGET.write_text(render())
    sys.stdout.write(f"wrote {TARGET}\n")
