"""Doubts left by earlier sessions' closing notes ("Older leftovers"), each settled with the
behaviour a careful SRE would expect.

Log text quoted from public threads carries the thread's URL next to it; invented text says
so.
"""

from __future__ import annotations

from helpers import evidence_text, only, run
from test_holdout11_mechanisms import SCLORG
from test_holdout19_mechanisms import HS_ERR

from crashwatch.model import Reason

# https://github.com/sclorg/mariadb-container/issues/173 (the usage the image prints when the
# console deployed it with no env; its optional settings trimmed)
SCLORG_USAGE = SCLORG


def test_the_sclorg_usage_names_its_whole_first_list_and_the_alternative_as_one(
        crashing) -> None:
    f = only(run(*crashing(SCLORG_USAGE)))
    assert f.reason is Reason.MISSING_ENV
    assert f.details["variables"] == ["MYSQL_USER", "MYSQL_PASSWORD", "MYSQL_DATABASE"]
    assert f.details["alternative"] == "MYSQL_ROOT_PASSWORD"
    assert f.summary.endswith("required settings MYSQL_USER, MYSQL_PASSWORD and MYSQL_DATABASE "
                              "(or MYSQL_ROOT_PASSWORD instead) are not set.")
    assert "Or the following environment variable:" in evidence_text(f)
    # the optional settings are not missing
    assert "MYSQL_LOWER_CASE_TABLE_NAMES" not in evidence_text(f)
    assert f.remediation == {"action": "set-env", "container": "app", "variable": "MYSQL_USER"}


def test_a_listed_setting_the_env_gives_is_not_named_missing(crashing) -> None:
    # the image prints its whole usage when any of the list is absent: with two of the three
    # set, the third is what is missing (the env invented)
    objects, logs = crashing(SCLORG_USAGE)
    objects[0]["spec"]["containers"][0]["env"] = [
        {"name": "MYSQL_USER", "value": "app"}, {"name": "MYSQL_DATABASE", "value": "shop"}]
    f = only(run(objects, logs))
    assert f.reason is Reason.MISSING_ENV
    assert f.summary.endswith(
        "required setting MYSQL_PASSWORD (or MYSQL_ROOT_PASSWORD instead) is not set.")
    assert f.details["listedButSet"] == ["MYSQL_USER", "MYSQL_DATABASE"]
    assert "the container's env sets MYSQL_USER, MYSQL_DATABASE" in f.evidence
    assert f.remediation is not None and f.remediation["variable"] == "MYSQL_PASSWORD"


def test_a_list_that_ends_stops_the_names(crashing) -> None:
    # a line at the margin ends the list: the alternative's heading and names are not read
    # as more of it, even with the usage's one-name form (invented)
    log = ("You must either specify the following environment variables:\n"
           "  POSTGRESQL_USER\n"
           "Or the following environment variable:\n"
           "  POSTGRESQL_ADMIN_PASSWORD\n")
    f = only(run(*crashing(log)))
    assert f.reason is Reason.MISSING_ENV
    assert f.details.get("variables") is None
    assert f.summary.endswith(
        "required setting POSTGRESQL_USER (or POSTGRESQL_ADMIN_PASSWORD instead) is not set.")


# --- left by the review of round 19 --------------------------------------------------------

def test_a_jvm_fatal_error_other_than_a_segfault_leads_with_its_signal(crashing) -> None:
    # https://github.com/adoptium/adoptium-support/issues/682's banner with SIGBUS in place of
    # its SIGSEGV (invented: SIGBUS is what a truncated mmap'd file or a full /dev/shm gives)
    f = only(run(*crashing(HS_ERR.replace("#  SIGSEGV (0xb)", "#  SIGBUS (0x7)"),
                           exit_code=134)))
    assert f.reason is Reason.APP_ERROR
    assert "SIGBUS (0x7) at pc=" in f.summary
    assert "Problematic frame: V  [libjvm.so+0xe20f33]" in evidence_text(f)


def test_a_denied_bind_on_a_high_port_gets_no_low_port_advice(crashing) -> None:
    # invented: the nginx shape with an unprivileged port
    log = ('2024/01/01 00:00:00 [emerg] 1#1: bind() to 0.0.0.0:8080 failed (13: Permission '
           'denied)\n')
    f = only(run(*crashing(log)))
    assert f.reason is Reason.PERMISSION_DENIED
    assert "may not listen on port 8080" in f.summary
    assert "below 1024" not in f.summary and "ip_unprivileged_port_start" in f.summary
    low = only(run(*crashing(log.replace("8080", "80"))))
    assert "a port below 1024 needs root or NET_BIND_SERVICE" in low.summary
