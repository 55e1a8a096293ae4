"""Cleaning, redaction and bounding of anything copied out of a log or a message.

Text leaves the process as annotations, Events and CLI output. Two functions:

- ``printable(text, limit)``: for every published string. ANSI escape sequences (CSI such as
  colours, OSC such as a terminal's title, DCS/SOS/PM/APC strings, two-character escapes) are
  removed; the remaining C0 and C1 control characters, DEL, U+FFFD, lone surrogates, invisible
  format characters (zero-width, bidirectional overrides, Unicode tags) are dropped; every run
  of whitespace becomes one space; the result is at most ``limit`` characters.
- ``redact(text, limit)``: the same cleaning, then secrets are masked with ``***``, then the
  length is bounded. Masked: the value of a secret-named key in JSON (also escaped inside a
  JSON string), Python/Ruby/Go/Node object dumps, logfmt, YAML-ish ``key: value``, query
  strings and ``--flag=``/``--flag value`` options; ``Authorization``, ``Cookie`` and
  ``Set-Cookie`` headers; passwords in URLs; ``mysql -p<pw>``, ``redis-cli -a``,
  ``sshpass -p``; ``Bearer``/``Basic``/``token`` credentials; env-style names such as
  ``AWS_SECRET_ACCESS_KEY`` followed by a random-looking value; JWTs; PEM private keys; vendor
  tokens (the detect-secrets plugins of crashwatch.secretscan, plus a few shapes they lack).

Ordinary words survive: ``password authentication failed for user "app"``, ``(using password:
YES)``, ``secret "db-creds" not found``, ``failed to fetch anonymous token: unexpected status``
keep their meaning (a key's value is not masked when it is a yes/no/null word, a reference
such as ``${DB_PASSWORD}``, an HTTP status, or, after a plain word and ``: ``, the start of a
sentence).

Linear time on any input: every pattern here is RE2 (google-re2), whose matching time is linear
in the text; detect-secrets' ``re`` patterns only ever see bounded windows
(crashwatch.secretscan); at most ``RAW_LIMIT`` characters of raw text are read and at most
``SCAN_LIMIT`` characters of cleaned text are scanned for secrets (the text past that, and
the word the cut falls in, are dropped: a cut never leaves half a secret in view).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import lru_cache
from typing import Protocol, cast

import re2

from crashwatch import secretscan

MASK = "***"
MAX_LINE = 300
ELLIPSIS = "…"
RAW_LIMIT = 65536
SCAN_LIMIT = 4096

Span = tuple[int, int]


class Match(Protocol):
    """The part of ``re2._Match`` used here (google-re2 ships no type hints)."""

    @property
    def string(self) -> str: ...

    def group(self, group: int | str = 0) -> str | None: ...

    def span(self, group: int = 0) -> Span: ...


class Pattern(Protocol):
    """The part of ``re2._Regexp`` used here."""

    @property
    def pattern(self) -> str: ...

    @property
    def groupindex(self) -> Mapping[str, int]: ...

    def finditer(self, text: str) -> Iterator[Match]: ...

    def sub(self, repl: str, text: str) -> str: ...


PATTERNS: list[Pattern] = []
"""Every pattern this module matches untrusted text with (all RE2: tests hold this)."""


def _compile(pattern: str) -> Pattern:
    compiled = cast(Pattern, re2.compile(pattern))
    PATTERNS.append(compiled)
    return compiled


# --------------------------------------------------------------------------- cleaning

_ANSI = _compile(
    # CSI (colours, cursor moves): ESC [ or 8-bit CSI, parameters, intermediates, final byte
    r"(?:\x1b\[|\x{9b})[0-?]*[ -/]*[@-~]"
    # OSC (window title, hyperlinks), terminated by BEL, ESC \ or ST
    r"|(?:\x1b\]|\x{9d})[^\x07\x1b\x{9c}]*(?:\x07|\x1b\\|\x{9c})"
    # DCS, SOS, PM, APC strings
    r"|(?:\x1b[PX^_]|[\x{90}\x{98}\x{9e}\x{9f}])[^\x1b\x{9c}]*(?:\x1b\\|\x{9c})"
    # any other escape (charset selection, ESC 7, an unterminated OSC's opening): ESC,
    # intermediates, final byte
    r"|\x1b[ -/]*[0-~]"
)


def _cleaning_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    controls = [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)]
    invisible = [
        0x00AD,  # soft hyphen
        0x061C,  # Arabic letter mark
        0x180E,  # Mongolian vowel separator
        *range(0x200B, 0x2010),  # zero-width space/joiners, LRM, RLM
        *range(0x202A, 0x202F),  # bidirectional embeddings and overrides
        *range(0x2060, 0x2070),  # word joiner, invisible operators, bidi isolates
        0xFEFF,  # zero-width no-break space (BOM)
        *range(0xFFF9, 0xFFFC),  # interlinear annotation
        0xFFFD,  # replacement character (undecodable bytes)
        0xFFFE,
        0xFFFF,
        *range(0xE0000, 0xE0080),  # tags
    ]
    for code in (*controls, *invisible):
        table[code] = None
    for code in (0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x85, 0x2028, 0x2029):
        table[code] = " "
    return table


_CLEAN = _cleaning_table()


def _clean(text: str) -> str:
    """Escape sequences and invisible characters out, whitespace runs to one space."""
    if not text.isascii():
        # lone surrogates (undecodable bytes kept by surrogateescape) cannot be UTF-8: RE2 and
        # every JSON writer downstream would fail on them
        text = text.encode("utf-8", "ignore").decode("utf-8")
    if "\x1b" in text or not text.isascii():
        text = _ANSI.sub("", text)
    return " ".join(text.translate(_CLEAN).split())


def _bound(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    return text[: limit - 1] + ELLIPSIS


def _cut(text: str, limit: int, *, cut_before: bool = False) -> str:
    """At most ``limit`` characters, dropping the word the cut falls in (it may be half of a
    secret that the scan would no longer recognise). ``cut_before``: ``text`` is already the
    head of something longer."""
    if len(text) <= limit and not cut_before:
        return text
    head = text[:limit]
    space = head.rfind(" ")
    if space > 0:
        head = head[:space]
    return head + " " + ELLIPSIS


def printable(text: str, limit: int) -> str:
    """``text`` fit to publish: no escape sequence, no control or invisible character, single
    spaces, at most ``limit`` characters. Never raises on a ``str``."""
    return _bound(_clean(text[: max(RAW_LIMIT, 4 * limit)]), limit)


# --------------------------------------------------------------------------- secret keys

# A key that may name a secret; which ones do is decided in _is_secret_key.
_KEY = (
    r"[A-Za-z0-9_.\-]{0,48}"
    r"(?i:pass|pwd|pw|secret|token|key|credential|auth|sig|dsn|conn|session)"
    r"[A-Za-z0-9_.\-]{0,48}"
)
_SECRET_WORDS = (
    "password", "passwd", "passphrase", "secret", "token", "apikey", "accesskey",
    "privatekey", "credential", "sessionid", "signature", "connectionstring", "connstr",
)
_SECRET_SEGMENTS = frozenset({"pass", "pwd", "pw", "auth", "sig", "dsn"})
_KEY_OWNERS = frozenset({
    "access", "account", "api", "app", "auth", "client", "db", "database", "encryption",
    "hmac", "jwt", "license", "master", "private", "secret", "service", "session", "shared",
    "signing", "ssh", "storage",
})
# the last part of a key that names something about a secret, not the secret
_NOT_SECRET_LAST = frozenset({
    "age", "count", "dir", "directory", "enabled", "endpoint", "env", "expiration", "expire",
    "expired", "expires", "expiry", "field", "file", "format", "header", "hint", "kind", "len",
    "length", "limit", "location", "max", "min", "mode", "name", "names", "path", "policy",
    "prompt", "provider", "ref", "refs", "required", "rotation", "size", "source", "stdin",
    "strength", "timeout", "tokens", "ttl", "type", "types", "uri", "url", "used", "valid",
    "version",
})
# handled by their own rules (a scheme word before the credential, cookie names)
_OWN_RULE = ("authorization", "cookie")
_PLURALS = frozenset({"credentials", "secrets", "tokens", "passwords", "keys"})


def _segments(key: str) -> list[str]:
    """``AWS_SECRET_ACCESS_KEY`` -> aws, secret, access, key; ``apiKey`` -> api, key."""
    parts: list[str] = []
    word = ""
    prev = ""
    for ch in key:
        if ch in "_.-":
            parts.append(word)
            word = ""
        elif ch.isupper() and (prev.islower() or prev.isdigit()):
            parts.append(word)
            word = ch
        else:
            word += ch
        prev = ch
    parts.append(word)
    return [p.lower() for p in parts if p]


def _is_secret_key(key: str) -> bool:
    segments = _segments(key)
    if not segments or segments[-1] in _NOT_SECRET_LAST:
        return False
    compact = "".join(segments)
    if any(word in compact for word in _OWN_RULE) or compact.startswith("tokeniz"):
        return False
    if any(word in compact for word in _SECRET_WORDS):
        return True
    if any(s in _SECRET_SEGMENTS for s in segments):
        return True
    return segments[-1] == "key" and len(segments) > 1 and segments[-2] in _KEY_OWNERS


# --------------------------------------------------------------------------- values

_NOT_SECRET_VALUES = frozenset({
    "", "yes", "no", "y", "n", "true", "false", "on", "off", "null", "none", "nil", "<nil>",
    "(null)", "nan", "undefined", "empty", "unset", "missing", "required", "invalid",
    "expired", "redacted", "[redacted]", "<redacted>", "hidden", "<hidden>", "[hidden]",
    "masked", "<masked>", "filtered", "[filtered]", "sensitive", "<sensitive>",
})
_PLACEHOLDER_CHARS = frozenset("*xX•#")
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


def _is_reference(value: str) -> bool:
    """``$DB_PASSWORD``, ``${DB_PASSWORD}``, ``$(DB_PASSWORD)``: a name, not the secret."""
    if not value.startswith("$") or len(value) > 130:
        return False
    inner = value[1:]
    if inner[:1] in ("{", "(") and inner[-1:] in ("}", ")"):
        inner = inner[1:-1]
    return bool(inner) and all(ch in _NAME_CHARS for ch in inner)


def _worth_masking(value: str) -> bool:
    lowered = value.lower()
    if lowered in _NOT_SECRET_VALUES or _is_reference(value):
        return False
    return not all(ch in _PLACEHOLDER_CHARS for ch in value)


def _classes(value: str) -> int:
    return (
        any(ch.islower() for ch in value)
        + any(ch.isupper() for ch in value)
        + any(ch.isdigit() for ch in value)
        + any(ch in "+/=_-.~" for ch in value)
    )


def _looks_random(value: str) -> bool:
    """A generated secret rather than a word or a name: long, with digits and mixed case or
    symbols (``wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY``, a hex key)."""
    if len(value) < 16 or not any(ch.isdigit() for ch in value):
        return False
    return _classes(value) >= 3 or (len(value) >= 32 and _classes(value) >= 2)


def _looks_like_credential(value: str) -> bool:
    """After ``Bearer``/``Basic``/``token``: a credential, not the next word of a sentence."""
    if len(value) < 8:
        return False
    has_upper = any(ch.isupper() for ch in value)
    has_lower = any(ch.islower() for ch in value)
    return any(ch.isdigit() for ch in value) or (has_upper and has_lower)


def _http_status_follows(text: str, start: int, end: int) -> bool:
    """``token: 401 Unauthorized``: a status code and its reason, not a secret."""
    value = text[start:end]
    return (
        len(value) == 3 and value.isdigit() and value[0] in "12345"
        and text[end : end + 1] == " " and text[end + 1 : end + 2].isupper()
    )


def _sentence_follows(text: str, start: int, end: int) -> bool:
    """``fetch anonymous token: unexpected status``: the value is a word and more words
    follow (not ``key=value`` pairs): Go's error chain or prose, not a key and its value."""
    value = text[start:end]
    if not (value.isalpha() and value.islower()):
        return False
    rest = text[end : end + 40]
    if not rest.startswith(" ") or not rest[1:2].isalpha() or not rest[1:2].islower():
        return False
    word_end = 1
    while word_end < len(rest) and (rest[word_end].isalnum() or rest[word_end] in "_.-"):
        word_end += 1
    return rest[word_end : word_end + 1] not in ("=", ":")


