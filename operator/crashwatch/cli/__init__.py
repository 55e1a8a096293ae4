"""The ``crashwatch`` command line."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import fields, replace
from typing import TYPE_CHECKING, Any

from crashwatch import __version__
from crashwatch.cli.explain import render as render_explain
from crashwatch.cli.explain import to_json as explain_json
from crashwatch.cli.loader import SnapshotError, gc_paused, load_objects
from crashwatch.cli.render import to_json, to_table
from crashwatch.diagnosis import ClusterView, diagnose
from crashwatch.diagnosis.owners import top_owner
from crashwatch.diagnosis.trace import Trace
from crashwatch.diagnosis.view import name_of, namespace_of
from crashwatch.logsource import LogsDir, LogsDirError
from crashwatch.model import Finding
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

if TYPE_CHECKING:
    from crashwatch.cli.live import LiveOptions

SETTINGS_GROUPS: tuple[tuple[str, type], ...] = (
    ("watch", WatchSettings),
    ("logs", LogSettings),
    ("publish", PublishSettings),
    ("remediation", RemediationSettings),
    ("server", ServerSettings),
)

EXIT_OK = 0
EXIT_BAD_INPUT = 2


def _source_arguments(cmd: argparse.ArgumentParser) -> None:
    """Where the objects come from: a snapshot (-f) or the kubeconfig's cluster."""
    snap = cmd.add_argument_group("a snapshot (offline)")
    snap.add_argument(
        "-f", "--filename", dest="files", action="append", metavar="FILE",
        help="JSON or YAML file (repeatable); '-' reads standard input. Without -f, the "
             "current kubeconfig context's cluster is read",
    )
    snap.add_argument(
        "--logs-dir", metavar="DIR",
        help="container logs as DIR/<namespace>/<pod>/<container>.log (offline; against a "
             "cluster, read instead of pods/log)",
    )
    live = cmd.add_argument_group("a cluster (without -f)")
    live.add_argument("--kubeconfig", metavar="PATH",
                      help="kubeconfig file (default: KUBECONFIG, else ~/.kube/config)")
    live.add_argument("--context", metavar="NAME", help="kubeconfig context (default: current)")
    live.add_argument("-n", "--namespace", metavar="NS",
                      help="namespace (default: the context's; with -f, a filter)")


def _parser(prog: str = "crashwatch") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Says why Kubernetes containers fail, and repairs it where a team opts in.",
    )
    parser.add_argument("--version", action="version", version=f"crashwatch {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    diag = sub.add_parser(
        "diagnose",
        help="say why containers fail: in the current cluster, or in a snapshot (-f)",
        description=(
            "Diagnose failing containers. Without -f, read the current kubeconfig context's "
            "cluster (read-only: pods, Events, owners, VPAs, and each failing container's "
            "log through pods/log) and judge it at the API server's time; what could not be "
            "read is said in notes. With -f, diagnose a snapshot (JSON or YAML, a kubectl "
            "List or single objects), judged at its own newest timestamp."
        ),
    )
    diag.add_argument("pod", nargs="?", metavar="POD",
                      help="only this pod (and its workload's findings)")
    _source_arguments(diag)
    diag.add_argument("-A", "--all-namespaces", action="store_true",
                      help="every namespace (the cluster; with -f, the default)")
    diag.add_argument("-l", "--selector", metavar="SELECTOR", default="",
                      help="label selector over pods (a cluster only)")
    diag.add_argument(
        "-o", "--output", choices=("json", "table"), default=None,
        help="output format (default: table on a terminal, json otherwise)",
    )
    explain = sub.add_parser(
        "explain",
        help="show how the verdict on one pod was reached",
        description=(
            "Show how crashwatch reached its verdict on one pod: the status and Events "
            "read, the log lines as the rules read them (after normalisation), each rule in "
            "the order tried with what it concluded, the log lines that could have explained "
            "it and why each lost, and what became of the findings afterwards. Reads the "
            "current cluster, or a snapshot with -f."
        ),
    )
    explain.add_argument("pod", metavar="POD", help="the pod")
    _source_arguments(explain)
    explain.add_argument("-o", "--output", choices=("text", "json"), default="text",
                         help="text (default) or the trace as JSON")
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


class UsageError(Exception):
    """Flags that do not go together; the message is one line for a user."""


def _check(args: argparse.Namespace) -> None:
    live_only = [flag for flag, given in (("--kubeconfig", args.kubeconfig),
                                          ("--context", args.context),
                                          ("-l/--selector", getattr(args, "selector", "")))
                 if given]
    if args.files and live_only:
        raise UsageError(f"{', '.join(live_only)} read a cluster; -f reads a snapshot: "
                         "give one or the other")
    if getattr(args, "all_namespaces", False) and args.namespace:
        raise UsageError("-A and -n do not go together")
    if getattr(args, "all_namespaces", False) and args.pod:
        raise UsageError("a POD is in one namespace: use -n, not -A")


def _offline(args: argparse.Namespace, trace: Trace | None = None
             ) -> tuple[list[dict[str, Any]], list[Finding], float | None]:
    with gc_paused():
        objects = [obj for path in args.files for obj in load_objects(path)]
        # What was read lives to the end of this one-shot command: out of the collector's
        # sight (frozen before it runs again), no collection walks it, not even once.
        gc.freeze()
    logs = LogsDir(args.logs_dir) if args.logs_dir else None
    view = ClusterView(objects)
    return objects, diagnose(view, logs, trace=trace), view.now


