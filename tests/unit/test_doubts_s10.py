"""Doubts left by earlier sessions (their closing notes, "Older doubts" and "From the
reviews"), each settled with the behaviour a careful SRE would expect.

Log text quoted from public threads carries the thread's URL next to it; invented text says
so.
"""

from __future__ import annotations

from typing import Any

from helpers import evidence_text, only, run

from crashwatch.model import Reason

# https://github.com/kubernetes-sigs/external-dns/pull/1367
MISSING_REGION = 'level=error msg="MissingRegion: could not find region configuration"\n'


def _with_env(objects: list[dict[str, Any]], env: list[dict[str, Any]],
              env_from: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    c = objects[0]["spec"]["containers"][0]
    c["env"] = env
    if env_from is not None:
        c["envFrom"] = env_from
    return objects


def test_a_required_reference_sets_the_variable(crashing) -> None:
    objects, logs = crashing(MISSING_REGION)
    ref = {"valueFrom": {"configMapKeyRef": {"name": "aws", "key": "region"}}}
    f = only(run(_with_env(objects, [{"name": "AWS_REGION", **ref}]), logs))
    assert f.reason is Reason.APP_ERROR  # set, so the SDK's line means something else
    assert "MissingRegion" in evidence_text(f)


def test_an_optional_reference_may_set_nothing_so_the_log_wins(crashing) -> None:
    # ``optional: true``: the kubelet starts the container without the variable when the key
    # (or the ConfigMap) is absent, which is what the SDK's words say happened
    objects, logs = crashing(MISSING_REGION)
    ref = {"valueFrom": {"configMapKeyRef": {"name": "aws", "key": "region", "optional": True}}}
    f = only(run(_with_env(objects, [{"name": "AWS_REGION", **ref}]), logs))
    assert f.reason is Reason.MISSING_ENV
    assert "missing variable: AWS_REGION" in evidence_text(f)
    objects, logs = crashing(MISSING_REGION)
    ref = {"valueFrom": {"secretKeyRef": {"name": "aws", "key": "region", "optional": True}}}
    f = only(run(_with_env(objects, [{"name": "AWS_DEFAULT_REGION", **ref}]), logs))
    assert f.reason is Reason.MISSING_ENV


def test_env_from_whose_keys_the_snapshot_cannot_see_does_not_hide_the_log(crashing) -> None:
    # ``envFrom`` may or may not carry AWS_REGION: the snapshot has no ConfigMap's data, and
    # a maybe in the spec does not outweigh the SDK saying it found none
    objects, logs = crashing(MISSING_REGION)
    f = only(run(_with_env(objects, [], [{"configMapRef": {"name": "aws-settings"}}]), logs))
    assert f.reason is Reason.MISSING_ENV
    assert "missing variable: AWS_REGION" in evidence_text(f)


# invented, in the words of django-environ's ``Either "X" or "Y" settings parameters must be
# set.`` with the "but not both" that such checks add
EITHER_NOT_BOTH = ('django.core.exceptions.ImproperlyConfigured: Either "DATABASE_URL" or '
                   '"DATABASE_URL_FILE" must be set, but not both.\n')


def test_either_but_not_both_where_the_spec_sets_both_is_no_missing_setting(crashing) -> None:
    objects, logs = crashing(EITHER_NOT_BOTH)
    f = only(run(_with_env(objects, [
        {"name": "DATABASE_URL", "value": "postgres://shop@db/shop"},
        {"name": "DATABASE_URL_FILE", "value": "/run/secrets/db-url"}]), logs))
    assert f.reason is Reason.APP_ERROR
    assert "sets both DATABASE_URL and DATABASE_URL_FILE" in evidence_text(f)
    assert "either DATABASE_URL or DATABASE_URL_FILE" in f.summary


def test_either_but_not_both_where_the_spec_sets_neither_is_missing(crashing) -> None:
    objects, logs = crashing(EITHER_NOT_BOTH)
    f = only(run(_with_env(objects, [
        {"name": "DATABASE_URL", "value": ""},
        {"name": "DATABASE_URL_FILE", "valueFrom": {"secretKeyRef": {
            "name": "db", "key": "url-file", "optional": True}}}]), logs))
    assert f.reason is Reason.MISSING_ENV
    assert "missing variable: DATABASE_URL" in evidence_text(f)


def test_either_but_not_both_where_a_reference_sets_one_and_a_value_the_other(crashing) -> None:
    objects, logs = crashing(EITHER_NOT_BOTH)
    f = only(run(_with_env(objects, [
        {"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": "db", "key": "url"}}},
        {"name": "DATABASE_URL_FILE", "value": "/run/secrets/db-url"}]), logs))
    assert f.reason is Reason.APP_ERROR


# https://github.com/RetroAchievements/RAWeb/pull/1353
LARAVEL = ("   Illuminate\\Encryption\\MissingAppKeyException\n\n"
           "  No application encryption key has been specified.\n\n"
           "  at vendor/laravel/framework/src/Illuminate/Encryption/EncryptionServiceProvider"
           ".php:79\n")


def test_a_missing_setting_the_env_gives_says_the_app_does_not_read_it_from_there(
        crashing) -> None:
    # a Laravel image whose ``config:cache`` ran at build time without APP_KEY: the cached
    # configuration wins over the env the pod gives it (the value is invented)
    objects, logs = crashing(LARAVEL)
    f = only(run(_with_env(objects, [{"name": "APP_KEY", "value": "base64:c2hvcA=="}]), logs))
    assert f.reason is Reason.MISSING_ENV
    assert f.details["setInSpec"] == ["APP_KEY"]
    assert "the container's env sets APP_KEY" in f.summary
    assert "does not read it from there" in f.summary
    # not set, or set empty: the plain missing setting
    for env in ([], [{"name": "APP_KEY", "value": ""}]):
        objects, logs = crashing(LARAVEL)
        f = only(run(_with_env(objects, env), logs))
        assert f.summary == "Container app exits because required setting APP_KEY is not set."
        assert "setInSpec" not in f.details


def test_a_missing_setting_the_env_takes_from_a_secret_asks_whether_its_value_is_empty(
        crashing) -> None:
    # the kubelet resolved the reference (the container started), but a Secret's empty value
    # is an empty variable, which Laravel takes for no key: the log is right, and the
    # evidence points at the value to check
    objects, logs = crashing(LARAVEL)
    ref = {"valueFrom": {"secretKeyRef": {"name": "shop-app", "key": "app-key"}}}
    f = only(run(_with_env(objects, [{"name": "APP_KEY", **ref}]), logs))
    assert f.reason is Reason.MISSING_ENV
    assert f.summary == "Container app exits because required setting APP_KEY is not set."
    assert ("env APP_KEY of container app comes from key app-key of Secret shop-app: is that "
            "value empty?") in evidence_text(f)
    assert "setInSpec" not in f.details and f.details["fromReference"] == ["APP_KEY"]