# --------------------------------------------------------------------------- rules

Rule = tuple[Pattern, Callable[[Match], Iterable[Span]]]


def _groups(pattern: Pattern, *names: str) -> list[int]:
    return [pattern.groupindex[name] for name in names]


def _first_span(m: Match, indexes: list[int]) -> Span | None:
    for index in indexes:
        start, end = m.span(index)
        if start >= 0:
            return start, end
    return None


_QUOTED_VALUE = (
    r"\\+\"(?P<ev>(?:[^\"\\]|\\[^\"])*)(?:\\+\")?"  # inside an escaped JSON string: \"x\"
    r"|\"(?P<dv>(?:[^\"\\]|\\.)*)\"?"  # "x" (unterminated: to the end)
    r"|'(?P<sv>(?:[^'\\]|\\.)*)'?"  # 'x'
)
# a bare value: no quote, backtick, space, &, <, >; neither opening with a bracket nor ending with
# punctuation (``password=x,`` keeps its comma; ``secret: {`` is no value)
_BARE_VALUE = (
    r"(?:(?i:bearer|basic)\s+)?"
    r"(?P<bv>[^\s&\"'`<>{}\[\](),;]"
    r"(?:[^\s&\"'`<>]*[^\s&\"'`<>,;.:)\]}])?)"
)
_SEPARATOR = r"\s*(?:=>|:=|==?|:)\s*"

