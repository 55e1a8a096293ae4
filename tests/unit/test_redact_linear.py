"""Redaction stays linear-time on any input (issue #12, defect 2's share in redact.py).

The tests hold the mechanism, not a clock: every pattern crashwatch.redact matches text with is
RE2 (linear in the text, no backtracking); the detect-secrets plugins (Python ``re``) only ever
see bounded windows; the raw text read and the cleaned text scanned are bounded. Figures are
printed by bench/bench_redact.py.
"""

import ast
import inspect

import pytest
import re2

from crashwatch import redact as redact_module
from crashwatch import secretscan
from crashwatch.redact import PATTERNS, RAW_LIMIT, RULES, SCAN_LIMIT, redact_uncached

GITHUB = "ghp" + "_" + "aB3dE5fG7hJ9kL1mN2pQ4rS6tU8vW0xY2z4A"
JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9" + "." + "eyJzdWIiOiIxMjM0NTY3ODkwIn0" + "."
       + "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U")
RE2_TYPE = type(re2.compile("a"))

# lines that made backtracking engines quadratic or worse (the old URL-password pattern took
# 2.1 s on 64,000 characters of "a"), and runs of every pattern's own prefix
ADVERSARIAL = [
    "a" * 70_000,
    "a:" * 35_000,
    "://a:" * 14_000,
    "sk-" * 23_000,
    "password=" * 8_000,
    '"password":"' * 6_000,
    "xoxb-1-" * 10_000,
    "eyJ" * 23_000,
    "\x1b[" * 35_000,
    "\x1b]" * 35_000,
    "\x1b[1mx" * 14_000,
    "\x9d0;t" * 14_000,
    "Authorization: " * 5_000,
    "mysql -p" * 9_000,
    "-----BEGIN PRIVATE KEY-----" * 2_600,
    "AUTHAUTHAUTHAUTH " * 4_000,
    "aUTH :" * 12_000,
]


def test_every_pattern_redact_matches_with_is_re2():
    assert PATTERNS
    for pattern in PATTERNS:
        assert isinstance(pattern, RE2_TYPE), pattern.pattern
    assert {id(p) for p, _ in RULES} <= {id(p) for p in PATTERNS}
    # RE2 refuses what would need backtracking: there is no silent fallback to it
    with pytest.raises(re2.error):
        re2.compile(r"(a+)\1")


def test_redact_module_never_imports_a_backtracking_engine():
    for module in (redact_module, secretscan):
        tree = ast.parse(inspect.getsource(module))
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        imported |= {node.module or "" for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom)}
        assert not imported & {"re", "regex"}, (module.__name__, imported)


class _SpyPattern:
    def __init__(self, pattern, seen):
        self._pattern = pattern
        self._seen = seen
        self.groups = pattern.groups

    def finditer(self, text):
        self._seen.append(len(text))
        return self._pattern.finditer(text)


class _SpyPlugin:
    """A detect-secrets plugin that records the length of every text it is given."""

    def __init__(self, plugin, seen):
        self._plugin = plugin
        self._seen = seen
        self.denylist = [_SpyPattern(p, seen) for p in plugin.denylist]

    def analyze_string(self, text):
        self._seen.append(len(text))
        return self._plugin.analyze_string(text)


@pytest.mark.parametrize("line", ADVERSARIAL, ids=lambda s: repr(s[:12]))
def test_the_detectors_only_see_bounded_windows(monkeypatch, line):
    seen: list[int] = []
    monkeypatch.setattr(secretscan, "PLUGINS",
                        tuple(_SpyPlugin(p, seen) for p in secretscan.PLUGINS))
    cleaned: list[int] = []
    scanned: list[int] = []
    real_clean, real_mask = redact_module._clean, redact_module.mask

    def clean(text):
        cleaned.append(len(text))
        return real_clean(text)

    def mask(text):
        scanned.append(len(text))
        return real_mask(text)

    monkeypatch.setattr(redact_module, "_clean", clean)
    monkeypatch.setattr(redact_module, "mask", mask)
    redact_uncached(line + " " + line, 400)
    assert seen, "the detectors ran"
    assert max(seen) <= secretscan.WINDOW
    assert max(cleaned) <= RAW_LIMIT
    assert max(scanned) <= SCAN_LIMIT + 2  # and " …"
    windows = len(list(secretscan.windows("x" * max(scanned))))
    patterns = sum(len(p.denylist) for p in secretscan.PLUGINS)
    assert windows <= SCAN_LIMIT // (secretscan.WINDOW - secretscan.OVERLAP) + 1
    assert sum(seen) <= (windows * patterns * secretscan.WINDOW
                         + sum(s for s in seen if s < secretscan.WINDOW))


def test_a_token_across_any_window_boundary_is_found():
    """Windows overlap by more than a token is long: wherever a token falls, one window
    holds it whole."""
    step = secretscan.WINDOW - secretscan.OVERLAP
    for at in range(step - len(GITHUB) - 2, 2 * step + 2):
        text = "a" * at + " " + GITHUB + " " + "b" * 600
        out = redact_uncached(text, 10_000)
        assert GITHUB[:12] not in out, at


@pytest.mark.parametrize("overhang", [1, 8, 20, 39])
def test_the_scan_cut_never_leaves_half_a_token_in_view(overhang):
    """Masks shorten the text, so what lay past the scan cut can come into view: the word the
    cut falls in is dropped, never shown in part."""
    prefix = " ".join([JWT] * (SCAN_LIMIT // (len(JWT) + 1)))
    filler = "x" * (SCAN_LIMIT + overhang - len(prefix) - 2 - len(GITHUB))
    text = prefix + " " + filler + " " + GITHUB + " tail"
    # the token ends ``overhang`` characters past the cut
    assert text.index(GITHUB) + len(GITHUB) == SCAN_LIMIT + overhang
    out = redact_uncached(text, 1000)
    assert out.endswith("…")
    assert "ghp_" not in out
    assert JWT not in out


def test_the_cache_keeps_only_the_head_of_a_long_line(monkeypatch):
    """The cache holds 4,096 lines: each is keyed by at most RAW_LIMIT characters, not by
    the whole (2 MiB) line a container wrote."""
    keys: list[int] = []
    real = redact_module._redact_cached

    def cached(head, limit, cut_before):
        keys.append(len(head))
        return real(head, limit, cut_before)

    monkeypatch.setattr(redact_module, "_redact_cached", cached)
    out = redact_module.redact("panic: " + "A" * (2 * 1024 * 1024), 300)
    assert keys == [RAW_LIMIT]
    assert out.startswith("panic: AAAA") and len(out) == 300
