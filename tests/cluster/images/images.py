"""The test images, assembled with crane (no container engine) and pushed to the local
registries. Each image is a list of layers (tar files or directories) plus its config;
a content key of both is kept beside the registry's storage, so an unchanged image is not
pushed again (the storage outlives a run: see registry.py).

The anonymous registry's images (tests/cluster/README.md has the table):

* ``pause:1``: the sandbox image (containerd's ``pinned_images.sandbox``);
* ``testapp:1``: apps/testapp, static Go, the failure modes the mechanics need;
* ``debian-apps:12``: Debian's nginx-light, python3-django and postgresql-client; the
  images ``nginx:1.22``, ``psql:15`` and ``shop:1``/``shop:2`` (a Django project) run them;
* ``orders:1``: OpenJDK 17 with the PostgreSQL JDBC driver and jvm/Orders.java;
* ``python-base:3.11``: the base crashwatch's Dockerfile is built on (``PYTHON_IMAGE``).

The private registry holds ``testapp:1`` (pulls need credentials).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.cluster.images.registry import Registries, Registry

HERE = Path(__file__).resolve().parent
ROOTFS_BUILD = HERE / "build.sh"
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class Layer:
    """A tar file as it is, or a directory whose files go under ``prefix`` (root-owned)."""

    source: Path
    prefix: str = "/"


@dataclass(frozen=True)
class Image:
    repository: str  # "name:tag"
    layers: tuple[Layer, ...]
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    env: tuple[str, ...] = (PATH_ENV, "LANG=C.UTF-8")
    workdir: str = ""
    base: str | None = None  # repository of an image this one adds layers to
    private: bool = False
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


def build_rootfs(*, quiet: bool = False) -> Path:
    """mmdebstrap the Debian root filesystems (or reuse them); return their directory."""
    proc = subprocess.run(["bash", str(ROOTFS_BUILD)], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL if quiet else None, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{ROOTFS_BUILD} failed with exit code {proc.returncode}")
    return Path(proc.stdout.strip().splitlines()[-1])


def catalogue(node_cache: Path, rootfs: Path, work: Path) -> list[Image]:
    """Every test image, bases before the images that extend them."""
    bin_dir = node_cache / "bin"
    single = work / "single"
    for name in ("pause", "testapp"):
        (single / name).mkdir(parents=True, exist_ok=True)
        shutil.copy2(bin_dir / name, single / name / name)
    orders_class = _compile_orders(node_cache.parent / "jvm")
    return [
        Image("pause:1", (Layer(single / "pause"),), entrypoint=("/pause",), env=(PATH_ENV,)),
        Image("testapp:1", (Layer(single / "testapp"),), entrypoint=("/testapp",),
              env=(PATH_ENV,)),
        Image("testapp:1", (Layer(single / "testapp"),), entrypoint=("/testapp",),
              env=(PATH_ENV,), private=True),
        Image("python-base:3.11", (Layer(rootfs / "base-py311.tar"),), cmd=("python3",)),
        Image("debian-apps:12", (Layer(rootfs / "apps.tar"),)),
        Image("nginx:1.22", (), base="debian-apps:12",
              entrypoint=("nginx", "-g", "daemon off;")),
        Image("psql:15", (), base="debian-apps:12", entrypoint=("psql",)),
        *[
            Image(f"shop:{release}", (Layer(HERE / "shop" / f"v{release}", "/app"),),
                  base="debian-apps:12", workdir="/app",
                  env=(PATH_ENV, "LANG=C.UTF-8", "PYTHONPATH=/app",
                       "DJANGO_SETTINGS_MODULE=shop.settings", "PYTHONUNBUFFERED=1"),
                  entrypoint=("python3", "-m", "django", "runserver", "--noreload",
                              "0.0.0.0:8000"))
            for release in (1, 2)
        ],
        Image("orders:1", (Layer(rootfs / "jvm.tar"), Layer(orders_class, "/app")),
              entrypoint=("java", "-cp", "/app:/usr/share/java/postgresql.jar", "Orders")),
    ]


def _compile_orders(cache: Path) -> Path:
    """Orders.class, compiled once per source version (kept in the cache)."""
    source = HERE / "jvm/Orders.java"
    out = cache / hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    out.mkdir(parents=True, exist_ok=True)
    if not (out / "Orders.class").exists():
        # --release 17: the image's JRE; the JDBC driver is loaded by name at run time.
        subprocess.run(["javac", "--release", "17", "-d", str(out), str(source)],
                       check=True, capture_output=True)
    return out


def _layer_tar(layer: Layer, work: Path) -> Path:
    if layer.source.is_file():
        return layer.source
    digest = hashlib.sha256(f"{layer.source}:{layer.prefix}".encode()).hexdigest()[:12]
    out = work / f"layer-{digest}.tar"
    with tarfile.open(out, "w") as tar:
        for path in sorted(layer.source.rglob("*")):
            if "__pycache__" in path.parts:
                continue
            arc = os.path.join(layer.prefix.strip("/"), str(path.relative_to(layer.source)))
            info = tar.gettarinfo(str(path), arcname=arc)
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mtime = 0
            if info.isfile():
                with path.open("rb") as fh:
                    tar.addfile(info, fh)
            else:
                tar.addfile(info)
    return out


def _content_key(image: Image, work: Path) -> str:
    h = hashlib.sha256()
    h.update(json.dumps([image.repository, image.entrypoint, image.cmd, image.env,
                         image.workdir, image.base]).encode())
    for layer in image.layers:
        tar = _layer_tar(layer, work)
        st = tar.stat()
        if st.st_size < 64 << 20:  # small (made here from a directory): its bytes
            h.update(tar.read_bytes())
        else:  # a root filesystem from build.sh: rebuilt only when its stamp changed
            h.update(f"{tar.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()


class Crane:
    def __init__(self, binary: Path, docker_config: Path) -> None:
        self.binary = binary
        self.env = {**os.environ, "DOCKER_CONFIG": str(docker_config)}

    def __call__(self, *args: str) -> str:
        proc = subprocess.run([str(self.binary), *args], env=self.env, capture_output=True,
                              text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"crane {' '.join(args)}: {proc.stderr.strip()}")
        return proc.stdout.strip()


def publish(registries: Registries, node_cache: Path, rootfs: Path,
            images: Sequence[Image] | None = None) -> dict[str, str]:
    """Push what is missing or changed; return ``{"name:tag": "REG/name@sha256:..."}`` for
    the anonymous registry's images and ``"private/name:tag"`` for the private one's."""
    crane = Crane(node_cache / "bin" / "crane", registries.docker_config())
    with tempfile.TemporaryDirectory(prefix="cw-images-") as tmp:
        work = Path(tmp)
        refs: dict[str, str] = {}
        for image in images or catalogue(node_cache, rootfs, work):
            reg = registries.private if image.private else registries.anonymous
            key = f"{'private/' if image.private else ''}{image.repository}"
            refs[key] = _push(crane, reg, image, work)
        return refs


def _push(crane: Crane, reg: Registry, image: Image, work: Path) -> str:
    content = _content_key(image, work)
    keys_file = reg.storage / "crashwatch-images.json"
    keys = json.loads(keys_file.read_text()) if keys_file.exists() else {}
    ref = reg.ref(image.repository)
    if keys.get(image.repository) == content:
        try:
            return f"{reg.host}/{image.repository.split(':')[0]}@{crane('digest', ref)}"
        except RuntimeError:
            pass  # the storage lost it: push again
    staging = ref + "-staging"
    base = ["--oci-empty-base"] if image.base is None else ["-b", reg.ref(image.base)]
    tars = [str(_layer_tar(layer, work)) for layer in image.layers]
    if tars:
        crane("append", *base, *[arg for t in tars for arg in ("-f", t)], "-t", staging)
    else:
        crane("copy", reg.ref(image.base or ""), staging)
    mutate = ["mutate", staging, "--set-platform", "linux/amd64", "-t", ref]
    for env in image.env:
        mutate += ["--env", env]
    if image.entrypoint:
        mutate += ["--entrypoint", ",".join(image.entrypoint)]
    if image.cmd:
        mutate += ["--cmd", ",".join(image.cmd)]
    if image.workdir:
        mutate += ["--workdir", image.workdir]
    crane(*mutate)
    keys[image.repository] = content
    keys_file.write_text(json.dumps(keys, indent=1, sort_keys=True) + "\n")
    return f"{reg.host}/{image.repository.split(':')[0]}@{crane('digest', ref)}"
