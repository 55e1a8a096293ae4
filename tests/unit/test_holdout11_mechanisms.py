"""The mechanisms holdout round 11 of eval/realworld asked for (README, "Holdout round 11"):
settings a framework names in its own words (Laravel's encryption key, a Micronaut property,
Play's application secret, the Software Collections images' list of variables, one of two
settings), MinIO's and Tomcat's denials, Confluent's wait for ZooKeeper, a guess among
others that is no denial, the path a failed write names only on the line above, and Ruby's
first frame under ``rake aborted!`` as where the error was raised.

Every log line is quoted from the public thread cited next to it; invented text says so.
"""

from __future__ import annotations

from typing import Any

import kube as k
from helpers import evidence_text, generic_reading, only, run

from crashwatch.diagnosis.logcause import read_crash
from crashwatch.model import Reason

# https://github.com/RetroAchievements/RAWeb/pull/1353
LARAVEL = ("   Illuminate\\Encryption\\MissingAppKeyException\n\n"
           "  No application encryption key has been specified.\n\n"
           "  at vendor/laravel/framework/src/Illuminate/Encryption/EncryptionServiceProvider"
           ".php:79\n")
# https://github.com/airbytehq/airbyte/issues/17595
MICRONAUT = (
    "2022-10-05 06:56:52 ERROR i.m.r.Micronaut(handleStartupException):338 - Error starting "
    "Micronaut server: Failed to inject value for parameter [localDockerMount] of method "
    "[checkDockerProcessFactory] of class: io.airbyte.workers.process.ProcessFactory\n\n"
    "Message: Error resolving property value [${airbyte.local.docker-mount}]. Property doesn't "
    "exist\n")
# https://github.com/opendevstack/ods-quickstarters/issues/433
PLAY = ("Oops, cannot start the server.\n"
        "Configuration error: Configuration error[\n"
        "The application secret has not been set, and we are in prod mode. Your application is "
        "not secure.\n"
        "To set the application secret, please read "
        "http://playframework.com/documentation/latest/ApplicationSecret\n"
        "]\n"
        "at play.api.Configuration$.configError(Configuration.scala:155)\n")
# https://github.com/sclorg/mariadb-container/issues/173
SCLORG = ("=> sourcing 20-validate-variables.sh ...\n"
          "You must either specify the following environment variables:\n"
          "  MYSQL_USER (regex: '^[a-zA-Z0-9_]+$')\n"
          "  MYSQL_PASSWORD (regex: '^[a-zA-Z0-9_~!@#$%^&*()-=<>,.?;:|]+$')\n"
          "  MYSQL_DATABASE (regex: '^[a-zA-Z0-9_]+$')\n"
          "Or the following environment variable:\n"
          "  MYSQL_ROOT_PASSWORD (regex: '^[a-zA-Z0-9_~!@#$%^&*()-=<>,.?;:|]+$')\n"
          "Or both.\n"
          "Optional Settings:\n"
          "  MYSQL_LOWER_CASE_TABLE_NAMES (default: 0)\n")
# https://github.com/ansible/eda-server-operator/pull/95
EITHER = ('django.core.exceptions.ImproperlyConfigured: Either "SECRET_KEY" or "SECRET_KEY_FILE" '
          "settings parameters must be set.\n")
# https://github.com/minio/minio/issues/18096
MINIO = "ERROR Unable to use the drive /export: drive access denied: Invalid arguments specified\n"
# https://github.com/eclipse-kapua/kapua/issues/98
TOMCAT = ("Nov 24, 2016 8:41:45 AM org.apache.catalina.startup.Catalina load\n"
          "WARNING: Unable to load server configuration from [/maven/conf/server.xml]\n"
          "Nov 24, 2016 8:41:45 AM org.apache.catalina.startup.Catalina load\n"
          "WARNING: Permissions incorrect, read permission is not allowed on the file.\n"
          "Nov 24, 2016 8:41:45 AM org.apache.catalina.startup.Catalina start\n"
          "SEVERE: Cannot start server. Server instance is not configured.\n")
# https://github.com/confluentinc/kafka-images/issues/160
ZOOKEEPER = (
    "[main] ERROR io.confluent.admin.utils.ClusterStatus - Timed out waiting for connection to "
    "Zookeeper server [bldr-cp-zookeeper-headless:2181].\n"
    "[main-SendThread(bldr-cp-zookeeper-headless:2181)] WARN org.apache.zookeeper.ClientCnxn - "
    "Client session timed out, have not heard from server in 40000ms for sessionid 0x0\n"
    "[main-EventThread] INFO org.apache.zookeeper.ClientCnxn - EventThread shut down for "
    "session: 0x0\n"
    "[main] INFO org.apache.zookeeper.ZooKeeper - Session: 0x0 closed\n")
# https://github.com/bitnami/charts/issues/17834 (the thread's own "the se" kept)
NODE_LOCKS = (
    "[elasticsearch-data-0] fatal exception while booting Elasticsearch java.lang."
    "IllegalStateException: failed to obtain node locks, tried [/bitnami/elasticsearch/data]: "
    "maybe the se locations are not writable or multiple nodes were started on the same data "
    "path?\n")
