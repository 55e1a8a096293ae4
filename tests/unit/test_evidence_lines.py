"""Issue #13: the log line a finding is published with is the one that says why. Candidate
lines are ranked by level (a tool's ``prog: error:``, nginx's ``[emerg]``), by their place in
a burst of error lines (the cause comes first), and a message written over indented lines is
reported whole: its headline (the why) with the lines naming host and port.

Log text quoted from public threads carries the thread's URL next to it.
"""

from __future__ import annotations

from helpers import evidence_text, only, run

from crashwatch.diagnosis import chains
from crashwatch.diagnosis.logread import Level, read_log
from crashwatch.model import Reason

# https://github.com/eoscostarica/lifebank/issues/779
NGINX_EMERG = (
    "docker-entrypoint.sh: /docker-entrypoint.d/ is not empty, will attempt to perform "
    "configuration\n"
    "/docker-entrypoint.sh: Looking for shell scripts in /docker-entrypoint.d/\n"
    "/docker-entrypoint.sh: Launching /docker-entrypoint.d/10-listen-on-ipv6-by-default.sh\n"
    "10-listen-on-ipv6-by-default.sh: /etc/nginx/conf.d/default.conf differs from the packaged "
    "version, exiting\n"
    "10-listen-on-ipv6-by-default.sh: Getting the checksum of /etc/nginx/conf.d/default.conf\n"
    '2021/05/31 12:06:23 [emerg] 1#1: unknown directive "server " in '
    "/etc/nginx/conf.d/default.conf:1\n"
    'nginx: [emerg] unknown directive "server " in /etc/nginx/conf.d/default.conf:1\n'
    "/docker-entrypoint.sh: Launching /docker-entrypoint.d/20-envsubst-on-templates.sh\n"
    "/docker-entrypoint.sh: Configuration complete; ready for start up\n")
# https://github.com/kubeflow/website/issues/3990
MYSQL_DATADIR = (
    "2025-02-11 12:19:28+00:00 [Note] [Entrypoint]: Initializing database files\n"
    "2025-02-11T12:19:28.744003Z 0 [System] [MY-013169] [Server] /usr/sbin/mysqld (mysqld "
    "8.0.26) initializing of server in progress as process 42\n"
    "2025-02-11T12:19:28.746084Z 0 [ERROR] [MY-010457] [Server] --initialize specified but the "
    "data directory has files in it. Aborting.\n"
    "2025-02-11T12:19:28.746088Z 0 [ERROR] [MY-013236] [Server] The designated data directory "
    "/var/lib/mysql/ is unusable. You can remove all files tha\n"
    "2025-02-11T12:19:28.746136Z 0 [ERROR] [MY-010119] [Server] Aborting\n")
# https://github.com/FlowFuse/flowfuse/issues/4549
PG_DUMP_TIMEOUT = (
    'pg_dump: error: connection to database "flowforge" failed: could not connect to server: '
    "Operation timed out\n"
    '        Is the server running on host "flowforge-postgresql.flowforge.svc.cluster.local" '
    "(0.0.0.0) and accepting\n"
    "        TCP/IP connections on port 5432?\n")
# https://github.com/mastodon/mastodon/issues/13770
PG_REFUSED_RUBY = (
    "PG::ConnectionBad: could not connect to server: Connection refused\n"
    '        Is the server running on host "db" (172.26.0.4) and accepting\n'
    "        TCP/IP connections on port 5432?\n"
    "/opt/mastodon/vendor/bundle/ruby/2.6.0/gems/pg-1.2.3/lib/pg.rb:58:in `initialize'\n"
    "/opt/mastodon/vendor/bundle/ruby/2.6.0/gems/pg-1.2.3/lib/pg.rb:58:in `new'\n")
# https://github.com/basecamp/kamal/issues/1382 (kubectl logs --timestamps, blank lines)
RAILS_TIMESTAMPS = (
    "2025-01-28T10:29:15.583605326Z ActiveRecord::ConnectionNotEstablished: connection to "
    'server on socket "/var/run/postgresql/.s.PGSQL.5432" failed: No such file or directory '
    "(ActiveRecord::ConnectionNotEstablished)\n"
    "2025-01-28T10:29:15.583619465Z \tIs the server running locally and accepting connections "
    "on that socket?\n"
    "2025-01-28T10:29:15.584074834Z\n")


def _telling(log: str) -> list[str]:
    lines = read_log(log)
    return [lines[i].text for i in chains.telling(lines, chains.shape(lines))]


def test_a_line_naming_the_script_that_writes_it_does_not_continue_an_emerg_above() -> None:
    levels = [line.level for line in read_log(NGINX_EMERG)]
    assert levels[5:7] == [Level.FATAL, Level.FATAL]
    assert levels[7:] == [Level.UNKNOWN, Level.UNKNOWN]