_PEM = _compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?P<v>.*?)"
    r"(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|$)"
)
_AUTH_SCHEMES = (
    r"bearer|basic|token|digest|negotiate|ntlm|hmac|apikey|api-key|key|sso-key|otp|"
    r"aws4-hmac-sha256|splunk|gitlab-token|dpop|mac"
)
_AUTHORIZATION = _compile(
    r"(?i)(?:proxy-)?authorization\\*[\"']?\s*[:=]\s*\\*[\"']?\[?"
    r"(?:(?P<scheme>" + _AUTH_SCHEMES + r")\s+)?(?P<v>[^\s\"'\\,\]]+)"
)
_COOKIE = _compile(
    r"(?i)\b(?:set-)?cookie\\*[\"']?\s*[:=]\s*\\*[\"']?\[?"
    r"(?P<v>[^\s\"'\\;,\]]+(?:;\s?[^\s\"'\\;,\]]+)*)"
)
_COOKIE_ATTRIBUTES = frozenset({
    "path", "domain", "expires", "max-age", "samesite", "secure", "httponly", "partitioned",
    "priority", "version", "comment",
})
_URL_USERINFO = _compile(r"://(?P<user>[^\s:/?#@\"'<>]*)(?::(?P<pw>[^\s/\"'<>]*))?@")
_QUOTED_KEY = _compile(
    r"\\*[\"'](?P<key>" + _KEY + r")\\*[\"']" + _SEPARATOR + r"(?:" + _QUOTED_VALUE + r"|"
    + _BARE_VALUE + r")"
)
_BARE_KEY = _compile(
    r"(?P<key>" + _KEY + r")(?P<sep>" + _SEPARATOR + r")(?:" + _QUOTED_VALUE + r"|"
    + _BARE_VALUE + r")"
)
_FLAG_VALUE = _compile(
    r"(?:^|\s)(?P<key>--?[A-Za-z][A-Za-z0-9_\-]{0,48})\s+"
    r"(?:\"(?P<dv>[^\"]*)\"|'(?P<sv>[^']*)'|(?P<bv>[^\s\-\"']\S*))"
)
_FLAG_PROSE = frozenset({
    "a", "an", "and", "as", "flag", "for", "in", "instead", "is", "must", "not", "of",
    "option", "or", "the", "to", "was", "with",
})
_CLI_PASSWORD = _compile(
    r"(?:(?i:\b(?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlcheck|mysqlshow|mysqlpump|"
    r"mysqlslap|mariadb|mariadb-dump|mariadb-admin)\b)[^|;&]*?\s-p"
    r"|(?i:\bredis-cli\b)[^|;&]*?\s(?:-a|--pass)\s+"
    r"|(?i:\bsshpass\b)\s+-p\s*)"
    r"(?:\"(?P<dv>[^\"]*)\"|'(?P<sv>[^']*)'|(?P<bv>[^\s\"']\S*))"
)
_SPACED_KEY = _compile(r"(?P<key>" + _KEY + r")\s+(?P<v>[^\s\"'<>]{16,})")
_SCHEME_CREDENTIAL = _compile(
    r"(?i)\b(?:bearer|basic|token)\s+(?P<v>[A-Za-z0-9._~+/\-]+=*)(?P<next>[^\s,;)\]}'`]?)"
)
_JWT = _compile(r"\beyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}(?:\.[A-Za-z0-9_\-+/=]*)?")
# vendor token shapes that detect-secrets 1.5 does not know
_TOKEN_SHAPES = _compile(
    r"\b(?:github_pat_[A-Za-z0-9_]{22,}"
    r"|x(?:app|oxe)-[A-Za-z0-9\-]{10,}"
    r"|npm_[A-Za-z0-9]{36}"
    r"|sk-(?:proj|ant|svcacct|admin)-[A-Za-z0-9_\-]{20,}"
    r"|AIza[0-9A-Za-z_\-]{35}"
    r"|hf_[A-Za-z0-9]{30,}"
    r"|(?:ASIA|AKIA)[0-9A-Z]{16})"
)