# https://github.com/helm/charts/issues/10572
CP_ENOSPC = "Installing config scripts into /work-dir\ncp: write error: No space left on device\n"
# https://github.com/keygen-sh/keygen-api/issues/942
RAKE = (
    "Migrating to RolifyCreateRoles (20160927003417)\n"
    "rake aborted!\n"
    "StandardError: Directly inheriting from ActiveRecord::Migration is not supported. Please "
    "specify the Active Record release the migration was written for: (StandardError)\n\n"
    "  class RolifyCreateRoles < ActiveRecord::Migration[7.2]\n"
    "/etc/easypanel/projects/keygen/keygen-front/code/db/migrate/20160927003417_rolify_create_"
    "roles.rb:3:in `<top (required)>'\n\n"
    "Caused by:\n"
    "StandardError: Directly inheriting from ActiveRecord::Migration is not supported. Please "
    "specify the Active Record release the migration was written for: (StandardError)\n\n"
    "  class RolifyCreateRoles < ActiveRecord::Migration[7.2]\n"
    "/etc/easypanel/projects/keygen/keygen-front/code/db/migrate/20160927003417_rolify_create_"
    "roles.rb:3:in `<top (required)>'\n"
    "Tasks: TOP => db:migrate\n"
    "(See full trace by running task with --trace)\n")


# --- settings named in a framework's own words ----------------------------------------------

def test_laravels_missing_encryption_key_is_app_key(crashing) -> None:
    f = only(run(*crashing(LARAVEL)))
    assert f.reason is Reason.MISSING_ENV
    assert "APP_KEY" in f.summary
    assert "No application encryption key has been specified" in evidence_text(f)


def test_a_micronaut_property_that_does_not_exist_is_a_missing_setting(crashing) -> None:
    f = only(run(*crashing(MICRONAUT)))
    assert f.reason is Reason.MISSING_ENV
    assert "airbyte.local.docker-mount" in f.summary


def test_plays_application_secret_is_a_missing_setting_it_does_not_name(crashing) -> None:
    f = only(run(*crashing(PLAY, exit_code=255)))
    assert f.reason is Reason.MISSING_ENV
    assert "The application secret has not been set" in evidence_text(f)
    assert "does not name it" in f.summary  # no variable is claimed: versions differ


def test_the_sclorg_images_list_of_variables_names_each_alternative(crashing) -> None:
    f = only(run(*crashing(SCLORG)))
    assert f.reason is Reason.MISSING_ENV
    assert "MYSQL_USER" in f.summary and "MYSQL_ROOT_PASSWORD" in f.summary
    # the optional settings listed after are not missing
    assert "MYSQL_LOWER_CASE_TABLE_NAMES" not in f.summary


def test_one_of_two_settings_neither_set_is_missing(crashing) -> None:
    f = only(run(*crashing(EITHER)))
    assert f.reason is Reason.MISSING_ENV
    assert "SECRET_KEY" in f.summary
    # a choice that is no setting (invented): "either ... or ..." of words, not names
    assert generic_reading("Either host or socket must be set")[0] is None


# --- denials ---------------------------------------------------------------------------------

def test_minio_refusing_its_drive_is_a_denial_of_that_path(crashing) -> None:
    f = only(run(*crashing(MINIO)))
    assert f.reason is Reason.PERMISSION_DENIED
    assert "/export" in f.summary
    assert "drive access denied" in evidence_text(f)


def test_tomcat_unable_to_read_its_configuration_is_a_denial_of_that_file(crashing) -> None:
    f = only(run(*crashing(TOMCAT)))
    assert f.reason is Reason.PERMISSION_DENIED
    assert "/maven/conf/server.xml" in f.summary


def test_a_guess_among_others_that_a_path_is_not_writable_is_no_denial(crashing) -> None:
    f = only(run(*crashing(NODE_LOCKS)))
    assert f.reason is Reason.APP_ERROR
    assert "failed to obtain node locks" in evidence_text(f)
    # said as a fact it still is one (Logstash's words, from the rule's own comment)
    assert generic_reading('Path "/usr/share/logstash/data" must be a writable directory. It '
                           "is not writable.")[0] is Reason.PERMISSION_DENIED


# --- connections -----------------------------------------------------------------------------

def test_timed_out_waiting_for_a_connection_is_unreachable(crashing) -> None:
    f = only(run(*crashing(ZOOKEEPER)))
    assert f.reason is Reason.DEPENDENCY_UNREACHABLE
    assert "bldr-cp-zookeeper-headless:2181" in f.summary


# --- where -----------------------------------------------------------------------------------

def _init_writing(log: str, mounts: list[dict[str, Any]]) -> tuple[list[Any], dict[Any, str]]:
    c = k.container(name="install", volumeMounts=mounts)
    p = k.pod(containers=[k.container()], init_containers=[c])
    p["status"]["initContainerStatuses"] = [
        k.crashloop_status(c, p, k.terminated("Error", 1))]
    return [p], {("shop", p["metadata"]["name"], "install"): log}


def test_a_failed_write_that_names_no_path_takes_the_volume_the_line_above_names() -> None:
    f = only(run(*_init_writing(CP_ENOSPC, [{"name": "workdir", "mountPath": "/work-dir"}])))
    assert f.reason is Reason.DISK_FULL
    assert "/work-dir" in f.summary
    assert "Installing config scripts into /work-dir" in evidence_text(f)
    # a path above that is on no volume of the container is not taken for it
    g = only(run(*_init_writing(CP_ENOSPC, [{"name": "data", "mountPath": "/data"}])))
    assert g.reason is Reason.DISK_FULL and "/work-dir" not in g.summary


def test_rubys_first_frame_under_rake_aborted_is_where_it_was_raised() -> None:
    telling = read_crash(RAKE).telling
    assert telling[0].startswith("StandardError: Directly inheriting from ActiveRecord::Migration")
    assert telling[1].endswith("20160927003417_rolify_create_roles.rb:3:in `<top (required)>'")
    # a library's frame says nothing the message does not (the frame's path invented)
    gem = RAKE.replace("/etc/easypanel/projects/keygen/keygen-front/code/db/migrate/",
                       "/usr/local/bundle/gems/activerecord-7.2.1/lib/")
    assert len(read_crash(gem).telling) == 1
