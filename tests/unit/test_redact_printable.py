"""Published text is printable, free of escape sequences, and bounded (issue #12, defect 4)."""

import unicodedata

import pytest
from helpers import evidence_text, only, run

from crashwatch.redact import printable, redact

ESC = "\x1b"
BEL = "\x07"
# what a hostile log line did: set the reader's terminal title, ring its bell, hide text
OSC_TITLE = f"{ESC}]0;owned by crashwatch{BEL}"
HOSTILE = (f"{OSC_TITLE}{ESC}[31mFATAL{ESC}[0m: VAULT_ADDR must be set\x00{BEL} "
           "\ufffd\ufffd done")


def assert_printable(text: str) -> None:
    for ch in text:
        assert unicodedata.category(ch) not in ("Cc", "Cs", "Cf"), repr(ch)
        assert ch != "\ufffd", repr(text)
    assert text == text.strip()


def test_a_hostile_log_line_reaches_summary_and_evidence_printable(crashing):
    """NUL, BEL, ESC (an OSC title sequence among them) and U+FFFD in a crashing container's
    log: the finding still names the variable, and neither its summary (the summary annotation
    and the Event message) nor its evidence carries one of them."""
    f = only(run(*crashing(HOSTILE + "\n")))
    assert f.details["variable"] == "VAULT_ADDR"
    assert_printable(f.summary)
    for line in f.evidence:
        assert_printable(line)
    assert "owned by crashwatch" not in f.summary + evidence_text(f)
    assert "FATAL: VAULT_ADDR must be set done" in evidence_text(f)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # an OSC sequence that sets the terminal title, ended by BEL or by ST (ESC \)
        (f"before {ESC}]0;pwned{BEL}after", "before after"),
        (f"before {ESC}]2;pwned{ESC}\\after", "before after"),
        # an OSC 8 hyperlink: the link goes, its text stays
        (f"see {ESC}]8;;https://evil.example{ESC}\\docs{ESC}]8;;{ESC}\\ now", "see docs now"),
        # colours and cursor moves (CSI)
        (f"{ESC}[1;31mERROR{ESC}[0m boom{ESC}[2K{ESC}[1A", "ERROR boom"),
        # 8-bit CSI and OSC
        ("\x9b31mred\x9b0m \x9d0;title\x9c!", "red !"),
        # DCS string, charset selection, save cursor
        (f"a{ESC}P1$r0m{ESC}\\b{ESC}(Bc{ESC}7d", "abcd"),
        # an escape cut off at the end of the line
        (f"tail {ESC}[31", "tail 31"),
        # C0 and C1 controls, DEL
        ("nul\x00 bel\x07 bs\x08 del\x7f nel\x85end", "nul bel bs del nel end"),
        # undecodable bytes (U+FFFD), lone surrogates from surrogateescape
        ("caf\ufffd \udcc3\udca9t\u00e9", "caf t\u00e9"),
        # invisible characters that disguise text: bidi override, zero-width space, tags
        ("pass\u200bword \u202eevil\u202c \U000e0041x", "password evil x"),
        # whitespace of every kind, once
        (" a\t\tb\r\n c\u2028d\u00a0\u00a0e ", "a b c d e"),
        # a line's own spaces are kept (Redis: the master's host is missing between the two);
        # around what was dropped, the spaces either side are one
        (">>> 'slaveof  6379'", ">>> 'slaveof  6379'"),
        ("set\x00\x07 \ufffd\ufffd done", "set done"),
        (f"x {ESC}[0m y", "x y"),
        # text that needs nothing stays as it is, non-ASCII letters too
        ("naïve café — 東京 ✓", "naïve café — 東京 ✓"),
    ],
)
def test_printable_strips_escapes_and_controls(text, expected):
    out = printable(text, 1000)
    assert out == expected
    assert_printable(out)


def test_printable_bounds_the_length():
    assert printable("x" * 5000, 100) == "x" * 99 + "…"
    assert len(printable("word " * 5000, 1024)) == 1024
    assert printable("short", 100) == "short"
    assert printable("anything", 0) == ""


def test_a_line_of_only_controls_is_empty():
    assert printable(f"\x00\x01{ESC}[0m{BEL}\ufffd", 100) == ""


def test_redact_cleans_as_printable_does():
    assert redact(HOSTILE, limit=400) == printable(HOSTILE, 400)


def test_a_secret_split_by_invisible_characters_is_masked():
    """Dropping, not replacing, the invisible characters puts the key back together first."""
    out = redact(f"pass\u200bword={ESC}[1mhunter2{ESC}[0m user=app", limit=300)
    assert out == "password=*** user=app"
