"""Benchmark: crashwatch.redact on real-looking log lines and on adversarial 64 KiB lines.
Prints its figures; never asserts.

    .venv/bin/python bench/bench_redact.py [--seconds 2]

- throughput: every distinct log line and object string shipped in eval/blind and examples/
  (about 5,500 lines, no secrets), then the same lines each with a secret spliced in, through
  ``redact_uncached()`` (the cache would time a dict lookup), through
  ``redact()`` cached (a pod diagnosed again), and through ``printable()``;
- worst case: lines of 65,536 characters built from each pattern's own prefix (the old
  URL-password pattern took 2.1 s on 64,000 characters of "a"), and one 2 MiB line.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "unit"))

from test_redact import fixture_lines  # noqa: E402

from crashwatch.redact import printable, redact, redact_uncached  # noqa: E402

SECRETS = [
    'password="hunter2"',
    "Authorization: Bearer abc123def456ghi789",
    "postgresql://app:Sup3rS3cret@db:5432/shop",
    "AWS_SECRET_ACCESS_KEY wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY",
    "token " + "ghp" + "_" + "aB3dE5fG7hJ9kL1mN2pQ4rS6tU8vW0xY2z4A",
    "Cookie: session=8f14e45fceea167a5a36dedd4bea2543; theme=dark",
]
ADVERSARIAL_UNITS = ["a", "a:", "://a:", "sk-", "password=", '"password":"', "xoxb-1-", "eyJ",
                     "\x1b[", "\x1b]", "\x1b[31m", "\x1b[1mx", "\x9d0;t", "Authorization: ",
                     "mysql -p", "a ", "-----BEGIN PRIVATE KEY-----", "\x00\ufffd",
                     "Cookie: a=b;", "AUTHAUTHAUTHAUTH ", "max_tokens=1 ", "aUTH :"]


def rate(fn: Callable[[str], object], lines: list[str], seconds: float) -> tuple[float, int]:
    """Lines per second over whole passes of ``lines`` for at least ``seconds``."""
    done = 0
    start = time.perf_counter()
    while True:
        for line in lines:
            fn(line)
        done += len(lines)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed, done


def worst(line: str, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        redact_uncached(line, 300)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0, help="per throughput figure")
    args = parser.parse_args()
    print(f"python {platform.python_version()} on {platform.machine()}, {sys.platform}")

    lines = fixture_lines()
    mean = sum(len(line) for line in lines) / len(lines)
    with_secrets = [f"{line[:100]} {SECRETS[i % len(SECRETS)]} {line[100:200]}"
                    for i, line in enumerate(lines)]
    print(f"\n{len(lines)} real-looking lines, {mean:.0f} characters on average")
    uncached = lambda line: redact_uncached(line, 300)  # noqa: E731
    for name, fn, corpus in (
        ("redact, uncached, plain lines", uncached, lines),
        ("redact, uncached, each with a secret", uncached, with_secrets),
        # 2,000 lines: the cache holds 4,096 (a cyclic pass over more would miss every time)
        ("redact, cached (same lines again)", lambda line: redact(line, 300), lines[:2000]),
        ("printable", lambda line: printable(line, 1024), lines),
    ):
        per_second, done = rate(fn, corpus, args.seconds)
        print(f"  {name:40s} {per_second:10,.0f} lines/s  ({1e6 / per_second:7.1f} µs/line,"
              f" {done:,} lines)")

    print("\nadversarial lines, redact() uncached, best of 3")
    times: list[tuple[float, str]] = []
    for unit in ADVERSARIAL_UNITS:
        line = (unit * (65536 // len(unit) + 1))[:65536]
        elapsed = worst(line)
        times.append((elapsed, unit))
        print(f"  64 KiB of {unit!r:32s} {elapsed * 1000:8.1f} ms")
    big = ("sk-" * 700_000)[: 2 * 1024 * 1024]
    elapsed = worst(big, repeat=1)
    print(f"  2 MiB of {'sk-'!r:33s} {elapsed * 1000:8.1f} ms")
    slowest = max(times)
    print(f"\nslowest 64 KiB line: {slowest[1]!r} in {slowest[0] * 1000:.1f} ms")


if __name__ == "__main__":
    main()
