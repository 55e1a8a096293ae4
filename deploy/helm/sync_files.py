"""Copy into the Helm chart the files it renders from, whose one source lives elsewhere:
`python deploy/helm/sync_files.py`. Helm reads nothing outside the chart's directory (and
logs every symbolic link it follows, which checkov's helm framework takes for a failure), so
the chart holds copies; tests/deploy/test_helm.py fails when one differs from its source."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEPLOY = HERE.parent
REPO = DEPLOY.parent
FILES = HERE / "crashwatch" / "files"
# copy in the chart -> its source
COPIES = {
    FILES / "rules.yaml": DEPLOY / "prometheus" / "rules.yaml",
    FILES / "remediationpolicy.yaml": REPO / "crds" / "remediationpolicy.yaml",
    FILES / "crashwatch.json": DEPLOY / "grafana" / "crashwatch.json",
}


def render(copy: Path) -> str:
    source = COPIES[copy]
    text = source.read_text()
    if copy.suffix != ".yaml":
        return text  # JSON has no comments: files/README.md says it is a copy
    where = source.relative_to(REPO)
    return (f"# A copy of {where}, made by deploy/helm/sync_files.py: edit {where}, not this.\n"
            + text)


if __name__ == "__main__":
    for copy in COPIES:
        copy.write_text(render(copy))
        sys.stdout.write(f"wrote {copy.relative_to(REPO)}\n")
