"""Mechanisms the third real-world holdout round (eval/realworld, "Holdout round 3") showed
missing: more phrasings of a missing setting (Prisma's ``Environment variable not found:
X``, SmallRye Config's ``Property x.y not found``, Elixir's ``... "X" because it is not
set``), errno 13 said by number and MySQL's ``access rights`` wording, a read-only
*directory*, a JSON record behind a process tag (Pebble's ``[mongod] {...}``), Elixir's
exception head and stack frames, a banner heading (``*** FATAL CONFIG FILE ERROR ***``), a
line that ends with its consequence (``..., terminating``), and the path a burst of error
records names on a neighbouring line.

Log text quoted from public threads carries the thread's URL next to it.
"""

from __future__ import annotations

import pytest
from helpers import evidence_text, only, run, telling_texts

from crashwatch.diagnosis import chains, generic
from crashwatch.diagnosis.logread import Level, read_log
from crashwatch.model import Reason

# https://github.com/prisma/orm/issues/20894
PRISMA = (
    "PrismaClientInitializationError:\n"
    "Invalid `prisma.$queryRaw()` invocation:\n"
    "\n"
    "\n"
    "error: Environment variable not found: DATABASE_URL.\n"
    "  -->  schema.prisma:12\n"
    "   |\n"
    '11 |   provider          = "postgresql"\n'
    '12 |   url               = env("DATABASE_URL")\n')
# https://github.com/lukevella/rallly/issues/1439
PRISMA_DIRECT = "error: Environment variable not found: DIRECT_DATABASE_URL."
# https://github.com/sitewhere/sitewhere/issues/980
SMALLRYE = (
    "2022-06-02 12:33:30,296 INFO  [com.sit.bat.mic.BatchOperationsMicroservice] (main) "
    "Kubernetes connectivity initialized.\n"
    "2022-06-02 12:33:30,488 ERROR [com.sit.bat.mic.BatchOperationsMicroservice] (Service Main) "
    "Unhandled exception in microservice startup.: java.util.NoSuchElementException: SRCFG00014: "
    "Property sitewhere.config.k8s.pod.ip not found\n"
    "        at io.smallrye.config.SmallRyeConfig.getValue(SmallRyeConfig.java:161)\n"
    "        at io.smallrye.config.SmallRyeConfig.getValue(SmallRyeConfig.java:145)\n")
# https://github.com/quarkusio/quarkus/issues/25236
SMALLRYE_REQUIRED = ("java.util.NoSuchElementException: SRCFG00014: The config property "
                     "backend.check-alarms is required but it could not be found in any config "
                     "source")
# https://github.com/hexpm/hexpm/issues/992
ELIXIR = (
    "ERROR! Config provider Config.Reader failed with:\n"
    '** (ArgumentError) could not fetch environment variable "HEXPM_HOST" because it is not set\n'
    "    (elixir 1.11.0) lib/system.ex:529: System.fetch_env!/1\n"
    "    (stdlib 3.13.2) erl_eval.erl:680: :erl_eval.do_apply/6\n"
    "    (stdlib 3.13.2) erl_eval.erl:888: :erl_eval.expr_list/6\n"
    "    (stdlib 3.13.2) erl_eval.erl:126: :erl_eval.exprs/5\n")
# https://github.com/kimai/kimai/issues/5710
MYSQL_ERRNO_13 = (
    "2025-11-24T16:51:51.411334Z 0 [ERROR] [MY-012592] [InnoDB] Operating system error number 13 "
    "in a file operation.\n"
    "2025-11-24T16:51:51.411344Z 0 [ERROR] [MY-012595] [InnoDB] The error means mysqld does not "
    "have the access rights to the directory.\n"
    "2025-11-24T16:51:51.411354Z 0 [ERROR] [MY-012894] [InnoDB] Unable to open "
    "'./#innodb_redo/#ib_redo36' (error: 1000).\n")
# https://github.com/canonical/mongodb-k8s-operator/issues/106 (Pebble's service prefix)
MONGOD_PEBBLE = (
    '2023-03-07T13:09:46.880Z [mongod] {"t":{"$date":"2023-03-07T13:09:46.880+00:00"},"s":"E",  '
    '"c":"CONTROL",  "id":20557,   "ctx":"initandlisten","msg":"DBException in initAndListen, '
    'terminating","attr":{"error":"IllegalOperation: Attempted to create a lock file on a '
    'read-only directory: /data/db"}}\n'
    '2023-03-07T13:09:46.881Z [mongod] {"t":{"$date":"2023-03-07T13:09:46.880+00:00"},"s":"I",  '
    '"c":"REPL",     "id":4784900, "ctx":"initandlisten","msg":"Stepping down the '
    'ReplicationCoordinator for shutdown","attr":{"waitTimeMillis":15000}}\n')
# https://github.com/nosqlclient/nosqlclient/issues/511
MONGOD_LEGACY = (
    "[-] External MONGO_URL not found. Starting local MongoDB...\n"
    "=> Starting app on port 3000...\n"
    "I STORAGE  [initandlisten] exception in initAndListen: 29 Data directory /data/db not "
    "found., terminating\n")
# https://github.com/tarosky/k8s-redis-ha/issues/4 (kubectl logs --timestamps)
REDIS_BANNER = (
    "2017-03-10T08:04:40.670889692Z \n"
    "2017-03-10T08:04:40.670956539Z *** FATAL CONFIG FILE ERROR ***\n"
    "2017-03-10T08:04:40.671034308Z Reading the configuration file, at line 1058\n"
    "2017-03-10T08:04:40.671042100Z >>> 'slaveof  6379'\n"
    "2017-03-10T08:04:40.671046628Z Bad directive or wrong number of arguments \n")


