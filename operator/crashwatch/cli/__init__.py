"""The ``crashwatch`` command line."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import fields, replace

from crashwatch import __version__
from crashwatch.cli.loader import SnapshotError, load_objects
from crashwatch.cli.render import to_json, to_table
from crashwatch.diagnosis import diagnose
from crashwatch.logsource import LogsDir, LogsDirError
from crashwatch.settings import (
    LogSettings,
    PublishSettings,
    RemediationSettings,
    ServerSettings,
    Settings,
    WatchSettings,
    env_overrides,
    field_docs,
)
from crashwatch.sharding import Shard, resolve_index
from crashwatch.watch.selectors import parse_selector

SETTINGS_GROUPS: tuple[tuple[str, type], ...] = (
    ("watch", WatchSettings),
    ("logs", LogSettings),
    ("publish", PublishSettings),
    ("remediation", RemediationSettings),
    ("server", ServerSettings),
)

EXIT_OK = 0
EXIT_BAD_INPUT = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crashwatch",
        description="Says why Kubernetes containers fail, and repairs it where a team opts in.",
    )
    parser.add_argument("--version", action="version", version=f"crashwatch {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    diag = sub.add_parser(
        "diagnose",
        help="diagnose a snapshot (kubectl get ... -o json) offline",
        description=(
            "Diagnose failing containers in a snapshot: JSON or YAML, a kubectl List or "
            "single objects. The snapshot is judged at its own newest timestamp."
        ),
    )
    diag.add_argument(
        "-f", "--filename", dest="files", action="append", required=True, metavar="FILE",
        help="JSON or YAML file (repeatable); '-' reads standard input",
    )
    diag.add_argument(
        "--logs-dir", metavar="DIR",
        help="previous container logs as DIR/<namespace>/<pod>/<container>.log",
    )
    diag.add_argument(
        "-o", "--output", choices=("json", "table"), default=None,
        help="output format (default: table on a terminal, json otherwise)",
    )
    run = sub.add_parser(
        "run",
        help="run the operator: watch the cluster, diagnose live, publish",
        description=(
            "Watch pods, events and their owners; diagnose failing containers; publish "
            "crashwatch.dev/* annotations, Warning Events and Prometheus metrics. Every flag "
            "can also be set as an environment variable CRASHWATCH_<NAME> (e.g. "
            "CRASHWATCH_METRICS_PORT=9090, CRASHWATCH_NAMESPACES=a,b)."
        ),
    )
    for group_name, cls in SETTINGS_GROUPS:
        group = run.add_argument_group(group_name)
        docs = field_docs(cls)
        for f in fields(cls):
            default = f.default
            flag = "--namespace" if f.name == "namespaces" else "--" + f.name.replace("_", "-")
            help_text = f"{docs.get(f.name, '')} [env CRASHWATCH_{f.name.upper()}]"
            if isinstance(default, bool):
                group.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction,
                                   default=None, help=help_text + f" (default: {default})")
            elif isinstance(default, tuple):
                group.add_argument(flag, dest=f.name, action="append", default=None,
                                   metavar="NAME", help=help_text + " (repeatable)")
            else:
                group.add_argument(flag, dest=f.name, type=type(default), default=None,
                                   metavar=f.name.split("_")[-1].upper(),
                                   help=help_text + f" (default: {default!r})")
    return parser


def build_settings(args: argparse.Namespace, environ: dict[str, str] | None = None) -> Settings:
    """Defaults, then CRASHWATCH_* environment variables, then flags."""
    parts = {}
    for key, cls in SETTINGS_GROUPS:
        values = env_overrides(cls, environ)
        for f in fields(cls):
            given = getattr(args, f.name, None)
            if given is not None:
                values[f.name] = tuple(given) if isinstance(f.default, tuple) else given
        parts[key] = cls(**values)
    return Settings(**parts)


def resolve_shard(settings: Settings, environ: Mapping[str, str] | None = None) -> Settings:
    """The settings with this replica's shard index decided (``--shard-index``, else the
    StatefulSet pod's ordinal: ``POD_INDEX``, then the end of ``POD_NAME``). Raises
    ValueError when it cannot be told or is out of range."""
    environ = os.environ if environ is None else environ
    index, _ = resolve_index(settings.watch.shards, settings.watch.shard_index,
                             environ.get("POD_INDEX", ""), environ.get("POD_NAME", ""))
    Shard(index, settings.watch.shards)  # bounds checked
    return replace(settings, watch=replace(settings.watch, shard_index=index))


def _run(args: argparse.Namespace) -> int:
    try:
        settings = resolve_shard(build_settings(args))
        parse_selector(settings.watch.ignore_selector)
        parse_selector(settings.watch.namespace_selector)
    except (ValueError, TypeError) as err:
        print(f"crashwatch: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    # kopf and the kubernetes client load only for `run`: `diagnose` starts fast.
    from crashwatch.logsetup import configure  # noqa: PLC0415
    from crashwatch.watch.operator import run  # noqa: PLC0415

    configure(settings.server.log_format, settings.server.log_level)
    asyncio.run(run(settings))
    return EXIT_OK


def _diagnose(args: argparse.Namespace) -> int:
    try:
        objects = [obj for path in args.files for obj in load_objects(path)]
        logs = LogsDir(args.logs_dir) if args.logs_dir else None
    except (SnapshotError, LogsDirError) as err:
        print(f"crashwatch: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    findings = diagnose(objects, logs)
    output = args.output or ("table" if sys.stdout.isatty() else "json")
    print(to_json(findings) if output == "json" else to_table(findings))
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "diagnose":
        return _diagnose(args)
    if args.command == "run":
        return _run(args)
    parser.error(f"unknown command {args.command}")  # pragma: no cover
    return EXIT_BAD_INPUT  # pragma: no cover


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
