"""Every ``PSGBOT_*`` setting, validated once at start-up.

Settings come from the environment or a ``.env`` file. Each has a safe default so that a fresh
clone runs offline with no configuration at all; a bad value stops start-up with one line that
names the variable and what it expects (see :func:`load_settings`).
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    AnyUrl,
    BeforeValidator,
    Field,
    HttpUrl,
    SecretStr,
    TypeAdapter,
    UrlConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = PROJECT_ROOT / "data"
PRODUCTION_FEED = "https://perusupportgroup.org.uk/feed/"
SAMPLE_FEED_NAME = "sample/psg-news.xml"
MIN_DELIVERY_RETENTION = timedelta(days=7)
# A configured feed's URL or path at most (psgbot.db.models sizes the column by it).
FEED_SOURCE_MAX = 2000
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{32,256}")
# The schemes operators and providers hand out, mapped to the async driver psgbot ships with.
ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}
DATABASE_URL_FORMS = (
    "sqlite:///path/to/psgbot.db or postgresql://user:password@host:5432/dbname "
    "(also postgres://, sqlite+aiosqlite://, postgresql+asyncpg://)"
)


class ConfigError(Exception):
    """A setting has a value the bot cannot run with; the message is meant for the operator."""


def _split_commas(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _checked_as(kind: Any, expected: str) -> AfterValidator:
    """Validates a string as the pydantic type ``kind`` and keeps the string; a bad value is
    reported as ``expected`` (one line the operator can act on, never pydantic's own)."""
    adapter: TypeAdapter[Any] = TypeAdapter(kind)

    def check(value: str) -> str:
        try:
            adapter.validate_python(value)
        except ValidationError:
            raise ValueError(expected) from None
        return value

    return AfterValidator(check)


def _loopback_or_https(value: str) -> str:
    # Telegram calls only https webhooks; plain http is for a local test server.
    url = urlsplit(value)
    if url.scheme == "https" or url.hostname in {"127.0.0.1", "localhost", "::1"}:
        return value
    raise ValueError("an https URL (plain http only for 127.0.0.1 or localhost)")


# A comma-separated list in the environment ("1,2"), a list from code.
CommaSeparated = BeforeValidator(_split_commas)
HttpUrlText = Annotated[
    str, _checked_as(HttpUrl, "an http(s) URL such as http://localhost:8081/bot")
]
WebhookUrl = Annotated[
    str,
    _checked_as(HttpUrl, "an https URL (plain http only for 127.0.0.1 or localhost)"),
    AfterValidator(_loopback_or_https),
]
ProxyUrl = Annotated[
    str,
    _checked_as(
        Annotated[AnyUrl, UrlConstraints(allowed_schemes=["http", "https", "socks5"])],
        "a proxy URL such as http://proxy.example:3128",
    ),
]
TimeZoneName = Annotated[str, _checked_as(ZoneInfo, "an IANA time zone such as Europe/London")]
LogLevel = Annotated[
    Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], BeforeValidator(str.upper)
]
LogFormat = Annotated[Literal["plain", "json"], BeforeValidator(str.lower)]
# The console's user runs Telegram in this language (its language_code): es tries the bot in
# Spanish.
ConsoleLanguage = Annotated[Literal["en", "es"], BeforeValidator(str.lower)]


