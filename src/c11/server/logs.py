"""Logging setup for the server: access log lines never show query strings (they may hold secrets).

Verification links and OIDC callbacks carry tokens and codes in the query; only the path is logged.
"""

from __future__ import annotations

import logging


class StripQuery(logging.Filter):
    """Drop the query string from uvicorn access log records."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


def install_filters() -> None:
    """Attach the filters to the uvicorn access logger (call after uvicorn configured logging)."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, StripQuery) for f in logger.filters):
        logger.addFilter(StripQuery())


def configure(level: str) -> None:
    """Send the `c11` loggers to stderr in uvicorn's style, at `level`, and filter the access log."""
    logger = logging.getLogger("c11")
    logger.setLevel(level.upper())
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
    install_filters()
