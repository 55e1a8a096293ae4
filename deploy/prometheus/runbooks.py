"""Where crashwatch's runbooks are published: RUNBOOK_BASE is the one place that says so.

The alerts' runbook_url annotations (rules.yaml) and the dashboard's links
(deploy/grafana/crashwatch.json) are static files that must spell the URL out; tests check
that every one of them starts with RUNBOOK_BASE and names a page in docs/runbooks/
(tests/alerts/test_runbooks.py). To move the runbooks, change RUNBOOK_BASE and run
`python deploy/prometheus/runbooks.py`: it rewrites those URLs and renders what is generated
from the two files (deploy/base/prometheusrule.yaml, deploy/grafana/configmap.yaml, the Helm
chart's copies)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

RUNBOOK_BASE = "https://github.com/crashwatch/crashwatch/blob/main/docs/runbooks/"

HERE = Path(__file__).resolve().parent
DEPLOY = HERE.parent
RUNBOOKS = DEPLOY.parent / "docs" / "runbooks"
LINKING = (HERE / "rules.yaml", DEPLOY / "grafana" / "crashwatch.json")
_ANY_BASE = re.compile(r"https?://[^\s\"'()]*?/docs/runbooks/")


def rebase(text: str) -> str:
    """``text`` with every runbook URL moved onto RUNBOOK_BASE."""
    return _ANY_BASE.sub(RUNBOOK_BASE, text)


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


if __name__ == "__main__":
    for path in LINKING:
        path.write_text(rebase(path.read_text()))
    for renderer in (HERE / "render_prometheusrule.py",
                     DEPLOY / "grafana" / "render_configmap.py"):
        module = _load(renderer)
        module.TARGET.write_text(module.render())
    chart = _load(DEPLOY / "helm" / "sync_files.py")
    for copy in chart.COPIES:
        copy.write_text(chart.render(copy))
    sys.stdout.write(f"runbook URLs now start with {RUNBOOK_BASE}\n")