class Settings(BaseSettings):
    """The bot's configuration; field names map to ``PSGBOT_<NAME>``."""

    model_config = SettingsConfigDict(
        env_prefix="PSGBOT_",
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
    )

    token: SecretStr | None = Field(
        default=None, description="Bot token from BotFather; unset runs the offline console"
    )
    # repr=False: the URL may hold the database password.
    database_url: str = Field(
        default="",
        repr=False,
        description="sqlite:///FILE or postgresql://USER:PASSWORD@HOST/DB; default ./var/",
    )
    feeds: Annotated[list[str], NoDecode, CommaSeparated] = Field(
        default_factory=list, description="comma-separated feed URLs or file paths"
    )
    poll_interval: int = Field(default=300, ge=5, le=86_400, description="seconds between polls")
    alert_max_age: timedelta = Field(
        default=timedelta(days=3), description="older items are stored but not alerted"
    )
    delivery_retention: timedelta = Field(
        default=timedelta(days=90),
        description="sent, failed and cancelled messages older than this become daily counts",
    )
    inactive_retention: timedelta = Field(
        default=timedelta(days=30),
        ge=timedelta(0),
        description="a chat that blocked or removed the bot is forgotten after this long",
    )
    rate_limit: int = Field(
        default=30, ge=0, le=1000, description="messages per second overall (0: no limit)"
    )
    claim_lease: int = Field(
        default=60,
        ge=2,
        le=3600,
        description="seconds before a dead dispatcher's claimed messages are taken over",
    )
    standby_retry: float = Field(
        default=3,
        ge=0.5,
        le=5,
        description="seconds between a standby's tries for the active role (and the active "
        "instance's checks that it still holds it)",
    )
    concurrent_updates: int = Field(
        default=64, ge=1, le=4096, description="updates handled at once (each chat in order)"
    )
    send_concurrency: int = Field(
        default=0,
        ge=0,
        le=1000,
        description="messages the dispatcher sends at once (0: rate x round trip, measured)",
    )
    paid_broadcast: bool = Field(
        default=False, description="send with allow_paid_broadcast, up to 1000 messages/s"
    )
    reminder_hours: Annotated[list[int], NoDecode, CommaSeparated] = Field(
        default_factory=lambda: [24, 1], description="hours before an event to remind"
    )
    admins: Annotated[list[int], NoDecode, CommaSeparated] = Field(
        default_factory=list, description="comma-separated Telegram user ids of the owners"
    )
    timezone: TimeZoneName = Field(
        default="Europe/London", description="the PSG's time zone (IANA name)"
    )
    log_level: LogLevel = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR")
    api_base_url: HttpUrlText | None = Field(
        default=None, description="self-hosted Bot API server, e.g. http://localhost:8081/bot"
    )
    webhook_url: WebhookUrl | None = Field(
        default=None, description="public https URL Telegram calls; unset: long polling"
    )
    webhook_secret: SecretStr | None = Field(
        default=None, description="secret Telegram sends with each webhook call"
    )
    listen: str = Field(default="127.0.0.1", description="address of the webhook listener")
    port: int = Field(default=8080, ge=1, le=65535, description="port of the webhook listener")
    metrics_port: int = Field(
        default=9090, ge=0, le=65535, description="port of /healthz and /metrics (0: off)"
    )
    http_proxy: ProxyUrl | None = Field(default=None, description="proxy for feed fetches")
    feeds_allow_private: bool = Field(
        default=False,
        description="feeds may be on loopback, private or link-local addresses (intranets)",
    )
    log_format: LogFormat = Field(default="plain", description="plain or json")
    console_language: ConsoleLanguage = Field(
        default="en", description="the offline console's Telegram language: en or es"
    )
    data_dir: Path = Field(default=DEFAULT_DATA_DIR, description="folder with texts and topics")
    var_dir: Path = Field(default=Path("var"), description="folder for the default SQLite file")

    @field_validator("feeds")
    @classmethod
    def _storable_sources(cls, value: list[str]) -> list[str]:
        if any(len(source) > FEED_SOURCE_MAX for source in value):
            raise ValueError(f"feed URLs or paths of at most {FEED_SOURCE_MAX} characters")
        return value

    @field_validator("delivery_retention")
    @classmethod
    def _keeps_a_week(cls, value: timedelta) -> timedelta:
        # /stats counts the last 7 days from the rows themselves: a purge must never reach them.
        if value < MIN_DELIVERY_RETENTION:
            raise ValueError("at least 7 days (P7D, or 604800 seconds)")
        return value

    @field_validator("database_url")
    @classmethod
    def _async_database_url(cls, value: str) -> str:
        return async_database_url(value) if value else value

    @field_validator("webhook_secret")
    @classmethod
    def _strong_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if not WEBHOOK_SECRET.fullmatch(value.get_secret_value()):
            raise ValueError(
                "32 to 256 characters of A-Z, a-z, 0-9, _ and - (e.g. from: openssl rand -hex 32)"
            )
        return value

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.webhook_url and self.webhook_secret is None:
            raise ValueError("PSGBOT_WEBHOOK_SECRET must be set when PSGBOT_WEBHOOK_URL is")
        if self.webhook_url and self.token is None:
            raise ValueError("PSGBOT_TOKEN must be set when PSGBOT_WEBHOOK_URL is")
        return self

    @property
    def webhook_path(self) -> str:
        """The listener's path: the path of the public URL (a reverse proxy keeps it)."""
        return urlsplit(self.webhook_url or "").path.lstrip("/")

    @property
    def api_base_file_url(self) -> str | None:
        """Files of a self-hosted Bot API server live beside its methods (/file/bot...)."""
        if not self.api_base_url:
            return None
        return self.api_base_url.removesuffix("/bot") + "/file/bot"

    @field_validator("token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        bot_id, _, secret = value.get_secret_value().partition(":")
        if not bot_id.isdigit() or len(secret) < 20:
            raise ValueError("a token from BotFather, shaped like 123456:ABC-DEF...")
        return value

    @property
    def offline(self) -> bool:
        """Without a token the bot talks to the terminal instead of Telegram."""
        return self.token is None

    @property
    def effective_poll_interval(self) -> int:
        """The offline console polls every few seconds unless told otherwise, so a newcomer
        editing the sample feed sees the alert arrive."""
        if self.offline and "poll_interval" not in self.model_fields_set:
            return 5
        return self.poll_interval

    @property
    def effective_metrics_port(self) -> int:
        """The console serves no metrics unless asked: two consoles must not fight for a port."""
        if self.offline and "metrics_port" not in self.model_fields_set:
            return 0
        return self.metrics_port

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def feed_sources(self) -> list[str]:
        """The feeds to poll: the configured ones, else the sample offline or the PSG's own."""
        if self.feeds:
            return list(self.feeds)
        if self.offline:
            return [str(self.data_dir / SAMPLE_FEED_NAME)]
        return [PRODUCTION_FEED]

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.var_dir / 'psgbot.db'}"

    @property
    def log_level_number(self) -> int:
        return logging.getLevelNamesMapping()[self.log_level]