def _pem(m: Match) -> Iterable[Span]:
    start, end = m.span(_PEM.groupindex["v"])
    return [(start, end)] if end > start else []


def _authorization(m: Match) -> Iterable[Span]:
    start, end = m.span(_AUTHORIZATION.groupindex["v"])
    value = m.string[start:end]
    has_scheme = m.span(_AUTHORIZATION.groupindex["scheme"])[0] >= 0
    if not _worth_masking(value) or not (has_scheme or _looks_like_credential(value)):
        return []
    return [(start, end)]


def _cookie(m: Match) -> Iterable[Span]:
    start, end = m.span(_COOKIE.groupindex["v"])
    spans: list[Span] = []
    at = start
    for part in m.string[start:end].split(";"):
        name, eq, value = part.partition("=")
        if eq and name.strip().lower() not in _COOKIE_ATTRIBUTES and value:
            value_start = at + len(name) + 1
            spans.append((value_start, value_start + len(value)))
        at += len(part) + 1
    return spans


def _url_userinfo(m: Match) -> Iterable[Span]:
    pw_start, pw_end = m.span(_URL_USERINFO.groupindex["pw"])
    if pw_start >= 0:
        value = m.string[pw_start:pw_end]
        return [(pw_start, pw_end)] if value and not _is_reference(value) else []
    user_start, user_end = m.span(_URL_USERINFO.groupindex["user"])
    return [(user_start, user_end)] if _looks_random(m.string[user_start:user_end]) else []


