"""Mechanisms the second real-world holdout round (eval/realworld, "Holdout round 2") showed
missing: the vocabulary of a missing setting (a bare ``Missing DATABASE_URL``, a quoted
``'url' attribute is not specified``, Spring Boot's DataSource failure analysis), a usage
dump printed after a flag error, and an Erlang term printed over several lines.

Log text quoted from public threads carries the thread's URL next to it.
"""

from __future__ import annotations

import pytest
from helpers import evidence_text, only, run

from crashwatch.diagnosis import generic
from crashwatch.model import Reason

# https://github.com/helium/blockchain-http/issues/352
ERLANG_MISSING_DATABASE_URL = (
    '11:58:06.967 [error] CRASH REPORT Process <0.828.0> with 0 neighbours crashed with reason: '
    'no match of right hand value {error,"Missing DATABASE_URL.~n"} in bh_sup:pool_opts/1line 73\n')
# https://github.com/apache/servicecomb-java-chassis/issues/1272
SPRING_DATASOURCE = (
    "Error starting ApplicationContext. To display the conditions report re-run your "
    "application with 'debug' enabled.\n"
    "2019-07-12 18:25:20 ERROR (LoggingFailureAnalysisReporter.java:42)- \n"
    "\n"
    "***************************\n"
    "APPLICATION FAILED TO START\n"
    "***************************\n"
    "\n"
    "Description:\n"
    "\n"
    "Failed to configure a DataSource: 'url' attribute is not specified and no embedded "
    "datasource could be configured.\n"
    "\n"
    "Reason: Failed to determine a suitable driver class\n"
    "\n"
    "Action:\n"
    "\n"
    "Consider the following:\n"
    "\tIf you want an embedded database (H2, HSQL or Derby), please put it on the classpath.\n"
    "\tIf you have database settings to be loaded from a particular profile you may need to "
    "activate it (no profiles are currently active).\n")


def test_a_bare_missing_snake_case_name_is_a_missing_setting(crashing) -> None:
    found = generic.match_line(ERLANG_MISSING_DATABASE_URL.strip())
    assert found is not None
    assert found.rule.reason is Reason.MISSING_ENV
    assert found.groups == {"variable": "DATABASE_URL"}
    f = only(run(*crashing(ERLANG_MISSING_DATABASE_URL)))
    assert f.reason is Reason.MISSING_ENV
    assert f.details["variable"] == "DATABASE_URL"


@pytest.mark.parametrize("line", [
    "Missing HTTP header",                                  # no underscore: no setting
    "error: missing CAP_NET_ADMIN capability",              # a capability, not a setting
    "undefined reference to FOO_BAR",                       # a linker's symbol
    "NameError: name 'foo' is not defined",                 # Python's NameError
])
def test_what_a_bare_missing_word_does_not_name(line: str) -> None:
    found = generic.match_line(line)
    assert found is None or found.rule.reason is not Reason.MISSING_ENV


def test_a_quoted_setting_with_its_kind_not_specified_is_a_missing_setting() -> None:
    found = generic.match_line("Failed to configure a DataSource: 'url' attribute is not "
                               "specified and no embedded datasource could be configured.")
    assert found is not None
    assert found.rule.reason is Reason.MISSING_ENV
    assert found.groups == {"variable": "url"}


def test_spring_boots_datasource_failure_names_the_property(crashing) -> None:
    f = only(run(*crashing(SPRING_DATASOURCE)))
    assert f.reason is Reason.MISSING_ENV
    assert f.details["variable"] == "spring.datasource.url"
    assert "'url' attribute is not specified" in evidence_text(f)
    # the generic reading of the same line ("url") is not a second setting
    assert "missing variable: spring.datasource.url" in f.evidence
