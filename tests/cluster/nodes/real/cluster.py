"""The whole real-node cluster, started and stopped as one: the control plane (listening where
the node's pods reach it), the two registries with the test images, and the real node.

Python::

    from tests.cluster.nodes.real.cluster import RealCluster
    with RealCluster() as rc:          # builds or reuses everything, starts, waits until Ready
        rc.plane.api_client(); rc.node.name; rc.image("testapp:1"); rc.registries.private
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tests.cluster.controlplane.plane import ControlPlane, build_binaries
from tests.cluster.images.images import build_rootfs, publish
from tests.cluster.images.registry import Registries
from tests.cluster.nodes.real.node import RealNode, build_node, node_ip


@dataclass
class RealCluster:
    """Args:
        kwok_nodes: kwok nodes beside the real one (0: every pod lands on the real node).
        sync_frequency: the kubelet's; None keeps its default (1m), as real clusters run.
    """

    workdir: Path | None = None
    kwok_nodes: int = 0
    sync_frequency: str | None = None
    plane: ControlPlane = field(init=False)
    registries: Registries = field(init=False)
    node: RealNode = field(init=False)
    images: dict[str, str] = field(default_factory=dict)

    def image(self, name: str, *, private: bool = False) -> str:
        """A test image's reference by digest, e.g. ``image("shop:1")``."""
        return self.images[f"private/{name}" if private else name]

    def tag(self, name: str, *, private: bool = False) -> str:
        """A test image's reference by tag, ``127.0.0.1:PORT/name:tag``."""
        reg = self.registries.private if private else self.registries.anonymous
        return reg.ref(name)

    def __enter__(self) -> RealCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> RealCluster:
        bin_dir = build_binaries()
        cache = build_node()
        rootfs = build_rootfs()
        address = node_ip()
        self.plane = ControlPlane(
            workdir=self.workdir, bin_dir=bin_dir, nodes=self.kwok_nodes,
            bind_address="0.0.0.0", advertise_address=address,
            extra_sans=[f"IP:{address}"],
            # the node's Hostname address ("real-node") resolves nowhere: dial its IP
            extra_args={"kube-apiserver": ["--kubelet-preferred-address-types=InternalIP"]})
        self.plane.start()
        try:
            self.registries = Registries(cache, self.plane.dir / "registries").start()
            self.images = publish(self.registries, cache, rootfs)
            self.node = RealNode(self.plane, self.registries, cache, address,
                                 sync_frequency=self.sync_frequency).start()
        except BaseException:
            self._stop_parts()
            raise
        return self

    def stop(self) -> None:
        self._stop_parts()

    def _stop_parts(self) -> None:
        if hasattr(self, "node"):
            self.node.stop()
        if hasattr(self, "registries"):
            self.registries.stop()
        self.plane.stop()

    @property
    def api_address(self) -> tuple[str, int]:
        """Where pods reach the API server: this machine's address and the secure port."""
        return self.node.address, self.plane.ports["apiserver"]