_VALUES = ("ev", "dv", "sv", "bv")


def _key_value(pattern: Pattern) -> Callable[[Match], Iterable[Span]]:
    values = _groups(pattern, *_VALUES)
    key_group = pattern.groupindex["key"]
    bare_group = pattern.groupindex["bv"]
    sep_group = pattern.groupindex.get("sep")

    def spans(m: Match) -> Iterable[Span]:
        key = m.group(key_group) or ""
        span = _first_span(m, values)
        if span is None or not _is_secret_key(key):
            return []
        start, end = span
        text = m.string
        value = text[start:end]
        if not _worth_masking(value) or _is_reference(value + text[end : end + 1]):
            return []
        if sep_group is not None:
            sep = m.group(sep_group) or ""
            segments = _segments(key)
            if sep == ":" and segments[-1] in _PLURALS:
                return []  # ``bin/rails credentials:edit``: a command, not a value
            if ":" in sep and "=" not in sep and m.span(bare_group)[0] >= 0:
                if _http_status_follows(text, start, end):
                    return []
                if sep != ":" and len(segments) == 1 and _sentence_follows(text, start, end):
                    return []
        return [(start, end)]

    return spans


def _flag_value(m: Match) -> Iterable[Span]:
    span = _first_span(m, _groups(_FLAG_VALUE, "dv", "sv", "bv"))
    if span is None or not _is_secret_key(m.group("key") or ""):
        return []
    value = m.string[span[0] : span[1]]
    if value.lower() in _FLAG_PROSE or not _worth_masking(value):
        return []
    return [span]