def _find_pod(objects: list[dict[str, Any]], name: str, namespace: str | None
              ) -> dict[str, Any]:
    """The pod of that name (in that namespace, if given) among the objects."""
    found = [o for o in objects if o.get("kind") == "Pod" and name_of(o) == name
             and (namespace is None or namespace_of(o) == namespace)]
    if not found:
        where = f" in namespace {namespace}" if namespace else ""
        raise UsageError(f"pod {name} not found{where}")
    spaces = sorted({namespace_of(o) for o in found})
    if len(spaces) > 1:
        raise UsageError(f"pod {name} is in several namespaces ({', '.join(spaces)}): "
                         "give -n")
    return found[0]


def _about_pod(findings: list[Finding], objects: list[dict[str, Any]], pod: dict[str, Any]
               ) -> list[Finding]:
    """The pod's findings and its workload's (a rollout regression, a failed Job)."""
    ns, name = namespace_of(pod), name_of(pod)
    owner = top_owner(ClusterView(objects), pod)
    return [f for f in findings if f.namespace == ns and (
        f.pod == name or (f.pod is None and owner is not None and f.owner == owner))]


def _live_options(args: argparse.Namespace) -> LiveOptions:
    from crashwatch.cli.live import LiveOptions  # noqa: PLC0415 - loads the kube client

    return LiveOptions(kubeconfig=args.kubeconfig, context=args.context,
                       namespace=args.namespace,
                       all_namespaces=getattr(args, "all_namespaces", False),
                       selector=getattr(args, "selector", ""), pod=args.pod,
                       logs_dir=args.logs_dir)


def _diagnose(args: argparse.Namespace, prog: str) -> int:
    notes: list[str] | None = None
    try:
        _check(args)
        if args.files:
            objects, findings, _ = _offline(args)
            if args.pod:
                findings = _about_pod(findings, objects,
                                      _find_pod(objects, args.pod, args.namespace))
            elif args.namespace:
                findings = [f for f in findings if f.namespace == args.namespace]
        else:
            from crashwatch.cli.live import (  # noqa: PLC0415 - loads the kube client
                client_complaints,
                run_live,
                with_complaints,
            )
            from crashwatch.kube.snapshot import ClusterError  # noqa: PLC0415

            with client_complaints() as said:
                try:
                    live = run_live(_live_options(args))
                except ClusterError as err:
                    raise UsageError(with_complaints(str(err), said)) from None
            findings, notes = live.findings, live.notes
            if args.pod:
                findings = _about_pod(findings, live.objects,
                                      _find_pod(live.objects, args.pod, live.scope.namespace
                                                if live.scope else None))
    except (SnapshotError, LogsDirError, UsageError) as err:
        print(f"{prog}: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    output = args.output or ("table" if sys.stdout.isatty() else "json")
    print(to_json(findings, notes) if output == "json" else to_table(findings,
                                                                      notes=notes or ()))
    return EXIT_OK


def _explain(args: argparse.Namespace, prog: str) -> int:
    try:
        _check(args)
        if args.files:
            trace = Trace(pods=lambda n, p: p == args.pod and args.namespace in (None, n))
            objects, _, now = _offline(args, trace)
            ns, notes = namespace_of(_find_pod(objects, args.pod, args.namespace)), []
            source = "the snapshot " + ", ".join(args.files) + (
                f" with logs from {args.logs_dir}" if args.logs_dir else " (no logs given)")
        else:
            from crashwatch.cli.live import (  # noqa: PLC0415 - loads the kube client
                client_complaints,
                run_live,
                with_complaints,
            )
            from crashwatch.kube.snapshot import ClusterError, connect  # noqa: PLC0415

            opts = _live_options(args)
            with client_complaints() as said:
                try:
                    conn = connect(opts.kubeconfig, opts.context)
                    ns = args.namespace or conn.namespace
                    trace = Trace(pods=lambda n, p: (n, p) == (ns, args.pod))
                    live = run_live(dataclasses.replace(opts, namespace=ns), trace=trace,
                                    conn=conn)
                except ClusterError as err:
                    raise UsageError(with_complaints(str(err), said)) from None
            notes, now = live.notes, live.now
            source = f"the cluster at {conn.server} (context {conn.context})" + (
                f", logs from {args.logs_dir}" if args.logs_dir else ", logs through pods/log")
    except (SnapshotError, LogsDirError, UsageError) as err:
        print(f"{prog}: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.output == "json":
        print(explain_json(trace, ns, args.pod, now, notes))
    else:
        print(render_explain(trace, ns, args.pod, source, now, notes))
    return EXIT_OK


def main(argv: Sequence[str] | None = None, prog: str = "crashwatch") -> int:
    parser = _parser(prog)
    args = parser.parse_args(argv)
    if args.command == "diagnose":
        return _diagnose(args, prog)
    if args.command == "explain":
        return _explain(args, prog)
    if args.command == "run":
        return _run(args)
    parser.error(f"unknown command {args.command}")  # pragma: no cover
    return EXIT_BAD_INPUT  # pragma: no cover


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