def test_nginx_emerg_is_the_evidence_not_the_entrypoint_after_it(crashing) -> None:
    assert "unknown directive" in _telling(NGINX_EMERG)[0]
    f = only(run(*crashing(NGINX_EMERG)))
    assert f.reason is Reason.APP_ERROR
    assert 'unknown directive "server "' in f.summary
    assert "unknown directive" in evidence_text(f)


def test_the_first_error_of_a_burst_is_its_cause() -> None:
    lines = read_log(MYSQL_DATADIR)
    sh = chains.shape(lines)
    assert sh.first_of_burst == {2}
    assert _telling(MYSQL_DATADIR)[0].endswith(
        "--initialize specified but the data directory has files in it. Aborting.")


def test_mysql_is_reported_with_its_first_error(crashing) -> None:
    f = only(run(*crashing(MYSQL_DATADIR)))
    assert f.reason is Reason.APP_ERROR
    assert "data directory has files in it" in f.summary
    assert "data directory has files in it" in evidence_text(f)


def test_a_burst_needs_two_lines_of_one_level() -> None:
    apart = read_log("ERROR first thing failed\nINFO retrying\nERROR second thing failed\n")
    assert chains.shape(apart).first_of_burst == frozenset()
    mixed = read_log("ERROR first thing failed\nFATAL giving up\n")
    assert chains.shape(mixed).first_of_burst == frozenset()


def test_a_tools_own_error_prefix_gives_the_level() -> None:
    assert read_log(PG_DUMP_TIMEOUT)[0].level is Level.ERROR
    assert read_log("git: fatal: not a git repository\n")[0].level is Level.FATAL


def test_libpq_is_reported_with_its_headline_and_the_lines_naming_the_server(crashing) -> None:
    for log, why, host in ((PG_DUMP_TIMEOUT, "Operation timed out",
                            "flowforge-postgresql.flowforge.svc.cluster.local"),
                           (PG_REFUSED_RUBY, "Connection refused", "db")):
        f = only(run(*crashing(log)))
        assert f.reason is Reason.DEPENDENCY_UNREACHABLE
        assert f.details["host"] == host
        assert f.details["port"] == "5432"
        logs = [e for e in f.evidence if e.startswith("log: ")]
        assert why in logs[0]
        assert logs[-1] == "log: TCP/IP connections on port 5432?"


def test_a_timestamp_alone_is_a_blank_line() -> None:
    lines = read_log(RAILS_TIMESTAMPS)
    assert lines[1].text == ("\tIs the server running locally and accepting connections on "
                             "that socket?")
    assert lines[2].text == ""


def test_a_match_is_reported_with_the_indented_lines_that_continue_it(crashing) -> None:
    f = only(run(*crashing(RAILS_TIMESTAMPS)))
    assert f.reason is Reason.DEPENDENCY_UNREACHABLE
    logs = [e for e in f.evidence if e.startswith("log: ")]
    assert logs[0].startswith("log: ActiveRecord::ConnectionNotEstablished: connection to server")
    assert logs[1] == "log: Is the server running locally and accepting connections on that socket?"


# https://github.com/rancher/rancher/issues/16953
GRAFANA_NOT_WRITABLE = (
    "GF_PATHS_DATA='/var/lib/grafana' is not writable.\n"
    "You may have issues with file permissions, more information here: "
    "http://docs.grafana.org/installation/docker/#migration-from-a-previous-version-of-the-"
    "docker-container-to-5-1-or-later\n"
    "mkdir: cannot create directory '/var/lib/grafana/plugins': Permission denied\n")
# https://github.com/opencost/opencost/issues/1584 (a healthy nginx entrypoint)
NGINX_ENTRYPOINT_INFO = (
    "10-listen-on-ipv6-by-default.sh: info: can not modify /etc/nginx/conf.d/default.conf "
    "(read-only file system?)\n")


def test_a_line_saying_why_outranks_one_that_only_names_things() -> None:
    # both name a path; only the second says why (an errno's text)
    not_writable, _, denied = GRAFANA_NOT_WRITABLE.strip().split("\n")
    assert chains.specificity(denied) > chains.specificity(not_writable)
    assert _telling(GRAFANA_NOT_WRITABLE)[0] == (
        "mkdir: cannot create directory '/var/lib/grafana/plugins': Permission denied")


def test_a_tools_info_prefix_makes_the_line_quiet() -> None:
    (line,) = read_log(NGINX_ENTRYPOINT_INFO)
    assert line.level is Level.INFO
    assert _telling(NGINX_ENTRYPOINT_INFO) == []