def _cli_password(m: Match) -> Iterable[Span]:
    span = _first_span(m, _groups(_CLI_PASSWORD, "dv", "sv", "bv"))
    if span is None or not _worth_masking(m.string[span[0] : span[1]]):
        return []
    return [span]


def _spaced_key(m: Match) -> Iterable[Span]:
    key = m.group("key") or ""
    start, end = m.span(_SPACED_KEY.groupindex["v"])
    # a compound name (``AWS_SECRET_ACCESS_KEY``), never a plain word: ``Secret shop/db-x9``
    if len(_segments(key)) < 2 or not _is_secret_key(key):
        return []
    return [(start, end)] if _looks_random(m.string[start:end]) else []


def _scheme_credential(m: Match) -> Iterable[Span]:
    start, end = m.span(_SCHEME_CREDENTIAL.groupindex["v"])
    if m.group("next") or not _looks_like_credential(m.string[start:end]):
        # ``Bearer realm="..."`` and ``bearer password_file=/x`` are parameters, ``basic
        # auth`` a phrase
        return []
    return [(start, end)]


def _whole(m: Match) -> Iterable[Span]:
    return [m.span(0)]


RULES: tuple[Rule, ...] = (
    (_PEM, _pem),
    (_AUTHORIZATION, _authorization),
    (_COOKIE, _cookie),
    (_URL_USERINFO, _url_userinfo),
    (_QUOTED_KEY, _key_value(_QUOTED_KEY)),
    (_BARE_KEY, _key_value(_BARE_KEY)),
    (_FLAG_VALUE, _flag_value),
    (_CLI_PASSWORD, _cli_password),
    (_SPACED_KEY, _spaced_key),
    (_SCHEME_CREDENTIAL, _scheme_credential),
    (_JWT, _whole),
    (_TOKEN_SHAPES, _whole),
)


def _mask_spans(text: str, spans: Iterable[Span]) -> str:
    pieces: list[str] = []
    at = 0
    for start, end in sorted(spans):
        if end <= at:
            continue
        start = max(start, at)
        pieces.append(text[at:start])
        pieces.append(MASK)
        at = end
    if not pieces:
        return text
    pieces.append(text[at:])
    return "".join(pieces)


def mask(text: str) -> str:
    """Mask the secrets in one cleaned line (no length bound: see ``redact``)."""
    for pattern, spans_of in RULES:
        spans = [span for m in pattern.finditer(text) for span in spans_of(m)]
        if spans:
            text = _mask_spans(text, spans)
    return _mask_spans(text, secretscan.secret_spans(text))


@lru_cache(maxsize=4096)
def redact(text: str, limit: int = MAX_LINE) -> str:
    """Clean ``text`` (see ``printable``), mask the secrets in it and bound its length.
    Cached: a failing pod is diagnosed again on each of its events, with the same lines."""
    raw_limit = max(RAW_LIMIT, 4 * limit)
    cleaned = _clean(text[:raw_limit])
    scanned = _cut(cleaned, max(SCAN_LIMIT, 4 * limit), cut_before=len(text) > raw_limit)
    return _bound(mask(scanned), limit)
