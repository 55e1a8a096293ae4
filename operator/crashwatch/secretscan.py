"""Secret tokens found by Yelp's detect-secrets plugins, in bounded windows of a line.

detect-secrets (Apache-2.0, PyPI ``detect-secrets``) keeps the shapes of many vendors' tokens
(GitHub, GitLab, Slack, Stripe, AWS key ids, JWTs, SendGrid, npm, PyPI, OpenAI, Discord,
Twilio, ...). Each token plugin is a ``RegexBasedDetector``: its ``denylist`` patterns say where
a token may be and its ``analyze_string`` says whether a piece of text is one (the JWT plugin,
for one, decodes the candidate). This module runs the patterns to find where, asks the plugin
to confirm each match, and returns the spans to mask: the secret group of the match (the
40-character value after ``aws ... key``) or the whole match, widened to the whole token that
holds it (Stripe's pattern matches the first 24 characters of a longer key). Positions are
needed because ``analyze_string`` yields the first group of a pattern when it has one, which for
GitHub's and GitLab's patterns is only the prefix (``ghp``, ``glpat``).

Left out, on purpose:
- ``KeywordDetector``: in its config-file mode the value runs to the end of the line
  (``password: x connecting to db:5432`` masks everything after the colon), in its default
  mode it wants quotes (``password=x`` passes). crashwatch.redact handles the key/value forms
  itself, one value at a time.
- ``Base64HighEntropyString``, ``HexHighEntropyString``: on the 4,439 distinct log and kubelet
  lines of eval/, examples/ and the kubelet notes they flag 382 strings, mostly words and pod
  names.
- ``BasicAuthDetector``: crashwatch.redact masks the password of a URL, with ``@`` in it too.
- ``IPPublicDetector``: an address is evidence (which host did not answer), not a secret.
- ``PrivateKeyDetector``: it reports the ``BEGIN ... PRIVATE KEY`` header, not the key;
  crashwatch.redact masks what follows the header.

The patterns are Python ``re`` and some are quadratic on crafted input (OpenAI's on a run of
``sk-``). They are only ever given windows of at most ``WINDOW`` characters, overlapping by
``OVERLAP``, so their cost per window is bounded and the cost of a line is linear in its
length; a token of up to ``OVERLAP`` characters lies whole in some window.
"""

from __future__ import annotations

from collections.abc import Iterator
from string import ascii_letters, digits

from detect_secrets.plugins.artifactory import ArtifactoryDetector
from detect_secrets.plugins.aws import AWSKeyDetector
from detect_secrets.plugins.azure_storage_key import AzureStorageKeyDetector
from detect_secrets.plugins.base import RegexBasedDetector
from detect_secrets.plugins.cloudant import CloudantDetector
from detect_secrets.plugins.discord import DiscordBotTokenDetector
from detect_secrets.plugins.github_token import GitHubTokenDetector
from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
from detect_secrets.plugins.ibm_cloud_iam import IbmCloudIamDetector
from detect_secrets.plugins.ibm_cos_hmac import IbmCosHmacDetector
from detect_secrets.plugins.jwt import JwtTokenDetector
from detect_secrets.plugins.mailchimp import MailchimpDetector
from detect_secrets.plugins.npm import NpmDetector
from detect_secrets.plugins.openai import OpenAIDetector
from detect_secrets.plugins.pypi_token import PypiTokenDetector
from detect_secrets.plugins.sendgrid import SendGridDetector
from detect_secrets.plugins.slack import SlackDetector
from detect_secrets.plugins.softlayer import SoftlayerDetector
from detect_secrets.plugins.square_oauth import SquareOAuthDetector
from detect_secrets.plugins.stripe import StripeDetector
from detect_secrets.plugins.telegram_token import TelegramBotTokenDetector
from detect_secrets.plugins.twilio import TwilioKeyDetector

WINDOW = 512
OVERLAP = 128
# A secret group shorter than this is a prefix (``ghp``), not the secret: the whole match is.
MIN_VALUE = 8

PLUGINS: tuple[RegexBasedDetector, ...] = (
    AWSKeyDetector(),
    ArtifactoryDetector(),
    AzureStorageKeyDetector(),
    CloudantDetector(),
    DiscordBotTokenDetector(),
    GitHubTokenDetector(),
    GitLabTokenDetector(),
    IbmCloudIamDetector(),
    IbmCosHmacDetector(),
    JwtTokenDetector(),
    MailchimpDetector(),
    NpmDetector(),
    OpenAIDetector(),
    PypiTokenDetector(),
    SendGridDetector(),
    SlackDetector(),
    SoftlayerDetector(),
    SquareOAuthDetector(),
    StripeDetector(),
    TelegramBotTokenDetector(),
    TwilioKeyDetector(),
)

# What a token is made of: a found value is widened over these (``=`` only to the right, as
# base64 padding: ``key=sk_live_...`` keeps its key).
_TOKEN = frozenset(ascii_letters + digits + "_-+/.~")
_TOKEN_END = _TOKEN | {"="}
_EDGE = " \t\"'`=:,;"


def windows(text: str) -> Iterator[str]:
    """``text`` in pieces of at most WINDOW characters, each overlapping the next by OVERLAP."""
    if len(text) <= WINDOW:
        yield text
        return
    step = WINDOW - OVERLAP
    for start in range(0, len(text) - OVERLAP, step):
        yield text[start : start + WINDOW]


def found_spans(text: str) -> list[tuple[int, int]]:
    """Spans of ``text`` where a plugin's pattern matched and the plugin confirmed a secret."""
    spans: list[tuple[int, int]] = []
    offset = 0
    for window in windows(text):
        for plugin in PLUGINS:
            for pattern in plugin.denylist:
                for m in pattern.finditer(window):
                    if not _confirms(plugin, m.group(0)):
                        continue
                    groups = [g for g in range(1, (pattern.groups or 0) + 1) if m.group(g)]
                    if sum(len(m.group(g)) for g in groups) < MIN_VALUE:
                        groups = [0]
                    for g in groups:
                        start, end = _trimmed(window, *m.span(g))
                        if end - start >= MIN_VALUE:
                            spans.append((offset + start, offset + end))
        offset += WINDOW - OVERLAP
    return spans


def _confirms(plugin: RegexBasedDetector, candidate: str) -> bool:
    return any(True for _ in plugin.analyze_string(candidate))


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start] in _EDGE:
        start += 1
    while end > start and text[end - 1] in _EDGE:
        end -= 1
    return start, end


def secret_spans(text: str) -> list[tuple[int, int]]:
    """Sorted, disjoint ``(start, end)`` spans of ``text`` that hold a secret token: what the
    plugins found, each widened to the token around it. A span that starts inside a token
    already widened is not widened again: each character is walked over at most once."""
    widened: list[tuple[int, int]] = []
    for start, end in sorted(found_spans(text)):
        low = widened[-1][1] if widened else 0
        if start < low:
            if end <= low:
                continue
            start = low
        while start > low and text[start - 1] in _TOKEN:
            start -= 1
        while end < len(text) and text[end] in _TOKEN_END:
            end += 1
        widened.append((start, end))
    return _merge(widened)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
