"""Cleaning, redaction and bounding of anything copied out of a log or a message.

Text leaves the process as annotations, Events and CLI output. Two functions:

- ``printable(text, limit)``: for every published string. ANSI escape sequences (CSI such as
  colours, OSC such as a terminal's title, DCS/SOS/PM/APC strings, two-character escapes) are
  removed; the remaining C0 and C1 control characters, DEL, U+FFFD, lone surrogates and every
  invisible format character (zero-width, bidirectional overrides, Unicode tags) are dropped;
  every run of whitespace becomes one space; the result is at most ``limit`` characters.
- ``redact(text, limit)``: the same cleaning, then secrets are masked with ``***``, then the
  length is bounded. Masked: the value of a secret-named key in JSON (also escaped inside a
  JSON string), Python/Ruby/Go/Node object dumps, logfmt, YAML-ish ``key: value``, query
  strings and ``--flag=``/``--flag value`` options; ``Authorization``, ``Cookie`` and
  ``Set-Cookie`` headers; passwords in URLs; ``mysql -p<pw>``, ``redis-cli -a``, ``mongo -p``,
  ``docker login -p``, ``sshpass -p``, ``curl -u user:pw``; ``Bearer``/``Basic``/``token``
  credentials; env-style names such as ``AWS_SECRET_ACCESS_KEY`` followed by a random-looking
  value; JWTs; PEM private keys; vendor tokens (the detect-secrets plugins of
  crashwatch.secretscan, plus a few shapes they lack).

Ordinary words survive: ``password authentication failed for user "app"``, ``(using password:
YES)``, ``secret "db-creds" not found``, ``failed to fetch anonymous token: unexpected status``
keep their meaning (a key's value is not masked when it is a yes/no/null word, a reference
such as ``${DB_PASSWORD}``, an HTTP status, or, after a plain word and ``: ``, the start of a
sentence).

Linear time on any input: every pattern here is RE2 (google-re2), whose matching time is linear
in the text; detect-secrets' ``re`` patterns only ever see bounded windows
(crashwatch.secretscan); at most ``RAW_LIMIT`` characters of raw text are read and at most
``SCAN_LIMIT`` characters of cleaned text are scanned for secrets (each, or 4 x ``limit`` when
that is more; the text past the cut is dropped, and so is the word the cut falls in unless it
is longer than any secret: a cut never leaves half a secret in view).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import lru_cache
from typing import Protocol, cast

import re2

from crashwatch import secretscan

MASK = "***"
MAX_LINE = 300
ELLIPSIS = "…"
RAW_LIMIT = 16384
SCAN_LIMIT = 4096
LONGEST_SECRET = 512

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

    def search(self, text: str) -> Match | None: ...

    def sub(self, repl: str, text: str) -> str: ...


PATTERNS: list[Pattern] = []
"""Every pattern this module matches untrusted text with (all RE2: tests hold this)."""


def _compile(pattern: str) -> Pattern:
    compiled = cast(Pattern, re2.compile(pattern))
    PATTERNS.append(compiled)
    return compiled


# --------------------------------------------------------------------------- cleaning

# No sequence here takes a space outside an OSC/DCS string (intermediates are ! to /, not
# space to /): a stray ESC before a space never eats the word after it. A run of sequences is
# one match (RE2 is linear either way; fewer matches are fewer Python objects).
_ANSI = _compile(
    r"(?:"
    # CSI (colours, cursor moves): ESC [ or 8-bit CSI, parameters, intermediates, final byte
    r"(?:\x1b\[|\x{9b})[0-?]*[!-/]*[@-~]"
    # OSC (window title, hyperlinks), terminated by BEL, ESC \ or ST
    r"|(?:\x1b\]|\x{9d})[^\x07\x1b\x{9c}]*(?:\x07|\x1b\\|\x{9c})"
    # DCS, SOS, PM, APC strings
    r"|(?:\x1b[PX^_]|[\x{90}\x{98}\x{9e}\x{9f}])[^\x1b\x{9c}]*(?:\x1b\\|\x{9c})"
    # any other escape (charset selection, ESC 7, an unterminated OSC's opening): ESC,
    # intermediates, final byte
    r"|\x1b[!-/]*[0-~]"
    r")+"
)


_GONE = "\x00"  # where a dropped character (or escape sequence) was
_BREAK = "\n"


def _cleaning_table() -> dict[int, str | None]:
    """Code point -> replacement for ``str.translate``: every control (Cc) and format (Cf)
    character dropped (NUL, BEL, ESC, C1, DEL, zero-width and bidirectional marks, soft
    hyphen, Unicode tags: all the Cf characters lie in planes 0, 1 and 14), and U+FFFD, U+FFFE,
    U+FFFF with them (marked ``_GONE``); line and paragraph breaks, tabs and the spaces other
    than U+0020 (no-break, wide) marked ``_BREAK``."""
    table: dict[int, str | None] = {}
    for code in (*range(0x20000), *range(0xE0000, 0xE1000)):
        if unicodedata.category(chr(code)) in ("Cc", "Cf"):
            table[code] = _GONE
        elif code >= 0x80 and unicodedata.category(chr(code)) == "Zs":
            table[code] = _BREAK
    for code in (0xFFFD, 0xFFFE, 0xFFFF):
        table[code] = _GONE
    for code in (0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F, 0x85, 0x2028, 0x2029):
        table[code] = _BREAK
    return table


_CLEAN = _cleaning_table()


def _clean(text: str) -> str:
    """Escape sequences and invisible characters out; a line break or tab, with the spaces
    around it, to one space. Spaces within a line are the text's own, kept as they are: a
    double space can be the news (Redis's ``>>> 'slaveof  6379'``: the master's host is
    missing between the two), and a reader searching for a quoted line must find it."""
    if not text.isascii():
        # lone surrogates (undecodable bytes kept by surrogateescape) cannot be UTF-8: RE2 and
        # every JSON writer downstream would fail on them
        text = text.encode("utf-8", "ignore").decode("utf-8")
    if "\x1b" in text or not text.isascii():
        text = _ANSI.sub(_GONE, text)
    text = text.translate(_CLEAN)
    if _GONE in text:
        # Dropped, not replaced: a key split by an invisible character is whole again; the
        # spaces either side of what went are one, as they looked.
        joined: list[str] = []
        spaced = False  # does what is joined so far end with a space?
        for piece in text.split(_GONE):
            if spaced and piece.startswith(" "):
                piece = piece[1:]
            if piece:
                joined.append(piece)
                spaced = piece.endswith(" ")
        text = "".join(joined)
    lines = (line.strip(" ") for line in text.split(_BREAK))
    return " ".join(line for line in lines if line)


def _bound(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    return text[: limit - 1] + ELLIPSIS


def _cut(text: str, limit: int, *, cut_before: bool = False) -> str:
    """At most ``limit`` characters. The word the cut falls in is dropped when it could be a
    secret cut in two (at most LONGEST_SECRET characters of it are left): the scan would no
    longer recognise it. A longer word is a blob (``panic: AAAA...``) and keeps its head.
    ``cut_before``: ``text`` is already the head of something longer."""
    if len(text) <= limit and not cut_before:
        return text
    head = text[:limit]
    space = head.rfind(" ")
    if len(head) - space - 1 <= LONGEST_SECRET:
        head = head[: max(space, 0)]
    return head + " " + ELLIPSIS if head else ELLIPSIS


def printable(text: str, limit: int) -> str:
    """``text`` fit to publish: no escape sequence, no control or invisible character, a line
    break or tab (with the spaces around it) one space, a line's own spaces kept, at most
    ``limit`` characters. Never raises on a ``str``."""
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


def _shell_location_follows(text: str, start: int, end: int) -> bool:
    """``New password: /entrypoint.sh: line 51: exec: : not found`` (a prompt printed with
    no newline, then a shell's error): a script the shell names with its line, no secret."""
    if text[start:start + 1] not in ("/", ".") or not text.startswith(": line ", end):
        return False
    number, colon, _ = text[end + 7:end + 16].partition(": ")
    return bool(colon) and number.isdigit()


#: A quoted name and a lower-case word (``"matrix-secret" not found``, its quotes escaped when
#: the message is inside a JSON string) ...
_QUOTED_NAME_THEN_WORD = _compile(
    r"^ (?:\\*\"[\w.:/-]{1,253}\\*\"|\\*'[\w.:/-]{1,253}\\*') [a-z]")
QUOTED_NAME_REACH = 260
"""How far after a value a quoted object name (at most 253 characters) is looked for."""
#: ... after the kind of a Kubernetes object, as the kubelet and the API server name one.
_OBJECT_KINDS = frozenset({
    "secret", "configmap", "serviceaccount", "persistentvolumeclaim", "persistentvolume",
    "pod", "service", "node", "namespace", "object", "storageclass", "csidriver",
})


def _names_an_object(text: str, start: int, end: int) -> bool:
    """``volume "secret" : secret "matrix-secret" not found``: the value is an object's kind,
    then its name and what is wrong with it (the kubelet's words), no secret."""
    return (text[start:end].lower() in _OBJECT_KINDS
            and _QUOTED_NAME_THEN_WORD.search(text[end : end + QUOTED_NAME_REACH]) is not None)


#: Between a quoted key and its value: a colon alone with a space on each side (the kubelet's
#: ``volume "x" : secret``; JSON's ``"password": secret`` has none before the colon).
_COLON_ONLY = _compile(r"^\\*[\"']\s+:\s+$")
#: Before the quoted key: the kubelet's word ``volume`` (``MountVolume.SetUp failed for volume``).
_VOLUME_BEFORE = _compile(r"(?i)(?:^|[^\w])volume\s+\\*[\"']$")


def _quoted_key_colon(text: str, key: Span, value_start: int) -> bool:
    """``volume "secret" : secret ...``: the kubelet quotes the volume's name after the word
    ``volume`` and puts a space and a colon after it; in ``password=secret "db" failed``,
    ``password: secret ...`` or ``"password": secret "x" y`` the value is the key's
    (``secret`` is a common password), whatever follows."""
    return (key[0] > 0 and text[key[0] - 1] in "\"'"
            and _VOLUME_BEFORE.search(text[max(0, key[0] - 12) : key[0]]) is not None
            and _COLON_ONLY.search(text[key[1] : value_start]) is not None)


#: The operating system's error messages (``strerror``, as Go, Rust and the C library word
#: them) that follow a path and a colon: ``open /etc/app/token: permission denied``, ``dial
#: unix /run/secrets/token: connect: connection refused``.
_OS_ERROR = _compile(
    r"(?i)^(?:(?:connect|bind|read|write|accept|sendmsg|recvmsg): )?"
    r"(?:read-only file system|permission denied|no such file or directory|"
    r"not a directory|is a directory|file exists|operation not permitted|"
    r"device or resource busy|no space left on device|too many open files|"
    r"input/output error|directory not empty|file name too long|invalid argument|"
    r"(?:operation )?not supported|bad file descriptor|disk quota exceeded|text file busy|"
    r"too many levels of symbolic links|transport endpoint is not connected|"
    r"stale (?:nfs )?file handle|invalid cross-device link|no such device(?: or address)?|"
    r"resource temporarily unavailable|connection refused|not found|does not exist)\b")
OS_ERROR_REACH = 40
"""How much of the text after a path's colon an operating system's error is looked for in."""


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
# a bare value: no quote, backtick, space or &; neither opening with a bracket or < nor ending
# with punctuation (``password=x,`` keeps its comma; ``secret: {`` and ``<nil>`` are no value)
_BARE_VALUE = (
    r"(?:(?i:bearer|basic)\s+)?"
    r"(?P<bv>[^\s&\"'`<>{}\[\](),;]"
    r"(?:[^\s&\"'`]*[^\s&\"'`,;.:)\]}])?)"
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
    r"|(?i:\bmongo(?:sh|dump|restore|import|export|stat|top)?\b)[^|;&]*?\s-p\s+"
    r"|(?i:\b(?:docker|podman|buildah|skopeo|helm|oras|crane)\b)[^|;&]*?\slogin\b[^|;&]*?"
    r"\s-p\s+"
    r"|(?i:\bsshpass\b)\s+-p\s*)"
    r"(?:\"(?P<dv>[^\"]*)\"|'(?P<sv>[^']*)'|(?P<bv>[^\s\"']\S*))"
)
# curl -u user:password, wget/curl --user user:password: the part after the colon
_CLI_USER_PASSWORD = _compile(
    r"(?i:\b(?:curl|wget|http|xh)\b)[^|;&]*?\s(?:-u|--user)(?:\s+|=)"
    r"[\"']?(?P<user>[^\s:\"']*):(?P<v>[^\s\"']+)"
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
        if m.span(bare_group)[0] >= 0 and _names_an_object(text, start, end) \
                and _quoted_key_colon(text, m.span(key_group), start):
            return []
        if sep_group is not None:
            sep = m.group(sep_group) or ""
            segments = _segments(key)
            if sep == ":" and segments[-1] in _PLURALS:
                return []  # ``bin/rails credentials:edit``: a command, not a value
            if ":" in sep and "=" not in sep and m.span(bare_group)[0] >= 0:
                if _http_status_follows(text, start, end) or \
                        _shell_location_follows(text, start, end):
                    return []
                key_start = m.span(key_group)[0]
                if key_start > 0 and text[key_start - 1] == "/" and \
                        _OS_ERROR.search(text[start : start + OS_ERROR_REACH]) is not None:
                    # the last part of a path and the operating system's error about it (Go's
                    # ``mkdir /run/secrets: read-only file system``, ``open /etc/token:
                    # permission denied``), not a key and its value; a key path and its value
                    # (``secret/data/app/password: hunter2``) is one
                    return []
                if sep != ":" and len(segments) == 1 and _sentence_follows(text, start, end):
                    return []
        quote = text[end : end + 1]
        if m.span(bare_group)[0] >= 0 and value[-1] in "=:>" and quote and quote in "'\"":
            # ``auth: password=>"x"``: a value ending in a separator owns the quoted string after it
            close = text.find(quote, end + 1, end + 1 + LONGEST_SECRET)
            end = close + 1 if close >= 0 else min(len(text), end + 1 + LONGEST_SECRET)
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


def _cli_user_password(m: Match) -> Iterable[Span]:
    start, end = m.span(_CLI_USER_PASSWORD.groupindex["v"])
    return [(start, end)] if _worth_masking(m.string[start:end]) else []


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
    (_CLI_USER_PASSWORD, _cli_user_password),
    (_SPACED_KEY, _spaced_key),
    (_SCHEME_CREDENTIAL, _scheme_credential),
    (_JWT, _whole),
    (_TOKEN_SHAPES, _whole),
)


def _mask_spans(text: str, spans: Iterable[Span]) -> str:
    """``text`` with each span, overlapping or touching ones joined, replaced by MASK."""
    pieces: list[str] = []
    at = 0
    for start, end in sorted(spans):
        if end <= start:
            continue
        if pieces and start <= at:
            at = max(at, end)  # joins the mask before it
            continue
        pieces.append(text[at:start])
        pieces.append(MASK)
        at = end
    if not pieces:
        return text
    pieces.append(text[at:])
    return "".join(pieces)


# A match's value may start another match of the same rule, which finditer would skip:
# ``aUTH :password=>"x"`` (a key that names no secret, whose value holds a pair),
# ``AUTH AWS_SECRET_ACCESS_KEY x`` (a word, then the real key), ``bearer token abc123``. When a
# rule lets a match go, the rule reads its value again, and at the top level LONGEST_SECRET
# characters after it, where a pair that starts in the value may end; deeper, the value alone.
# Each level reads at most what the level above read, plus bounded tails: linear.
_NESTING = 4
_NESTED_VALUES: dict[int, list[int]] = {
    id(_QUOTED_KEY): _groups(_QUOTED_KEY, *_VALUES),
    id(_BARE_KEY): _groups(_BARE_KEY, *_VALUES),
    id(_FLAG_VALUE): _groups(_FLAG_VALUE, "dv", "sv", "bv"),
    id(_SPACED_KEY): _groups(_SPACED_KEY, "v"),
    id(_SCHEME_CREDENTIAL): _groups(_SCHEME_CREDENTIAL, "v"),
}


_CANDIDATE_WORDS = ("pass", "pwd", "pw", "secret", "token", "key", "credential", "auth", "sig",
                    "dsn", "conn", "session", "bearer", "basic")


def _may_start_a_match(pattern: Pattern, value: str) -> bool:
    """Whether a match of ``pattern`` can start inside ``value``: each needs a key word (or
    ``bearer``/``basic``), and a key and value pair a separator."""
    lowered = value.lower()
    if not any(word in lowered for word in _CANDIDATE_WORDS):
        return False
    if id(pattern) in (id(_QUOTED_KEY), id(_BARE_KEY)):
        return any(sep in value for sep in "=:")
    return True


def _rule_spans(pattern: Pattern, spans_of: Callable[[Match], Iterable[Span]], text: str,
                depth: int = 0) -> list[Span]:
    spans: list[Span] = []
    values = _NESTED_VALUES.get(id(pattern))
    for m in pattern.finditer(text):
        found = list(spans_of(m))
        spans.extend(found)
        if found or values is None or depth >= _NESTING:
            continue
        value = _first_span(m, values)
        if value is None or not _may_start_a_match(pattern, text[value[0] : value[1]]):
            continue
        inner = text[value[0] : value[1] + (LONGEST_SECRET if depth == 0 else 0)]
        spans.extend((value[0] + start, value[0] + end)
                     for start, end in _rule_spans(pattern, spans_of, inner, depth + 1))
    return spans


def mask(text: str) -> str:
    """Mask the secrets in one cleaned line (no length bound: see ``redact``). Every rule and
    the detectors look at the same text and their spans are masked together, so that no rule's
    mask hides a secret from another."""
    spans = [span for pattern, spans_of in RULES for span in _rule_spans(pattern, spans_of, text)]
    spans.extend(secretscan.secret_spans(text))
    return _mask_spans(text, spans)


def _redact(head: str, limit: int, cut_before: bool) -> str:
    cleaned = _clean(head)
    scanned = _cut(cleaned, max(SCAN_LIMIT, 4 * limit), cut_before=cut_before)
    return _bound(mask(scanned), limit)


# keyed by the head of the text only: a 2 MiB line costs the cache 16 Ki characters
_redact_cached = lru_cache(maxsize=4096)(_redact)


def redact(text: str, limit: int = MAX_LINE) -> str:
    """Clean ``text`` (see ``printable``), mask the secrets in it and bound its length.
    Cached: a failing pod is diagnosed again on each of its events, with the same lines."""
    raw_limit = max(RAW_LIMIT, 4 * limit)
    return _redact_cached(text[:raw_limit], limit, len(text) > raw_limit)


def redact_uncached(text: str, limit: int = MAX_LINE) -> str:
    """``redact`` without its cache (benchmarks, tests)."""
    raw_limit = max(RAW_LIMIT, 4 * limit)
    return _redact(text[:raw_limit], limit, len(text) > raw_limit)
