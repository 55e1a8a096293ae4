"""Issue #13: the evidence a finding is published with says why. A long kubelet or runtime
message is bounded to its head (what failed) and its end (why), with the clause that holds
the why kept when a long hint follows it (:func:`crashwatch.diagnosis.evidence.shorten`).

Kubelet and runtime text quoted from public threads carries the thread's URL next to it.
"""

from __future__ import annotations

import random

import pytest

from crashwatch.diagnosis.context import EVIDENCE_LINE_CHARS, clean_evidence, clean_summary
from crashwatch.diagnosis.evidence import ELIDED, shorten

# https://github.com/bank-vaults/bank-vaults/issues/1640
GHCR_401 = (
    'Failed to pull image "ghcr.io/banzaicloud/vault-env:1.15.0": rpc error: code = Unknown '
    'desc = failed to pull and unpack image "ghcr.io/banzaicloud/vault-env:1.15.0": failed to '
    'copy: httpReaderSeeker: failed open: unexpected status code https://ghcr.io/v2/banzaicloud/'
    'vault-env/blobs/sha256:766c52bc20840538b2aa166e6f4ab30906ccb620ef58d7f49394eec61fbfe144: '
    '401 Unauthorized - Server message: unauthorized: unauthenticated: User cannot be '
    'authenticated with the token provided.')
# https://github.com/ciiiii/cloudflare-docker-proxy/issues/85
REGISTRY_TIMEOUT = (
    'Failed to pull image "registry.k8s.io/ingress-nginx/controller:v1.11.2": rpc error: code = '
    'DeadlineExceeded desc = failed to pull and unpack image "registry.k8s.io/ingress-nginx/'
    'controller:v1.11.2": failed to resolve reference "registry.k8s.io/ingress-nginx/'
    'controller:v1.11.2": failed to do request: Head "https://us-west2-docker.pkg.dev/v2/'
    'k8s-artifacts-prod/images/ingress-nginx/controller/manifests/v1.11.2": dial tcp '
    '74.125.203.82:443: i/o timeout')
# https://github.com/rootsongjc/kubernetes-handbook/issues/218
NOT_A_DIRECTORY = (
    'failed to start container "influxdb": Error response from daemon: oci runtime error: '
    'container_linux.go:247: starting container process caused "process_linux.go:364: '
    'container init caused \\"rootfs_linux.go:54: mounting \\\\\\"/var/lib/kubelet/pods/'
    'e76b2d64-5a5e-11e8-b179-080027c9c16c/volumes/kubernetes.io~configmap/influxdb-config'
    '\\\\\\" to rootfs \\\\\\"/var/lib/docker/overlay2/e50b7f32607a04096a36d2d4852a7d6fdf4d733'
    '24ab447a2f780d8b1c7f8efb2/merged\\\\\\" at \\\\\\"/var/lib/docker/overlay2/e50b7f32607a0'
    '4096a36d2d4852a7d6fdf4d73324ab447a2f780d8b1c7f8efb2/merged/etc/config.toml\\\\\\" caused '
    '\\\\\\"not a directory\\\\\\"\\"" : Are you trying to mount a directory onto a file (or '
    'vice-versa)? Check if the specified host path exists and is the expected type')


@pytest.mark.parametrize("message", [GHCR_401, REGISTRY_TIMEOUT, NOT_A_DIRECTORY],
                         ids=["ghcr-401", "registry-timeout", "not-a-directory"])
def test_a_long_runtime_message_keeps_what_failed_and_why(message: str) -> None:
    out = shorten(f"event Warning Failed (x15): {message}", EVIDENCE_LINE_CHARS)
    assert len(out) <= EVIDENCE_LINE_CHARS
    assert out.startswith("event Warning Failed (x15): ")
    assert ELIDED in out
    why = {GHCR_401: "401 Unauthorized", REGISTRY_TIMEOUT: "74.125.203.82:443: i/o timeout",
           NOT_A_DIRECTORY: "not a directory"}[message]
    assert why in out


def test_the_telling_clause_survives_a_long_hint_after_it() -> None:
    # "not a directory" sits before a 150-character hint: the plain head + end cut of a
    # 300-character line would drop it
    out = shorten(NOT_A_DIRECTORY, 200)
    assert len(out) <= 200
    assert out.startswith('failed to start container "influxdb"')
    assert "not a directory" in out
    assert out.endswith("is the expected type")


def test_the_registry_timeout_keeps_the_address_it_timed_out_on() -> None:
    out = shorten(REGISTRY_TIMEOUT, 160)
    assert len(out) <= 160
    assert out.startswith('Failed to pull image "registry.k8s.io/ingress-nginx/controller')
    assert out.endswith("dial tcp 74.125.203.82:443: i/o timeout")


def test_a_short_line_is_left_alone() -> None:
    line = "log: nginx: [emerg] unknown directive \"server \" in /etc/nginx/conf.d/default.conf:1"
    assert shorten(line, EVIDENCE_LINE_CHARS) is line


def test_cuts_fall_between_words() -> None:
    out = shorten(GHCR_401, 200)
    head, _, tail = out.partition(ELIDED)
    assert GHCR_401.startswith(head) and GHCR_401.endswith(tail)
    assert GHCR_401[len(head)] == " "


def test_shorten_never_exceeds_its_limit() -> None:
    rng = random.Random(13)
    words = ["failed", "to", "pull:", "401 Unauthorized", "not a directory", "x" * 90, ":",
             "i/o timeout", "https://example.org/" + "a" * 70, "Permission denied", " "]
    for _ in range(2000):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 60)))
        limit = rng.randint(1, 400)
        out = shorten(text, limit)
        assert len(out) <= max(limit, 1), (limit, text)
        if len(text) <= limit:
            assert out == text


def test_published_evidence_and_summaries_are_bounded_and_keep_the_end() -> None:
    line = f"event Warning Failed (x15): {GHCR_401}"
    (published,) = clean_evidence([line])
    assert len(published) <= EVIDENCE_LINE_CHARS
    assert "401 Unauthorized" in published
    summary = clean_summary("The registry refuses the image: " + GHCR_401 * 2)
    assert len(summary) <= 400
    assert summary.endswith("authenticated with the token provided.")
