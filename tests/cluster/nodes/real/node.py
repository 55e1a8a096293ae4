"""A real Kubernetes node on this machine: kubelet v1.36 + containerd v2 + runc + CNI bridge,
registered with the local control plane beside (or instead of) the kwok nodes.

One real node per machine at a time: containerd and the kubelet use fixed host paths
(``/run/containerd``, ``/var/lib/cni``, ``/var/lib/kubelet``, ``/var/log/containers``, the
``kubepods`` cgroups) and the kubelet changes kernel settings. ``start()`` takes a file lock
(waiting for another run to finish), records what it is about to change in a state file, and
``stop()`` undoes it: processes (kubelet, containerd, every shim it started), mounts, the
pods' network namespaces and bridge, the fixed paths that did not exist before, the cgroups,
and the sysctls (``vm.overcommit_memory``, ``kernel.panic``, ``kernel.panic_on_oops`` set by
the kubelet, ``net.ipv4.ip_forward`` set by the CNI bridge plugin). A run killed before its
``stop()`` is cleaned up by the next ``start()`` from that state file.

Network: the node's address is this machine's primary address, found at run time (the
kubelet refuses loopback). Pods live in network namespaces on the bridge ``cwcni0``
(10.244.0.0/24) and get exactly two routes: their subnet and this machine's own address
(where the API server listens); they have no default route, so nothing they send can leave
the machine. The API server reaches the kubelet on the node address (``pods/log``, probes'
results come the other way).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import yaml
from kubernetes import client
from tests.cluster.controlplane.plane import (
    ControlPlane,
    ControlPlaneError,
    _die_with_parent,
    _kill_all,
    _Proc,
    free_port,
)
from tests.cluster.images.registry import Registries

HERE = Path(__file__).resolve().parent
BUILD_SCRIPT = HERE / "build.sh"
LOCK_FILE = Path("/run/lock/crashwatch-realnode.lock")
STATE_FILE = Path("/run/crashwatch-realnode.json")
BRIDGE = "cwcni0"
POD_SUBNET = "10.244.0.0/24"
CLUSTER_DNS = "10.96.0.10"  # inside the Service range; nothing answers (pods have no route)
# Paths containerd, runc, libcni and the kubelet use whatever their configuration says.
FIXED_PATHS = ("/run/containerd", "/run/nri", "/opt/containerd", "/var/lib/cni",
               "/var/lib/kubelet", "/var/log/containers", "/var/log/pods")
SYSCTLS = ("vm.overcommit_memory", "kernel.panic", "kernel.panic_on_oops",
           "net.ipv4.ip_forward")


def build_node(*, quiet: bool = False) -> Path:
    """Build (or reuse) the node's binaries with build.sh; return the cache directory."""
    proc = subprocess.run(["bash", str(BUILD_SCRIPT)], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL if quiet else None, text=True, check=False)
    if proc.returncode != 0:
        raise ControlPlaneError(f"{BUILD_SCRIPT} failed with exit code {proc.returncode}")
    return Path(proc.stdout.strip().splitlines()[-1])


def node_ip() -> str:
    """This machine's primary IPv4 address: the one on the default route's interface (the
    routing table is read, nothing is sent), else the first global address."""
    routes = json.loads(_run("ip", "-j", "-4", "route", "show", "default") or "[]")
    dev = [r["dev"] for r in routes if r.get("dev")]
    addrs = json.loads(_run("ip", "-j", "-4", "addr", "show", "scope", "global") or "[]")
    candidates = [(link["ifname"], a["local"]) for link in addrs if link["ifname"] != BRIDGE
                  for a in link.get("addr_info", []) if a.get("family") == "inet"]
    for ifname, addr in candidates:
        if ifname in dev:
            return str(addr)
    if candidates:
        return str(candidates[0][1])
    raise ControlPlaneError("no global IPv4 address on this machine: a kubelet needs one")