def async_database_url(url: str) -> str:
    """The URL with psgbot's async driver: ``postgres://`` and ``postgresql://`` (what hosting
    providers hand out) become ``postgresql+asyncpg://``, ``sqlite://`` becomes
    ``sqlite+aiosqlite://``. libpq's ``sslmode`` is asyncpg's ``ssl`` (same values).

    Raises ValueError naming the accepted forms; the message never holds the URL, which may
    hold a password.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError(DATABASE_URL_FORMS) from None
    driver = ASYNC_DRIVERS.get(parsed.drivername)
    if driver is None:
        scheme = re.sub(r"[^a-z0-9+]", "", parsed.drivername.lower())[:30]
        raise ValueError(
            f"{DATABASE_URL_FORMS}, not a {scheme}:// URL" if scheme else DATABASE_URL_FORMS
        )
    parsed = parsed.set(drivername=driver)
    if driver == "postgresql+asyncpg" and "sslmode" in parsed.query:
        sslmode = parsed.query["sslmode"]
        parsed = parsed.difference_update_query(["sslmode"]).update_query_dict({"ssl": sslmode})
    return parsed.render_as_string(hide_password=False)


def load_settings(**overrides: object) -> Settings:
    """Reads the settings, turning a validation failure into one readable line per variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            name = "PSGBOT_" + str(error["loc"][0]).upper() if error["loc"] else "settings"
            if not error["loc"]:
                lines.append(str(error["msg"]).removeprefix("Value error, "))
                continue
            # Ours read "expected <message>"; pydantic's own "Input should be <what>".
            message = str(error["msg"]).removeprefix("Value error, ")
            message = message.removeprefix("Input should be ")
            lines.append(f"{name}: expected {message}")
        raise ConfigError("; ".join(lines)) from None
