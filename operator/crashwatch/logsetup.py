"""structlog for crashwatch and kopf alike: JSON in the cluster, console on a terminal."""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Callable

import structlog

#: Loggers whose repeated complaints are folded: kopf's watch streams and the kubernetes
#: client's connection pool each say the same thing once per resource per retry while the
#: API server is away (about 140 lines a minute).
NOISY = ("kopf", "urllib3", "aiohttp")
REPEAT_SECONDS = 60.0
_MASKS = ((re.compile(r"https?://\S+"), "<url>"), (re.compile(r"\d+"), "#"))


class Repeats(logging.Filter):
    """Lets through one record per kind of complaint per ``REPEAT_SECONDS``; the next one
    let through says how many were folded meanwhile."""

    def __init__(self, every: float = REPEAT_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.every = every
        self.clock = clock
        self._last: dict[tuple[str, int, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or not record.name.startswith(NOISY):
            return True
        text = record.getMessage()
        for pattern, mask in _MASKS:
            text = pattern.sub(mask, text)
        key = (record.name, record.levelno, text[:160])
        now = self.clock()
        last, folded = self._last.get(key, (-self.every, 0))
        if now - last < self.every:
            self._last[key] = (last, folded + 1)
            return False
        if len(self._last) > 512:
            self._last.clear()
        self._last[key] = (now, 0)
        if folded:
            record.msg = f"{record.getMessage()} (and {folded} more like it)"
            record.args = None
        return True


def configure(fmt: str = "auto", level: str = "info") -> None:
    """Route structlog and the standard library (kopf, kubernetes) through one renderer."""
    if fmt == "auto":
        fmt = "console" if sys.stderr.isatty() else "json"
    renderer: structlog.types.Processor = (
        structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty()) if fmt == "console"
        else structlog.processors.JSONRenderer()
    )
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(Repeats())
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info, renderer],
    ))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("kubernetes").setLevel(logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
