"""``kubectl crashwatch``: crashwatch as a kubectl plugin.

kubectl runs any executable named ``kubectl-<name>`` on PATH as ``kubectl <name>`` (the
krew convention); ``pip install crashwatch`` puts ``kubectl-crashwatch`` next to
``crashwatch``. kubectl hands the plugin its arguments and environment (``KUBECONFIG``), not
its own global flags, so ``--context``, ``--kubeconfig`` and ``-n`` are the plugin's.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from crashwatch import __version__
from crashwatch.cli import main as crashwatch_main

PROG = "kubectl crashwatch"

HELP = f"""Say why Kubernetes containers fail: one specific reason per failing container,
with the evidence (crashwatch {__version__}).

Usage:
  kubectl crashwatch [POD] [-n NAMESPACE | -A] [-l SELECTOR] [flags]
  kubectl crashwatch explain POD [-n NAMESPACE] [flags]

Examples:
  # Why do pods fail in the current namespace?
  kubectl crashwatch

  # ... in every namespace, as JSON
  kubectl crashwatch -A -o json

  # One pod, or the pods of one app
  kubectl crashwatch web-7d9c5b8f6d-x2x9k -n shop
  kubectl crashwatch -n shop -l app=web

  # How was the verdict on a pod reached (status, Events, log lines, rules)?
  kubectl crashwatch explain web-7d9c5b8f6d-x2x9k -n shop

  # Offline, on a dump and its logs
  kubectl crashwatch explain web-7d9c5b8f6d-x2x9k -f snapshot.json --logs-dir logs/

Flags:
  -n, --namespace NS      namespace (default: the context's)
  -A, --all-namespaces    every namespace
  -l, --selector SEL      label selector over pods
      --context NAME      kubeconfig context (default: the current one)
      --kubeconfig PATH   kubeconfig file (default: KUBECONFIG, else ~/.kube/config)
  -o, --output FORMAT     table (default on a terminal) or json
  -f, --filename FILE     diagnose a snapshot (kubectl get ... -o json) instead
      --logs-dir DIR      logs as DIR/<namespace>/<pod>/<container>.log (instead of pods/log)

It reads with get/list verbs only (pods, events, workloads, pods/log); what it could not
read is said in notes (JSON "notes", a footer under the table). Exit 0 when the cluster was
read, findings or not; 2 with one line on stderr when it could not be.

Install as a kubectl plugin: put the kubectl-crashwatch executable on PATH (pip install
crashwatch installs it beside crashwatch; `kubectl plugin list` shows it), then run
`kubectl crashwatch`. The same commands are `crashwatch diagnose` and `crashwatch explain`.
"""

#: What ``kubectl crashwatch`` passes through as a crashwatch command; anything else
#: (nothing, a pod name, flags) is ``crashwatch diagnose``.
COMMANDS = frozenset({"diagnose", "explain"})


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] in (["-h"], ["--help"], ["help"]):
        print(HELP, end="")
        return 0
    if args[:1] == ["--version"]:
        print(f"kubectl-crashwatch {__version__}")
        return 0
    if not args or args[0] not in COMMANDS:
        args = ["diagnose", *args]
    return crashwatch_main(args, prog=PROG)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
