"""The ``crashwatch`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from crashwatch import __version__
from crashwatch.cli.loader import LogsDir, SnapshotError, load_objects
from crashwatch.cli.render import to_json, to_table
from crashwatch.diagnosis import diagnose

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
    return parser


def _diagnose(args: argparse.Namespace) -> int:
    try:
        objects = [obj for path in args.files for obj in load_objects(path)]
        logs = LogsDir(args.logs_dir) if args.logs_dir else None
    except SnapshotError as err:
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
    parser.error(f"unknown command {args.command}")  # pragma: no cover
    return EXIT_BAD_INPUT  # pragma: no cover


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
