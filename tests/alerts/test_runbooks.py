"""Runbooks (docs/runbooks/): a page per reason code and per alert without a reason of its
own; every alert's runbook_url points to an existing page, on the one base URL
(deploy/prometheus/runbooks.py); each reason's page names the alerts that fire for it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.scripts import load_script

from crashwatch.model import Reason

REPO = Path(__file__).resolve().parents[2]
RUNBOOKS = REPO / "docs" / "runbooks"
RULES = REPO / "deploy" / "prometheus" / "rules.yaml"
SECTIONS = ("## What it means", "## Confirm it", "## Fix it", "## What crashwatch can do",
            "## Alerts")
# Findings with no pod (`pod` null in the JSON) are exported as crashwatch_failing_workload;
# every other finding as crashwatch_failing_containers (crashwatch/metrics.py).
WORKLOAD_LEVEL = {Reason.ROLLOUT_REGRESSION, Reason.JOB_BACKOFF_LIMIT_EXCEEDED,
                  Reason.JOB_DEADLINE_EXCEEDED, Reason.WORKLOAD_FAILED_CREATE}
BY_REASON = "{{ $labels.reason }}"


def _base() -> str:
    return str(load_script(REPO / "deploy" / "prometheus" / "runbooks.py").RUNBOOK_BASE)


def alerts() -> list[dict[str, Any]]:
    rules = yaml.safe_load(RULES.read_text())
    return [r for g in rules["groups"] for r in g["rules"] if "alert" in r]


def _promql_string(raw: str) -> str:
    return re.sub(r"\\(.)", r"\1", raw)


def fires_for(alert: dict[str, Any], reason: Reason) -> bool:
    """Whether the alert's expression selects this reason's series."""
    metric = ("crashwatch_failing_workload" if reason in WORKLOAD_LEVEL
              else "crashwatch_failing_containers")
    for m in re.finditer(r"\b(crashwatch_failing_\w+)\s*(?:\{([^}]*)\})?", alert["expr"]):
        if m.group(1) != metric:
            continue
        for name, op, value in re.findall(r'(\w+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"',
                                          m.group(2) or ""):
            value = _promql_string(value)
            if name != "reason":
                continue
            hit = (reason.value == value if op in ("=", "!=")
                   else re.fullmatch(value, reason.value) is not None)
            if hit == (op in ("!=", "!~")):
                break
        else:
            return True
    return False


def section(text: str, title: str) -> str:
    start = text.index(title) + len(title)
    end = text.find("\n## ", start)
    return text[start:] if end < 0 else text[start:end]


@pytest.mark.parametrize("reason", list(Reason), ids=str)
def test_every_reason_has_its_page(reason: Reason) -> None:
    page = RUNBOOKS / f"{reason.value}.md"
    assert page.exists(), f"docs/runbooks/{reason.value}.md is missing"
    text = page.read_text()
    # the title is what a person copies from the annotation
    assert text.splitlines()[0] == f"# crashwatch.dev/reason: {reason.value}"
    for title in SECTIONS:
        assert f"\n{title}\n" in text, f"{page.name}: no {title!r}"
        assert section(text, title).strip(), f"{page.name}: {title!r} is empty"
    assert "kubectl" in section(text, "## Confirm it"), page.name


@pytest.mark.parametrize("reason", list(Reason), ids=str)
def test_each_reason_page_names_the_alerts_that_fire_for_it(reason: Reason) -> None:
    text = section((RUNBOOKS / f"{reason.value}.md").read_text(), "## Alerts")
    named = set(re.findall(r"`(Crashwatch\w+)`", text))
    firing = {a["alert"] for a in alerts() if fires_for(a, reason)}
    assert named == firing, f"{reason.value}: the page names {named}, the rules fire {firing}"
    if not firing:
        assert "None of the shipped alerts" in text


def test_every_alert_has_a_runbook_url_to_an_existing_page() -> None:
    base = _base()
    assert base == "https://github.com/crashwatch/crashwatch/blob/main/docs/runbooks/"
    for alert in alerts():
        url = alert["annotations"].get("runbook_url", "")
        assert url.startswith(base), f"{alert['alert']}: {url!r} is not on {base}"
        page = url.removeprefix(base)
        if BY_REASON in page:
            # the page of whichever reason the alert carries: every one it can fire for
            reasons = [r for r in Reason if fires_for(alert, r)]
            assert reasons, alert["alert"]
            assert re.search(r"\bby\s*\([^)]*\breason\b", alert["expr"]), (
                f"{alert['alert']} keeps no reason label for its runbook_url")
            pages = [page.replace(BY_REASON, r.value) for r in reasons]
        else:
            pages = [page]
        for p in pages:
            assert (RUNBOOKS / p).is_file(), f"{alert['alert']}: docs/runbooks/{p} is missing"


def test_alerts_without_a_reason_have_a_page_of_their_own() -> None:
    for alert in alerts():
        if any(fires_for(alert, r) for r in Reason):
            continue
        page = RUNBOOKS / f"{alert['alert']}.md"
        assert page.is_file(), f"docs/runbooks/{page.name} is missing"
        text = page.read_text()
        assert text.splitlines()[0] == f"# Alert: {alert['alert']}"
        assert alert["annotations"]["runbook_url"].endswith(f"/{page.name}")


def test_every_page_is_a_reason_or_an_alert_and_is_listed() -> None:
    names = {r.value for r in Reason} | {a["alert"] for a in alerts()}
    index = (RUNBOOKS / "README.md").read_text()
    for page in RUNBOOKS.glob("*.md"):
        if page.name == "README.md":
            continue
        assert page.stem in names, f"{page.name} is neither a reason code nor an alert"
        assert f"]({page.name})" in index, f"README.md does not list {page.name}"
        for link in re.findall(r"\]\(([^)#:]+\.md)(?:#[^)]*)?\)", page.read_text()):
            assert (RUNBOOKS / link).is_file(), f"{page.name} links to a missing {link}"


def test_runbook_urls_everywhere_are_on_the_one_base() -> None:
    base = _base()
    for path in (RULES, REPO / "deploy" / "grafana" / "crashwatch.json"):
        urls = re.findall(r"https?://[^\s\"'()]*/docs/runbooks/", path.read_text())
        assert urls, path
        assert set(urls) == {base}, f"{path.name}: {set(urls)}"