@pytest.mark.parametrize(("line", "variable"), [
    ("error: Environment variable not found: DATABASE_URL.", "DATABASE_URL"),
    (PRISMA_DIRECT, "DIRECT_DATABASE_URL"),
    (SMALLRYE.splitlines()[1], "sitewhere.config.k8s.pod.ip"),
    (SMALLRYE_REQUIRED, "backend.check-alarms"),
    (ELIXIR.splitlines()[1], "HEXPM_HOST"),
])
def test_more_phrasings_of_a_missing_setting(line: str, variable: str) -> None:
    found = generic.match_line(line)
    assert found is not None
    assert found.rule.reason is Reason.MISSING_ENV
    assert found.groups == {"variable": variable}


@pytest.mark.parametrize("line", [
    # Spring's SpEL and JSP EL: a bean's property, not a setting
    "EL1008E: Property or field 'foo' cannot be found on object of type 'com.example.Foo'",
    "javax.el.PropertyNotFoundException: Property 'name' not found on type com.example.Foo",
    # a lower-case word after the colon is no setting's name
    "Environment variable not found: please check the docs",
])
def test_what_a_property_not_found_does_not_name(line: str) -> None:
    found = generic.match_line(line)
    assert found is None or found.rule.reason is not Reason.MISSING_ENV


@pytest.mark.parametrize(("log", "variable"), [
    (PRISMA, "DATABASE_URL"), (SMALLRYE, "sitewhere.config.k8s.pod.ip"), (ELIXIR, "HEXPM_HOST"),
])
def test_a_missing_setting_is_reported_with_its_name(crashing, log: str, variable: str) -> None:
    f = only(run(*crashing(log)))
    assert f.reason is Reason.MISSING_ENV
    assert f.details["variable"] == variable
    assert variable in evidence_text(f)


def test_elixir_exception_heads_and_frames_have_their_roles() -> None:
    lines = read_log(ELIXIR)
    roles = chains.shape(lines).roles
    assert roles[1] is chains.Role.EXCEPTION
    assert roles[2:] == [chains.Role.FRAME] * 4
    assert telling_texts(ELIXIR)[0].startswith("** (ArgumentError) could not fetch")


@pytest.mark.parametrize("line", [
    MYSQL_ERRNO_13.splitlines()[0], MYSQL_ERRNO_13.splitlines()[1],
    # https://github.com/shikanon/kubeflow-manifests/issues/51
    "2021-07-23T03:31:43.163387Z 0 [ERROR] InnoDB: Unable to create temporary file; errno: 13",
])
def test_errno_13_by_number_and_access_rights_are_permission_denied(line: str) -> None:
    found = generic.match_line(line)
    assert found is not None
    assert found.rule.reason is Reason.PERMISSION_DENIED


@pytest.mark.parametrize("line", [
    "listening on port 13",
    "2021-07-23 0 [Note] InnoDB: Number of pools: 13",
])
def test_a_13_that_is_no_errno_is_not_permission_denied(line: str) -> None:
    found = generic.match_line(line)
    assert found is None or found.rule.reason is not Reason.PERMISSION_DENIED


def test_a_burst_of_error_records_lends_the_cause_its_path(crashing) -> None:
    f = only(run(*crashing(MYSQL_ERRNO_13)))
    assert f.reason is Reason.PERMISSION_DENIED
    assert f.details["path"] == "./#innodb_redo/#ib_redo36"
    assert "Operating system error number 13" in evidence_text(f)


def test_a_json_record_behind_a_process_tag_is_read_as_a_record() -> None:
    lines = read_log(MONGOD_PEBBLE)
    assert [line.structured for line in lines] == [True, True]
    assert lines[0].level is Level.ERROR
    assert lines[0].text == ("DBException in initAndListen, terminating: IllegalOperation: "
                             "Attempted to create a lock file on a read-only directory: /data/db")
    assert lines[1].level is Level.INFO
    # a bracketed word before text that is no record stays plain text
    assert not read_log("[mongod] starting {not json}")[0].structured


def test_a_read_only_directory_is_a_read_only_filesystem(crashing) -> None:
    f = only(run(*crashing(MONGOD_PEBBLE, exit_code=100)))
    assert f.reason is Reason.READ_ONLY_FILESYSTEM
    assert f.details["path"] == "/data/db"
    # read-only as a mode, not a place written to, is not
    found = generic.match_line("ERROR: cannot execute INSERT in a read-only transaction")
    assert found is None or found.rule.reason is not Reason.READ_ONLY_FILESYSTEM


def test_a_line_that_ends_with_its_consequence_is_not_a_wrapper() -> None:
    assert not chains.is_generic(MONGOD_LEGACY.splitlines()[2])
    assert chains.is_generic("Shutting down")
    assert chains.is_generic("error, terminating")  # nothing said before the consequence
    assert "Data directory /data/db not found" in telling_texts(MONGOD_LEGACY)[0]


def test_a_banner_is_a_heading_the_lines_under_it_say_what(crashing) -> None:
    assert chains.is_generic("*** FATAL CONFIG FILE ERROR ***")
    assert chains.is_generic("=== ERROR ===")
    assert telling_texts(REDIS_BANNER)[0] == ">>> 'slaveof  6379'"
    f = only(run(*crashing(REDIS_BANNER)))
    assert f.reason is Reason.APP_ERROR
    assert "'slaveof  6379'" in evidence_text(f)  # the line's own double space kept