def _run(*args: str, check: bool = True) -> str:
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise ControlPlaneError(f"{' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout


def _sysctl_path(name: str) -> Path:
    return Path("/proc/sys") / name.replace(".", "/")


def _write_atomically(path: Path, text: str) -> None:
    """Readers (``host_sysctls`` in another run) see the old file or the new one, never half."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def host_sysctls(state_file: Path = STATE_FILE) -> dict[str, str]:
    """The machine's own values of the sysctls a node changes, the ones its ``stop()`` (or the
    next ``start()``, for a run killed before its stop) puts back. While a node is up, or after
    one that was not stopped, the current values are the kubelet's; its state file holds what
    the machine had before it, so that is what a test must compare the machine with after."""
    if state_file.exists():
        recorded = json.loads(state_file.read_text()).get("sysctls", {})
        if set(recorded) == set(SYSCTLS):
            return {k: str(recorded[k]) + "\n" for k in SYSCTLS}
    return current_sysctls()


def current_sysctls() -> dict[str, str]:
    """The values of the sysctls a node changes, as they are now (with their newlines)."""
    return {k: _sysctl_path(k).read_text() for k in SYSCTLS}


@dataclass
class RealNode:
    """kubelet + containerd for ``plane``, pulling from ``registries``.

    Args:
        sync_frequency: the kubelet's ``syncFrequency``; None keeps its default (1m), as on
            every real cluster.
        lock_timeout: how long to wait for another run's node on this machine.
    """

    plane: ControlPlane
    registries: Registries
    cache: Path
    address: str
    name: str = "real-node"
    sync_frequency: str | None = None
    lock_timeout: float = 1800.0
    detached: bool = False
    ports: dict[str, int] = field(default_factory=dict)
    _procs: list[_Proc] = field(default_factory=list, repr=False)
    _lock: TextIO | None = field(default=None, repr=False)

    @property
    def dir(self) -> Path:
        return self.plane.dir / "node"

    @property
    def bin(self) -> Path:
        return self.cache / "bin"

    @property
    def socket(self) -> Path:
        return self.dir / "containerd" / "containerd.sock"

    @property
    def pod_logs(self) -> Path:
        """The kubelet's ``podLogsDir``: ``<ns>_<pod>_<uid>/<container>/<restart>.log``."""
        return self.dir / "pod-logs"

    def versions(self) -> dict[str, str]:
        kubelet = _run(str(self.bin / "kubelet"), "--version").split()[-1]
        containerd = _run(str(self.bin / "containerd"), "--version").split()[2]
        runc = _run(str(self.cache / "deb/usr/sbin/runc"), "--version").splitlines()[0].split()[-1]
        return {"kubelet": kubelet, "containerd": containerd, "runc": runc}

    # ------------------------------------------------------------------ start / stop

    def start(self, timeout: float = 120.0) -> RealNode:
        self._acquire_lock()
        try:
            cleanup_stale()
            self.dir.mkdir(parents=True, exist_ok=True)
            _write_atomically(STATE_FILE, json.dumps({
                "dir": str(self.dir),
                "shim": str(self.bin / "containerd-shim-runc-v2"),
                "socket": str(self.socket),
                "sysctls": {k: _sysctl_path(k).read_text().strip() for k in SYSCTLS},
                "created": [p for p in FIXED_PATHS if not os.path.lexists(p)],
            }, indent=1) + "\n")
            self._configure()
            self._start_containerd(timeout)
            self._start_kubelet(timeout)
        except BaseException:
            logs = self.dump_logs()
            self.stop()
            print(logs, file=sys.stderr)
            raise
        return self

    def stop(self) -> None:
        """Stop the node and undo every change it made to this machine."""
        kubelet = [p for p in self._procs if p.name == "kubelet"]
        _kill_all(kubelet, 20.0)
        _teardown()
        _kill_all(self._procs, 10.0)
        self._procs.clear()
        self._release_lock()

    def dump_logs(self, tail: int = 40) -> str:
        out = []
        for name in ("containerd", "kubelet"):
            log = self.dir / "logs" / f"{name}.log"
            if log.exists():
                lines = log.read_text(errors="replace").splitlines()[-tail:]
                out.append(f"----- {name} ({log}) -----\n" + "\n".join(lines))
        return "\n".join(out)

    # ------------------------------------------------------------------ internals

    def _acquire_lock(self) -> None:
        LOCK_FILE.parent.mkdir(parents=True, exist_ok=True)
        fh = LOCK_FILE.open("a+")
        deadline = time.monotonic() + self.lock_timeout
        told = False
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    fh.close()
                    raise ControlPlaneError(
                        f"another real node holds {LOCK_FILE} (one per machine)") from None
                if not told:
                    print(f"[realnode] waiting for {LOCK_FILE}: another run's node is up",
                          file=sys.stderr)
                    told = True
                time.sleep(1.0)
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        self._lock = fh

    def _release_lock(self) -> None:
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    def _configure(self) -> None:
        d = self.dir
        for sub in ("containerd", "certs.d", "cni/net.d", "cni/ipam", "kubelet", "logs", "home",
                    "pod-logs"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        pki = self.plane.dir / "pki"
        ControlPlane._cert(pki, "node", f"/O=system:nodes/CN=system:node:{self.name}",
                           "clientAuth")
        self.plane._write_kubeconfig(d / "kubelet.kubeconfig", f"system:node:{self.name}", {
            "client-certificate": str(pki / "node.crt"), "client-key": str(pki / "node.key")})
        for reg in self.registries.all:
            hosts = d / "certs.d" / reg.host
            hosts.mkdir(parents=True, exist_ok=True)
            (hosts / "hosts.toml").write_text(
                f'server = "http://{reg.host}"\n\n[host."http://{reg.host}"]\n'
                '  capabilities = ["pull", "resolve"]\n')
        (d / "containerd.toml").write_text(CONTAINERD_CONFIG.format(
            dir=d, sandbox=self.registries.anonymous.ref("pause:1"),
            cni_bin=self.cache / "deb/usr/lib/cni", runc=self.cache / "deb/usr/sbin/runc"))
        (d / "cni/net.d/10-crashwatch.conflist").write_text(json.dumps({
            "cniVersion": "1.0.0",
            "name": "crashwatch",
            "plugins": [{
                "type": "bridge", "bridge": BRIDGE, "isGateway": True,
                # no iptables here, and no masquerading wanted: nothing leaves the machine
                "ipMasq": False, "hairpinMode": True,
                "ipam": {"type": "host-local", "ranges": [[{"subnet": POD_SUBNET}]],
                         # only this machine's own address besides the subnet: no default route
                         "routes": [{"dst": f"{self.address}/32"}],
                         "dataDir": str(d / "cni/ipam")},
            }, {"type": "loopback"}],
        }, indent=1))
        self.ports["kubelet"] = free_port()
        self.ports["kubelet-healthz"] = free_port()
        kubelet: dict[str, Any] = {
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            # this machine: cgroup v1 (kubelet >= 1.35 refuses it unless told), no swap
            # accounting, cgroupfs as containerd's runc (SystemdCgroup = false)
            "failCgroupV1": False,
            "cgroupDriver": "cgroupfs",
            "failSwapOn": False,
            "containerRuntimeEndpoint": f"unix://{self.socket}",
            "address": self.address,
            "port": self.ports["kubelet"],
            "readOnlyPort": 0,
            "healthzBindAddress": "127.0.0.1",
            "healthzPort": self.ports["kubelet-healthz"],
            "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": False},
                               "x509": {"clientCAFile": str(pki / "ca.crt")}},
            "authorization": {"mode": "AlwaysAllow"},
            "podLogsDir": str(self.pod_logs),
            "clusterDomain": "cluster.local",
            "clusterDNS": [CLUSTER_DNS],
            "resolvConf": "/etc/resolv.conf",
            "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1%",
                             "imagefs.available": "1%", "nodefs.inodesFree": "1%"},
            "imageGCHighThresholdPercent": 99,
            "imageGCLowThresholdPercent": 98,
            "serializeImagePulls": False,
            "rotateCertificates": False,
            "serverTLSBootstrap": False,
        }
        if self.sync_frequency:
            kubelet["syncFrequency"] = self.sync_frequency
        (d / "kubelet.yaml").write_text(yaml.safe_dump(kubelet, sort_keys=False))

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> _Proc:
        log = self.dir / "logs" / f"{name}.log"
        with log.open("ab") as fh:
            popen = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT,
                cwd=self.dir / "home", env=env, start_new_session=True,
                preexec_fn=None if self.detached else _die_with_parent,  # noqa: PLW1509
            )
        proc = _Proc(name, popen, log)
        self._procs.append(proc)
        return proc

    def _env(self) -> dict[str, str]:
        # HOME: the kubelet reads $HOME/.docker/config.json as node-wide pull credentials.
        return {"PATH": f"{self.bin}:/usr/sbin:/usr/bin:/sbin:/bin",
                "HOME": str(self.dir / "home"), "LANG": "C.UTF-8"}

    def _wait(self, what: str, check: Any, proc: _Proc, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if proc.popen.poll() is not None:
                raise ControlPlaneError(f"{proc.name} exited with {proc.popen.returncode}")
            try:
                if check():
                    return
            except Exception as e:
                last = e
            time.sleep(0.2)
        raise ControlPlaneError(f"timed out after {timeout}s waiting for {what}: {last}")

    def _start_containerd(self, timeout: float) -> None:
        proc = self._spawn("containerd", [str(self.bin / "containerd"), "--config",
                                          str(self.dir / "containerd.toml")], self._env())
        ctr = [str(self.bin / "ctr"), "--address", str(self.socket), "version"]
        self._wait("containerd", lambda: subprocess.run(
            ctr, capture_output=True, check=False).returncode == 0, proc, timeout)

    def _start_kubelet(self, timeout: float) -> None:
        proc = self._spawn("kubelet", [
            str(self.bin / "kubelet"),
            f"--config={self.dir / 'kubelet.yaml'}",
            f"--kubeconfig={self.dir / 'kubelet.kubeconfig'}",
            f"--root-dir={self.dir / 'kubelet'}",
            f"--cert-dir={self.dir / 'kubelet' / 'pki'}",
            f"--hostname-override={self.name}",
            f"--node-ip={self.address}",
            "--v=1",
        ], self._env())
        with self.plane.api_client() as api:
            core = client.CoreV1Api(api)

            def ready() -> bool:
                node = core.read_node(self.name)
                conds = {c.type: c.status for c in (node.status.conditions or [])}
                return conds.get("Ready") == "True"

            self._wait(f"node {self.name} Ready", ready, proc, timeout)


CONTAINERD_CONFIG = """\
# containerd v2 (config schema 3) for crashwatch's real test node; all state under {dir}.
version = 3
root = "{dir}/containerd/root"
state = "{dir}/containerd/state"

[grpc]
  address = "{dir}/containerd/containerd.sock"

[ttrpc]
  address = "{dir}/containerd/containerd.sock.ttrpc"

[plugins]
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = "overlayfs"
    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = "{sandbox}"
    [plugins.'io.containerd.cri.v1.images'.registry]
      config_path = "{dir}/certs.d"

  [plugins.'io.containerd.cri.v1.runtime']
    enable_selinux = false
    netns_mounts_under_state_dir = true
    # This VM drops CAP_SYS_RESOURCE: runc cannot lower oom_score_adj below containerd's own
    # (sandboxes want -998). Without this every sandbox fails with "can't get final child's
    # PID from pipe: EOF".
    restrict_oom_score_adj = true
    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = "runc"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
          SystemdCgroup = false
          BinaryName = "{runc}"
    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dirs = ["{cni_bin}"]
      conf_dir = "{dir}/cni/net.d"

  [plugins.'io.containerd.grpc.v1.cri']
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
"""


# ---------------------------------------------------------------------- teardown

def _pids_of(exe: str) -> list[int]:
    """Processes whose executable is ``exe`` (a binary of this kit's cache: ours)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if os.readlink(entry / "exe") == exe:
                    pids.append(int(entry.name))
    return pids


def _kubepods() -> list[Path]:
    return [root / "kubepods" for root in Path("/sys/fs/cgroup").iterdir()
            if (root / "kubepods").is_dir()]


def _cgroups(kubepods: Path) -> list[Path]:
    """Every cgroup under ``kubepods`` (itself included), deepest first. The tree changes
    while it is read (runc and the kubelet remove a container's cgroup as it dies): a
    directory gone meanwhile is skipped, never an error (os.walk ignores scandir errors)."""
    return [Path(d) for d, _, _ in os.walk(kubepods, topdown=False)]


def _kill_cgroup_members() -> None:
    for _ in range(50):
        pids: set[int] = set()
        for kubepods in _kubepods():
            for cgroup in _cgroups(kubepods):
                with contextlib.suppress(OSError):  # a cgroup removed meanwhile
                    pids.update(int(pid) for pid in (cgroup / "cgroup.procs").read_text().split())
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)


def _teardown() -> None:
    """Undo what the state file says a node changed (its processes must be stopping)."""
    if not STATE_FILE.exists():
        return
    state = json.loads(STATE_FILE.read_text())
    d = state["dir"]
    # Every container process lives in the kubelet's kubepods cgroups: kill them there (one
    # ctr call per task is slow, and a shim killed first would orphan its container).
    _kill_cgroup_members()
    # containerd itself: the caller's process handle stops it; a stale one is found by exe.
    for pid in _pids_of(str(Path(state["shim"]).parent / "containerd")):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    # shims outlive containerd (re-parented to init): end each by its PID
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in _pids_of(state["shim"]):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        time.sleep(0.5)
    # mounts under the node's directory (rootfs overlays, shm, network namespaces), deepest first
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for m in sorted((m for m in mounts if m.startswith(d + "/") or any(
            m.startswith(p + "/") for p in state["created"])), reverse=True):
        subprocess.run(["umount", "-l", m], capture_output=True, check=False)
    subprocess.run(["ip", "link", "del", BRIDGE], capture_output=True, check=False)
    for p in state["created"]:
        shutil.rmtree(p, ignore_errors=True)
        with contextlib.suppress(OSError):
            os.unlink(p)
    # the kubelet's cgroup v1 hierarchy (empty by now; rmdir deepest first)
    for kubepods in _kubepods():
        for cgroup in _cgroups(kubepods):
            with contextlib.suppress(OSError):
                cgroup.rmdir()
    for name, value in state["sysctls"].items():
        with contextlib.suppress(OSError):
            _sysctl_path(name).write_text(value + "\n")
    STATE_FILE.unlink(missing_ok=True)


def cleanup_stale() -> None:
    """Clean up after a node whose run died before its stop() (needs the lock held)."""
    if STATE_FILE.exists():
        print(f"[realnode] cleaning up after a node that was not stopped ({STATE_FILE})",
              file=sys.stderr)
        state = json.loads(STATE_FILE.read_text())
        for name in ("kubelet", "containerd"):
            for pid in _pids_of(str(Path(state["shim"]).parent / name)):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        _teardown()
