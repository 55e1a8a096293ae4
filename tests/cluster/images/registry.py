"""Two local image registries for the real node: Debian's ``docker-registry`` (2.8), unpacked
into the node's cache by tests/cluster/nodes/real/build.sh, on loopback ports picked at start.

* ``anonymous``: anyone pulls and pushes (the test images, crashwatch's own image).
* ``private``: htpasswd (bcrypt) authentication; a pull without credentials is refused by the
  registry itself (``Image.Unauthorized`` on the real node).

Their storage lives in the cache (``<cache>/registry/<name>``) and outlives a run, so the
images are pushed once per content change, not per test session (see images.py). Only
addresses on this machine are involved: the registries listen on 127.0.0.1 and containerd,
in the host's network namespace, pulls from there.
"""

from __future__ import annotations

import base64
import json
import secrets
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.cluster.controlplane.plane import (
    ControlPlaneError,
    _die_with_parent,
    _kill_all,
    _Proc,
    free_port,
)

PRIVATE_USER = "crashwatch"


@dataclass
class Registry:
    name: str
    port: int
    storage: Path
    password: str | None = None  # the private registry's (user PRIVATE_USER)

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``: the prefix of every image reference in this registry."""
        return f"127.0.0.1:{self.port}"

    def ref(self, repository: str) -> str:
        return f"{self.host}/{repository}"


@dataclass
class Registries:
    """``anonymous`` and ``private``; ``start()`` returns once both answer ``/v2/``."""

    node_cache: Path  # tests/cluster/nodes/real/build.sh's output: deb/usr/bin/docker-registry
    workdir: Path  # configs and logs of this run
    detached: bool = False
    anonymous: Registry = field(init=False)
    private: Registry = field(init=False)
    _procs: list[_Proc] = field(default_factory=list, repr=False)

    def start(self) -> Registries:
        self.workdir.mkdir(parents=True, exist_ok=True)
        storage = self.node_cache.parent / "registry"
        storage.mkdir(parents=True, exist_ok=True)
        self.anonymous = Registry("anonymous", free_port(), storage / "anonymous")
        self.private = Registry("private", free_port(), storage / "private", self._password())
        for reg in (self.anonymous, self.private):
            self._spawn(reg)
        for reg in (self.anonymous, self.private):
            self._wait(reg)
        return self

    def stop(self) -> None:
        _kill_all(self._procs, 5.0)
        self._procs.clear()

    @property
    def all(self) -> tuple[Registry, Registry]:
        return (self.anonymous, self.private)

    def docker_config(self) -> Path:
        """A DOCKER_CONFIG directory holding only the private registry's login, for crane.
        Never $HOME/.docker: the kubelet reads that one as node-wide pull credentials."""
        d = self.workdir / "crane-auth"
        d.mkdir(exist_ok=True)
        auth = base64.b64encode(f"{PRIVATE_USER}:{self.private.password}".encode()).decode()
        (d / "config.json").write_text(json.dumps({"auths": {self.private.host: {"auth": auth}}}))
        return d

    def _password(self) -> str:
        """One random password per cache: the private registry's storage outlives a run."""
        path = self.node_cache.parent / "registry" / "private.password"
        if not path.exists():
            path.write_text(secrets.token_hex(12) + "\n")
        return path.read_text().strip()

    def _spawn(self, reg: Registry) -> None:
        reg.storage.mkdir(parents=True, exist_ok=True)
        auth = ""
        if reg.password is not None:
            htpasswd = self.workdir / "htpasswd"
            line = subprocess.run(
                [str(self.node_cache / "bin" / "htpasswd"), PRIVATE_USER, reg.password],
                check=True, capture_output=True, text=True).stdout
            htpasswd.write_text(line)
            auth = f"auth:\n  htpasswd:\n    realm: crashwatch-private\n    path: {htpasswd}\n"
        config = self.workdir / f"registry-{reg.name}.yml"
        config.write_text(
            "version: 0.1\n"
            "log:\n  level: warn\n  accesslog:\n    disabled: true\n"
            f"storage:\n  filesystem:\n    rootdirectory: {reg.storage}\n"
            "  delete:\n    enabled: true\n"
            f"http:\n  addr: 127.0.0.1:{reg.port}\n" + auth
        )
        log = self.workdir / f"registry-{reg.name}.log"
        with log.open("ab") as fh:
            popen = subprocess.Popen(
                [str(self.node_cache / "deb/usr/bin/docker-registry"), "serve", str(config)],
                stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=None if self.detached else _die_with_parent,  # noqa: PLW1509
            )
        self._procs.append(_Proc(f"registry-{reg.name}", popen, log))

    def _wait(self, reg: Registry, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        want = 401 if reg.password else 200
        proc = next(p for p in self._procs if p.name == f"registry-{reg.name}")
        while time.monotonic() < deadline:
            if proc.popen.poll() is not None:
                raise ControlPlaneError(
                    f"registry {reg.name} exited: {proc.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://{reg.host}/v2/", timeout=2) as r:
                    status = r.status
            except urllib.error.HTTPError as e:
                status = e.code
            except OSError:
                time.sleep(0.1)
                continue
            if status == want:
                return
            raise ControlPlaneError(f"registry {reg.name}: /v2/ answered {status}, not {want}")
        raise ControlPlaneError(f"registry {reg.name} did not answer within {timeout}s")
