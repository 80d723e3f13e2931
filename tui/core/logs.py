"""The support log: rotating, under the platform's log folder, timings and request ids only."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from pydantic import SecretStr

from tui.core.redact import PROCESS, Redactor
from tui.core.settings import Settings

LOG_NAME = "stopline.log"


class RedactSecrets(logging.Filter):
    """Last line of defence: replace any secret that slips into a record — the configured
    ones, and every one a provider of this process holds or was issued (bearer tokens)."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._configured = Redactor(secrets, shared=False)

    def filter(self, record: logging.LogRecord) -> bool:
        if self._configured or PROCESS:
            record.msg, record.args = self._redact(record.getMessage()), None
            if record.exc_info and not record.exc_text:
                # The traceback's exception messages are text that reaches the file too.
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = self._redact(record.exc_text)
            if record.stack_info:
                record.stack_info = self._redact(record.stack_info)
        return True

    def _redact(self, text: str) -> str:
        return PROCESS.text(self._configured.text(text))


def configured_secrets(settings: Settings) -> list[str]:
    from tui.core.providers import registry

    sections = settings.providers()
    found = [
        value.get_secret_value()
        for spec in registry.specs()
        if spec.key in sections
        for name in spec.secrets
        if isinstance(value := getattr(sections[spec.key], name, None), SecretStr)
    ]
    if settings.journal_url is not None:
        from urllib.parse import unquote, urlsplit

        try:
            password = urlsplit(settings.journal_url.get_secret_value()).password
        except ValueError:
            password = None
        if password:
            found.extend({password, unquote(password)})
    return found


def setup_logging(settings: Settings) -> Path | None:
    """Attach the rotating file handler to the ``stopline`` logger, and to the root logger
    for the libraries' warnings (a connection pool's retries would otherwise reach stderr
    through logging's last resort); return the log path."""
    logger = logging.getLogger("stopline")
    root = logging.getLogger()
    for owner in (logger, root):
        for handler in list(owner.handlers):
            if getattr(handler, "_stopline", False):
                owner.removeHandler(handler)
                handler.close()
    path = settings.resolved_log_dir() / LOG_NAME
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=1_000_000, backupCount=3, encoding="utf-8", delay=True
        )
    except OSError:
        return None
    if path.exists():
        path.chmod(0o600)
    handler._stopline = True  # type: ignore[attr-defined]
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s pid=%(process)d %(message)s")
    )
    handler.addFilter(RedactSecrets(configured_secrets(settings)))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    root.addHandler(handler)  # at the root's own level: warnings and worse
    return path
