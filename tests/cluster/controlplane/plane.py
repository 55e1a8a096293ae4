"""A real, local Kubernetes control plane for crashwatch's e2e tests, demo and benchmarks.

etcd + kube-apiserver + kube-controller-manager + kube-scheduler + kwok (fake nodes), all on
loopback ports picked at start, with generated certificates, ``--authorization-mode=Node,RBAC``
and the admission plugins kubeadm enables. No container runtime is involved: kwok plays the
kubelet's happy path and ``tests/cluster/nodes/kwok/kubelet.py`` its failures (see README.md).

Python::

    from tests.cluster.controlplane.plane import ControlPlane
    with ControlPlane() as cp:                      # builds or reuses the binaries, starts
        api = cp.api_client()                       # kubernetes.client.ApiClient (admin)
        path = cp.mint_serviceaccount_kubeconfig("crashwatch", "crashwatch-operator")

Shell (the demo and the benchmarks)::

    python tests/cluster/controlplane/plane.py up --dir /tmp/cw      # prints export KUBECONFIG=...
    python tests/cluster/controlplane/plane.py sa-kubeconfig --dir /tmp/cw NAMESPACE NAME
    python tests/cluster/controlplane/plane.py down --dir /tmp/cw

Every process runs in its own process group. The plane stops them on ``stop()``, on
interpreter exit (atexit), when garbage-collected (weakref.finalize), and, unless started
detached (the CLI's ``up``), the kernel kills them if the Python process dies (PDEATHSIG).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client, config

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
BUILD_SCRIPT = HERE / "build.sh"
KWOK_CONFIG = HERE.parent / "nodes" / "kwok" / "kwok.yaml"

SERVICE_CIDR = "10.96.0.0/16"
SA_ISSUER = "https://kubernetes.default.svc.cluster.local"
# Address written into the `kubernetes` Service's endpoints. It must not be loopback (the
# endpoints API rejects that); TEST-NET-1 (RFC 5737) is never routed and nothing dials it.
ADVERTISE_ADDRESS = "192.0.2.10"
KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node"
SIMULATED_ANNOTATION = "crashwatch.dev/simulated"
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
STATE_FILE = "state.json"
#: The API server's feature gate for sharded list and watch (KEP-5866; k8s.io/kubernetes
#: v1.36.3 pkg/features/kube_features.go: genericfeatures.ShardedListAndWatch, alpha).
SHARDED_WATCH_GATE = "ShardedListAndWatch"

_PR_SET_PDEATHSIG = 1


class ControlPlaneError(RuntimeError):
    """The plane failed to build, start or answer; the message carries the component logs."""


def build_binaries(*, quiet: bool = False) -> Path:
    """Build (or reuse) the binaries with controlplane/build.sh; return the bin directory."""
    proc = subprocess.run(
        ["bash", str(BUILD_SCRIPT)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL if quiet else None,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise ControlPlaneError(f"{BUILD_SCRIPT} failed with exit code {proc.returncode}")
    return Path(proc.stdout.strip().splitlines()[-1])


def free_port() -> int:
    """A loopback TCP port that was free a moment ago (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


@dataclass
class _Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path


@dataclass
class ControlPlane:
    """One control plane. ``start()`` returns once nodes are Ready and kube-system is seeded.

    Args:
        workdir: where certificates, kubeconfigs, etcd data and logs go; a fresh temp dir
            (removed on stop) when None.
        bin_dir: directory holding the five binaries; built or reused via build.sh when None.
        nodes: how many kwok nodes to create (named ``kwok-node-0`` ...).
        detached: leave the processes running when this Python process exits (CLI ``up``).
        max_pods: pods each kwok node accepts (110, as a kubelet; benchmarks raise it).
        extra_args: more flags per component, by name (``{"kube-apiserver": [...]}``):
            benchmarks use them for audit logging and client rate limits.
        sharded_watch: the API server's ``ShardedListAndWatch`` feature gate (alpha in
            1.36, off by default in Kubernetes): on, a list or watch with a
            ``shardSelector`` gets only that shard's objects (and a list echoes
            ``metadata.shardInfo``); off, the selector is ignored, as by a server without the
            gate (crashwatch's client-side fallback).
        bind_address: where kube-apiserver listens (loopback; a real node's pods reach it
            on this machine's own address, so tests/cluster/node binds ``0.0.0.0``).
        advertise_address: the address in the ``kubernetes`` Service's endpoints.
        extra_sans: more ``IP:``/``DNS:`` names for the apiserver's serving certificate.
    """

    workdir: Path | None = None
    bin_dir: Path | None = None
    nodes: int = 2
    detached: bool = False
    start_timeout: float = 120.0
    max_pods: int = 110
    extra_args: dict[str, list[str]] = field(default_factory=dict)
    sharded_watch: bool = True
    bind_address: str = "127.0.0.1"
    advertise_address: str = ADVERTISE_ADDRESS
    extra_sans: list[str] = field(default_factory=list)
    ports: dict[str, int] = field(default_factory=dict)
    _procs: list[_Proc] = field(default_factory=list, repr=False)
    _own_workdir: bool = field(default=False, repr=False)
    _finalizer: Any = field(default=None, repr=False)

    # ------------------------------------------------------------------ public API

    @property
    def dir(self) -> Path:
        assert self.workdir is not None, "plane not started"
        return self.workdir

    @property
    def server(self) -> str:
        """The apiserver's URL, ``https://127.0.0.1:PORT``."""
        return f"https://127.0.0.1:{self.ports['apiserver']}"

    @property
    def admin_kubeconfig(self) -> Path:
        """Kubeconfig of a cluster-admin (client certificate in group system:masters)."""
        return self.dir / "admin.kubeconfig"

    @property
    def logs_dir(self) -> Path:
        """Where each component's stdout/stderr goes (``<component>.log``)."""
        return self.dir / "logs"

    @property
    def node_names(self) -> list[str]:
        return [f"kwok-node-{i}" for i in range(self.nodes)]

    def pids(self) -> dict[str, int]:
        return {p.name: p.popen.pid for p in self._procs}

    def api_client(self, kubeconfig: Path | None = None) -> Any:
        """A ``kubernetes.client.ApiClient`` for the admin (or the given kubeconfig)."""
        path = str(kubeconfig or self.admin_kubeconfig)
        return config.new_client_from_config(config_file=path)  # type: ignore[no-untyped-call]

    def __enter__(self) -> ControlPlane:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> ControlPlane:
        """Build/reuse binaries, generate PKI, start every component and wait until usable."""
        if self.bin_dir is None:
            self.bin_dir = build_binaries()
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="crashwatch-cp-"))
            self._own_workdir = True
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.logs_dir.mkdir(exist_ok=True)
        self._finalizer = weakref.finalize(self, _kill_all, self._procs, 5.0)
        try:
            self._pki()
            self._start_etcd()
            self._start_apiserver()
            self._write_kubeconfigs()
            self._start_controller_manager()
            self._start_scheduler()
            self._start_kwok()
            self._create_nodes()
            self._wait_seeded()
            self._write_state()
        except BaseException as err:
            logs = self.dump_logs()
            self.stop()
            if isinstance(err, ControlPlaneError):
                raise ControlPlaneError(f"{err}\n{logs}") from None
            raise
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop every process (TERM, then KILL after ``timeout``); remove a temp workdir."""
        _kill_all(self._procs, timeout)
        self._procs.clear()
        if self._finalizer is not None:
            self._finalizer.detach()
        if self._own_workdir and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def dump_logs(self, tail: int = 40) -> str:
        """The last ``tail`` lines of each component's log, for failure reports."""
        out = []
        if self.workdir is None:
            return ""
        for name in COMPONENTS:
            log = self.logs_dir / f"{name}.log"
            if log.exists():
                lines = log.read_text(errors="replace").splitlines()[-tail:]
                out.append(f"----- {name} ({log}) -----\n" + "\n".join(lines))
        return "\n".join(out)

    def mint_serviceaccount_kubeconfig(
        self,
        namespace: str,
        name: str,
        *,
        expiration_seconds: int = 3600,
        create: bool = False,
        path: Path | None = None,
    ) -> Path:
        """Write a kubeconfig that authenticates as ServiceAccount ``namespace/name``.

        The token comes from the TokenRequest API (``serviceaccounts/token``), exactly like a
        projected token in a pod, so the client has the RBAC that the SA's bindings grant and
        nothing more. ``create=True`` creates the ServiceAccount if it does not exist.
        """
        with self.api_client() as api:
            core = client.CoreV1Api(api)
            if create:
                body = client.V1ServiceAccount(metadata=client.V1ObjectMeta(name=name))
                try:
                    core.create_namespaced_service_account(namespace, body)
                except client.ApiException as e:
                    if e.status != 409:
                        raise
            req = client.AuthenticationV1TokenRequest(
                spec=client.V1TokenRequestSpec(
                    audiences=[SA_ISSUER], expiration_seconds=expiration_seconds
                )
            )
            token = core.create_namespaced_service_account_token(name, namespace, req)
        out = path or self.dir / f"sa-{namespace}-{name}.kubeconfig"
        user = f"system:serviceaccount:{namespace}:{name}"
        assert token.status is not None, "TokenRequest returned no token"
        creds = {"token": str(token.status.token)}
        self._write_kubeconfig(out, user, creds, namespace=namespace)
        return out

    # ------------------------------------------------------------------ internals

    def _bin(self, name: str) -> str:
        assert self.bin_dir is not None
        return str(self.bin_dir / name)

    def _spawn(self, name: str, args: list[str]) -> _Proc:
        log = self.logs_dir / f"{name}.log"
        with log.open("ab") as fh:
            popen = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=fh,
                stderr=subprocess.STDOUT,
                cwd=self.dir,
                start_new_session=True,  # own process group: killpg reaches any child too
                # Only prctl() runs between fork and exec; no locks are taken there.
                preexec_fn=None if self.detached else _die_with_parent,  # noqa: PLW1509
            )
        proc = _Proc(name, popen, log)
        self._procs.append(proc)
        return proc

    def _wait(self, what: str, check: Callable[[], bool], proc: _Proc | None = None) -> None:
        deadline = time.monotonic() + self.start_timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if proc is not None and proc.popen.poll() is not None:
                raise ControlPlaneError(f"{proc.name} exited with {proc.popen.returncode}")
            try:
                if check():
                    return
            except Exception as e:
                last = e
            time.sleep(0.2)
        raise ControlPlaneError(f"timed out after {self.start_timeout}s waiting for {what}: {last}")

    def _pki(self) -> None:
        pki = self.dir / "pki"
        pki.mkdir(exist_ok=True)
        ec = ("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out")
        _openssl(*ec, "ca.key", cwd=pki)
        _openssl(
            "req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=crashwatch-local-ca",
            "-days", "30", "-out", "ca.crt",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
            cwd=pki,
        )  # fmt: skip
        # Service-account token signing key pair.
        _openssl(*ec, "sa.key", cwd=pki)
        _openssl("pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=pki)
        sans = ",".join(
            [
                "IP:127.0.0.1",
                "IP:10.96.0.1",
                f"IP:{self.advertise_address}",
                "DNS:localhost",
                "DNS:kubernetes",
                "DNS:kubernetes.default",
                "DNS:kubernetes.default.svc",
                "DNS:kubernetes.default.svc.cluster.local",
                *self.extra_sans,
            ]
        )
        self._cert(pki, "apiserver", "/CN=kube-apiserver", "serverAuth", sans=sans)
        self._cert(pki, "admin", "/O=system:masters/CN=kubernetes-admin", "clientAuth")
        self._cert(pki, "controller-manager", "/CN=system:kube-controller-manager", "clientAuth")
        self._cert(pki, "scheduler", "/CN=system:kube-scheduler", "clientAuth")
        # kwok plays every kubelet at once, so it needs more than one node's identity.
        self._cert(pki, "kwok", "/O=system:masters/CN=kwok-controller", "clientAuth")
        # The aggregation layer's front proxy, as kubeadm sets it up (its own CA).
        _openssl(*ec, "front-proxy-ca.key", cwd=pki)
        _openssl(
            "req", "-x509", "-new", "-key", "front-proxy-ca.key", "-subj",
            "/CN=crashwatch-front-proxy-ca", "-days", "30", "-out", "front-proxy-ca.crt",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
            cwd=pki,
        )  # fmt: skip
        self._cert(pki, "front-proxy-client", "/CN=front-proxy-client", "clientAuth",
                   ca="front-proxy-ca")  # fmt: skip
        self._cert(pki, "apiserver-kubelet-client", "/O=system:masters/CN=kube-apiserver-kubelet-client", "clientAuth")  # noqa: E501

    @staticmethod
    def _cert(
        pki: Path, name: str, subj: str, usage: str, *, sans: str | None = None, ca: str = "ca"
    ) -> None:
        ext = pki / f"{name}.ext"
        lines = [
            "basicConstraints=critical,CA:FALSE",
            "keyUsage=critical,digitalSignature,keyEncipherment",
            f"extendedKeyUsage={usage}",
        ]
        if sans:
            lines.append(f"subjectAltName={sans}")
        ext.write_text("\n".join(lines) + "\n")
        _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-out", f"{name}.key", cwd=pki)  # fmt: skip
        _openssl("req", "-new", "-key", f"{name}.key", "-subj", subj, "-out", f"{name}.csr",
                 cwd=pki)  # fmt: skip
        _openssl(
            "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-days", "30", "-extfile", ext.name, "-out", f"{name}.crt",
            cwd=pki,
        )  # fmt: skip

    def _start_etcd(self) -> None:
        client_port, peer_port = free_port(), free_port()
        self.ports["etcd"], self.ports["etcd-peer"] = client_port, peer_port
        client_url = f"http://127.0.0.1:{client_port}"
        peer_url = f"http://127.0.0.1:{peer_port}"
        proc = self._spawn(
            "etcd",
            [
                self._bin("etcd"),
                "--name=crashwatch",
                f"--data-dir={self.dir / 'etcd'}",
                f"--listen-client-urls={client_url}",
                f"--advertise-client-urls={client_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=crashwatch={peer_url}",
                "--unsafe-no-fsync",  # a throwaway test store: durability buys nothing here
                "--log-level=warn",
            ],
        )

        def healthy() -> bool:
            with urllib.request.urlopen(f"{client_url}/health", timeout=2) as r:
                return bool(json.load(r).get("health") == "true")

        self._wait("etcd /health", healthy, proc)

    def _ssl_admin(self) -> ssl.SSLContext:
        pki = self.dir / "pki"
        ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        ctx.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
        return ctx

    def restart_apiserver(self, down_seconds: float = 2.0) -> None:
        """Stop kube-apiserver, keep it down ``down_seconds``, start it again on the same
        port (clients' watches break and must reconnect), and wait until it is ready."""
        old = next(p for p in self._procs if p.name == "kube-apiserver")
        _kill_all([old], 10.0)
        self._procs.remove(old)
        time.sleep(down_seconds)
        self._start_apiserver(port=self.ports["apiserver"])
        self._write_state()

    def compact_etcd(self) -> int:
        """Compact etcd up to its current revision (as the API server does every 5 minutes):
        a watch that resumes from an older resourceVersion is answered 410 Gone and must
        relist. Returns the revision compacted to."""
        base = f"http://127.0.0.1:{self.ports['etcd']}/v3/kv"

        def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
            req = urllib.request.Request(base + path, data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=10) as r:
                return dict(json.loads(r.read()))

        revision = int(post("/range", {"key": "Lw=="})["header"]["revision"])
        post("/compaction", {"revision": revision, "physical": True})
        return revision

    def _start_apiserver(self, port: int | None = None) -> None:
        pki = self.dir / "pki"
        port = self.ports["apiserver"] = port or free_port()
        proc = self._spawn(
            "kube-apiserver",
            [
                self._bin("kube-apiserver"),
                f"--etcd-servers=http://127.0.0.1:{self.ports['etcd']}",
                f"--bind-address={self.bind_address}",
                f"--secure-port={port}",
                f"--advertise-address={self.advertise_address}",
                f"--tls-cert-file={pki / 'apiserver.crt'}",
                f"--tls-private-key-file={pki / 'apiserver.key'}",
                f"--client-ca-file={pki / 'ca.crt'}",
                f"--kubelet-client-certificate={pki / 'apiserver-kubelet-client.crt'}",
                f"--kubelet-client-key={pki / 'apiserver-kubelet-client.key'}",
                f"--requestheader-client-ca-file={pki / 'front-proxy-ca.crt'}",
                "--requestheader-allowed-names=front-proxy-client",
                "--requestheader-username-headers=X-Remote-User",
                "--requestheader-group-headers=X-Remote-Group",
                "--requestheader-extra-headers-prefix=X-Remote-Extra-",
                f"--proxy-client-cert-file={pki / 'front-proxy-client.crt'}",
                f"--proxy-client-key-file={pki / 'front-proxy-client.key'}",
                f"--service-account-issuer={SA_ISSUER}",
                f"--service-account-key-file={pki / 'sa.pub'}",
                f"--service-account-signing-key-file={pki / 'sa.key'}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--authorization-mode=Node,RBAC",
                # On top of the default set (NamespaceLifecycle, LimitRanger, ServiceAccount,
                # PodSecurity, Priority, DefaultTolerationSeconds, ResourceQuota, the webhook
                # and policy plugins, ...), what kubeadm adds:
                "--enable-admission-plugins=NodeRestriction",
                "--allow-privileged=true",
                "--profiling=false",
                f"--feature-gates={SHARDED_WATCH_GATE}={str(self.sharded_watch).lower()}",
                "--v=1",
                *self.extra_args.get("kube-apiserver", []),
            ],
        )

        def ready() -> bool:
            url = f"{self.server}/readyz"
            with urllib.request.urlopen(url, timeout=3, context=self._ssl_admin()) as r:
                return bool(r.status == 200)

        self._wait("kube-apiserver /readyz", ready, proc)

    def _write_kubeconfig(
        self, path: Path, user: str, creds: dict[str, str], namespace: str | None = None
    ) -> None:
        context: dict[str, str] = {"cluster": "crashwatch", "user": user}
        if namespace:
            context["namespace"] = namespace
        doc = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "crashwatch",
                    "cluster": {
                        "server": self.server,
                        "certificate-authority-data": _b64(self.dir / "pki" / "ca.crt"),
                    },
                }
            ],
            "users": [{"name": user, "user": creds}],
            "contexts": [{"name": "crashwatch", "context": context}],
            "current-context": "crashwatch",
        }
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        path.chmod(0o600)

    def _cert_kubeconfig(self, name: str, user: str) -> Path:
        pki = self.dir / "pki"
        path = self.dir / f"{name}.kubeconfig"
        creds = {
            "client-certificate-data": _b64(pki / f"{name}.crt"),
            "client-key-data": _b64(pki / f"{name}.key"),
        }
        self._write_kubeconfig(path, user, creds)
        return path

    def _write_kubeconfigs(self) -> None:
        self._cert_kubeconfig("admin", "kubernetes-admin")
        for name, user in [
            ("controller-manager", "system:kube-controller-manager"),
            ("scheduler", "system:kube-scheduler"),
            ("kwok", "kwok-controller"),
        ]:
            self._cert_kubeconfig(name, user)

    def _healthz(self, port: int) -> Callable[[], bool]:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # self-signed serving cert generated by the component

        def ok() -> bool:
            url = f"https://127.0.0.1:{port}/healthz"
            with urllib.request.urlopen(url, timeout=3, context=ctx) as r:
                return bool(r.status == 200)

        return ok

    def _start_controller_manager(self) -> None:
        pki = self.dir / "pki"
        kc = self.dir / "controller-manager.kubeconfig"
        port = self.ports["kube-controller-manager"] = free_port()
        proc = self._spawn(
            "kube-controller-manager",
            [
                self._bin("kube-controller-manager"),
                f"--kubeconfig={kc}",
                f"--authentication-kubeconfig={kc}",
                f"--authorization-kubeconfig={kc}",
                "--bind-address=127.0.0.1",
                f"--secure-port={port}",
                f"--cert-dir={self.dir / 'kcm-certs'}",
                "--leader-elect=false",
                "--use-service-account-credentials=true",
                f"--service-account-private-key-file={pki / 'sa.key'}",
                f"--root-ca-file={pki / 'ca.crt'}",
                f"--cluster-signing-cert-file={pki / 'ca.crt'}",
                f"--cluster-signing-key-file={pki / 'ca.key'}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--cluster-name=crashwatch",
                "--controllers=*,bootstrapsigner,tokencleaner",
                "--v=1",
                *self.extra_args.get("kube-controller-manager", []),
            ],
        )
        self._wait("kube-controller-manager /healthz", self._healthz(port), proc)

    def _start_scheduler(self) -> None:
        kc = self.dir / "scheduler.kubeconfig"
        port = self.ports["kube-scheduler"] = free_port()
        proc = self._spawn(
            "kube-scheduler",
            [
                self._bin("kube-scheduler"),
                f"--kubeconfig={kc}",
                f"--authentication-kubeconfig={kc}",
                f"--authorization-kubeconfig={kc}",
                "--bind-address=127.0.0.1",
                f"--secure-port={port}",
                f"--cert-dir={self.dir / 'scheduler-certs'}",
                "--leader-elect=false",
                "--v=1",
                *self.extra_args.get("kube-scheduler", []),
            ],
        )
        self._wait("kube-scheduler /healthz", self._healthz(port), proc)

    def _start_kwok(self) -> None:
        port = self.ports["kwok"] = free_port()
        proc = self._spawn(
            "kwok",
            [
                self._bin("kwok"),
                f"--kubeconfig={self.dir / 'kwok.kubeconfig'}",
                f"--config={KWOK_CONFIG}",
                f"--server-address=127.0.0.1:{port}",
                *self.extra_args.get("kwok", []),
            ],
        )

        def ok() -> bool:
            url = f"http://127.0.0.1:{port}/healthz"
            with urllib.request.urlopen(url, timeout=3) as r:
                return bool(r.status == 200)

        self._wait("kwok /healthz", ok, proc)

    def _create_nodes(self) -> None:
        # Room for max_pods pods of 100m CPU each (32 CPUs at least, as before).
        capacity = {"cpu": str(max(32, self.max_pods // 10)), "memory": "256Gi",
                    "pods": str(self.max_pods)}
        with self.api_client() as api:
            core = client.CoreV1Api(api)
            for name in self.node_names:
                node = client.V1Node(
                    metadata=client.V1ObjectMeta(
                        name=name,
                        annotations={
                            KWOK_NODE_ANNOTATION: "fake",
                            "node.alpha.kubernetes.io/ttl": "0",
                        },
                        labels={
                            "kubernetes.io/hostname": name,
                            "kubernetes.io/os": "linux",
                            "kubernetes.io/arch": "amd64",
                            "type": "kwok",
                        },
                    ),
                    status=client.V1NodeStatus(
                        allocatable=capacity,
                        capacity=capacity,
                    ),
                )
                core.create_node(node)

            def nodes_ready() -> bool:
                ready = 0
                for n in core.list_node().items:
                    conds = {c.type: c.status for c in ((n.status and n.status.conditions) or [])}
                    ready += conds.get("Ready") == "True"
                return ready == len(self.node_names)

            self._wait("kwok nodes Ready", nodes_ready)

    def _wait_seeded(self) -> None:
        """Namespaces are usable once kcm made their `default` SA and kube-root-ca.crt."""
        with self.api_client() as api:
            core = client.CoreV1Api(api)

            def seeded() -> bool:
                core.read_namespaced_service_account("default", "default")
                core.read_namespaced_config_map("kube-root-ca.crt", "default")
                return True

            self._wait("default ServiceAccount and kube-root-ca.crt", seeded)

    def _write_state(self) -> None:
        state = {
            "server": self.server,
            "admin_kubeconfig": str(self.admin_kubeconfig),
            "bin_dir": str(self.bin_dir),
            "ports": self.ports,
            "pids": self.pids(),
            "nodes": self.node_names,
            "sharded_watch": self.sharded_watch,
        }
        (self.dir / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _kill_all(procs: list[_Proc], timeout: float | None) -> None:
    """TERM every process group (newest first), then KILL what is left after ``timeout``."""
    for p in reversed(procs):
        if p.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(p.popen.pid, signal.SIGTERM)
    deadline = time.monotonic() + (timeout if timeout is not None else 5.0)
    for p in reversed(procs):
        try:
            p.popen.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(p.popen.pid, signal.SIGKILL)
            p.popen.wait(5)
        # The group may hold children that outlived the leader: kill them, and wait until
        # they are gone (reaped by init), so that nothing of the plane is seen after stop().
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(p.popen.pid, signal.SIGKILL)
        _wait_group_gone(p.popen.pid)


def _wait_group_gone(pgid: int, timeout: float = 10.0) -> None:
    """Wait until no process of group ``pgid`` exists any more (at most ``timeout``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.05)


def kill_state_dir(directory: Path, timeout: float = 10.0) -> list[int]:
    """Stop a plane started detached in ``directory`` (CLI ``down``); return the pids hit.

    A pid is only signalled if its command line still mentions ``directory`` (no pid reuse
    accidents) and it is its own process-group leader.
    """
    state_path = directory / STATE_FILE
    if not state_path.exists():
        return []
    pids = list(json.loads(state_path.read_text())["pids"].values())
    ours = []
    for pid in pids:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if str(directory).encode() in cmdline and os.getpgid(pid) == pid:
            ours.append(pid)
    for pid in reversed(ours):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(_alive(p) for p in ours):
        time.sleep(0.1)
    for pid in ours:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    state_path.unlink()
    return ours


@contextlib.contextmanager
def running_plane(**kwargs: Any) -> Iterator[ControlPlane]:
    """``with running_plane(nodes=3) as cp: ...`` — start, yield, always stop."""
    cp = ControlPlane(**kwargs)
    try:
        yield cp.start()
    finally:
        cp.stop()


def _main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="plane.py", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="start a plane that outlives this command")
    up.add_argument("--dir", type=Path, required=True, help="state directory (created)")
    up.add_argument("--nodes", type=int, default=2)
    up.add_argument("--no-sharded-watch", dest="sharded_watch", action="store_false",
                    help=f"leave the API server's {SHARDED_WATCH_GATE} feature gate off")
    down = sub.add_parser("down", help="stop the plane started in --dir")
    down.add_argument("--dir", type=Path, required=True)
    down.add_argument("--rm", action="store_true", help="also remove --dir")
    sa = sub.add_parser("sa-kubeconfig", help="mint a ServiceAccount kubeconfig (TokenRequest)")
    sa.add_argument("--dir", type=Path, required=True)
    sa.add_argument("namespace")
    sa.add_argument("name")
    sa.add_argument("--create", action="store_true", help="create the ServiceAccount first")
    sub.add_parser("build", help="build or reuse the binaries; print their directory")
    args = ap.parse_args(argv)

    if args.cmd == "build":
        print(build_binaries())
        return 0
    if args.cmd == "down":
        pids = kill_state_dir(args.dir.resolve())
        print(f"stopped {len(pids)} processes", file=sys.stderr)
        if args.rm:
            shutil.rmtree(args.dir, ignore_errors=True)
        return 0
    directory = args.dir.resolve()
    if args.cmd == "up":
        if (directory / STATE_FILE).exists():
            print(f"{directory} already holds a plane; run `down` first", file=sys.stderr)
            return 1
        cp = ControlPlane(workdir=directory, nodes=args.nodes, detached=True,
                          sharded_watch=args.sharded_watch)
        cp.start()
        cp._finalizer.detach()  # leave it running
        print(f"export KUBECONFIG={cp.admin_kubeconfig}")
        return 0
    # sa-kubeconfig: rebuild a handle on the running plane from its state file.
    state = json.loads((directory / STATE_FILE).read_text())
    cp = ControlPlane(workdir=directory, bin_dir=Path(state["bin_dir"]))
    cp.ports = state["ports"]
    print(cp.mint_serviceaccount_kubeconfig(args.namespace, args.name, create=args.create))
    return 0


if __name__ == "__main__":
    sys.exit(_main())
