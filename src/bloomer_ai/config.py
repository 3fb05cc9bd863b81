"""Settings: the only module that reads the environment.

Variables are flat (``DATABASE_URL``, ``LILLI_API_KEY`` …) as DESIGN.md names them; in code
they are grouped in sections (``settings.db``, ``settings.ai`` …). ``get_settings()`` reads
them once per process.
"""

from __future__ import annotations

import functools
import re
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

if TYPE_CHECKING:
    from bloomer_ai.kit.encryption import Keyring

PLACEHOLDER_MARKERS = ("change-me", "changeme", "placeholder", "replace-me", "xxx")


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


def _env_config() -> SettingsConfigDict:
    return SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)


def _fits_a_cron(value: int) -> int:
    """A period a cron schedule can keep (a divisor of 60, or whole minutes dividing an
    hour): the periodic tasks' intervals."""
    from bloomer_ai.kit.time import cron_every

    cron_every(value)  # a ValueError saying what is wrong
    return value


def _split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class DatabaseSettings(BaseSettings):
    model_config = _env_config()

    # repr=False: the URLs may carry passwords.
    database_url: str | None = Field(default=None, repr=False)
    """The service's connection (its own role). Unset: the embedded PostgreSQL in
    ``<BLOOMER_DATA_DIR>/pgdata``, as DB_APP_ROLE."""
    migration_database_url: str | None = Field(default=None, repr=False)
    """The tables' owner, for migrations and operator commands; unset: DATABASE_URL (one
    role for both, which then runs without row-level security's protection)."""
    db_app_role: str = Field(default="bloomer_app", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    """The service's role, which migrations grant rights to."""
    bloomer_data_dir: Path = Path(".bloomer")
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=10, ge=0, le=200)
    db_statement_timeout_ms: int = Field(default=15_000, ge=100)

    @field_validator("database_url", "migration_database_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        from bloomer_ai.kit.database_urls import normalise_database_url

        # Fails with a ValueError naming what is wrong (never the password).
        normalise_database_url(value)
        return value

    @property
    def pgdata_dir(self) -> Path:
        return self.bloomer_data_dir / "pgdata"


@functools.lru_cache(maxsize=4)
def _keyring_of(text: str | None) -> Keyring:
    from bloomer_ai.kit.encryption import Keyring

    return Keyring.development() if text is None else Keyring.parse(text)


class AuthSettings(BaseSettings):
    model_config = _env_config()

    nextauth_secret: SecretStr | None = None
    auth_secret: SecretStr | None = None
    # Auth.js rotation: AUTH_SECRET_1 is the newest.
    auth_secret_1: SecretStr | None = None
    auth_secret_2: SecretStr | None = None
    auth_secret_3: SecretStr | None = None
    api_key_pepper: SecretStr | None = None
    """Keys API-key hashes; without it a development-only pepper is used."""
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["http://localhost:3000"]
    )
    principal_cache_seconds: float = Field(default=30.0, ge=0, le=300)
    data_encryption_key: SecretStr | None = None
    """Seals secrets at rest (AES-256-GCM): ``key-id:base64-32-bytes``, several
    comma-separated, newest first (the first seals, all open). Without it, outside
    production (which refuses to start), a development-only key is used."""

    _split_origins = field_validator("allowed_origins", mode="before")(_split_csv)

    def pepper(self) -> str:
        """The key of API-key hashes: API_KEY_PEPPER, or outside production (which refuses
        to start without it) a development-only one."""
        from bloomer_ai.kit.crypto import DEVELOPMENT_PEPPER

        return self.api_key_pepper.get_secret_value() if self.api_key_pepper else DEVELOPMENT_PEPPER

    @field_validator("data_encryption_key")
    @classmethod
    def _check_keyring(cls, value: SecretStr | None) -> SecretStr | None:
        # A placeholder is let through here (development uses its own key; production
        # refuses it by name); anything else must be a usable keyring.
        if value is not None and not _is_placeholder(value.get_secret_value()):
            from bloomer_ai.kit.encryption import Keyring, KeyringError

            try:
                Keyring.parse(value.get_secret_value())
            except KeyringError as exc:
                raise ValueError(f"DATA_ENCRYPTION_KEY: {exc}") from None
        return value

    def keyring(self) -> Keyring:
        """The keys that seal secrets at rest: DATA_ENCRYPTION_KEY, or outside production
        (which refuses to start without it) a development-only key. Parsed once per value:
        every webhook delivery and sealed read asks for it."""
        value = self.data_encryption_key
        if value is None or _is_placeholder(value.get_secret_value()):
            return _keyring_of(None)
        return _keyring_of(value.get_secret_value())

    def session_secrets(self) -> list[str]:
        """All accepted NextAuth/Auth.js secrets, newest first, without repeats."""
        ordered = [
            self.auth_secret_1,
            self.auth_secret_2,
            self.auth_secret_3,
            self.auth_secret,
            self.nextauth_secret,
        ]
        secrets: list[str] = []
        for secret in ordered:
            if secret is not None and secret.get_secret_value() not in secrets:
                secrets.append(secret.get_secret_value())
        return secrets


class AISettings(BaseSettings):
    model_config = _env_config()

    ai_provider: Literal["lilli", "openai", "builtin"] = "builtin"
    lilli_base_url: str | None = None
    lilli_api_key: SecretStr | None = None
    lilli_timeout_seconds: float = Field(default=20.0, gt=0, le=300)
    openai_base_url: str | None = None
    openai_api_key: SecretStr | None = None
    openai_model: str = "gpt-4o-mini"
    agent_max_message_chars: int = Field(default=4000, ge=1, le=100_000)
    agent_history_messages: int = Field(default=20, ge=1, le=500)
    agent_history_chars: int = Field(default=12_000, ge=100)
    agent_tool_rounds: int = Field(default=4, ge=1, le=10)
    """Rounds of shop-tool calls a chat turn may make before the model must answer."""
    agent_tool_budget_seconds: float = Field(default=30.0, gt=0, le=300)
    """Time a chat turn may spend on tool rounds; past it the model must answer."""
    campaign_copy_timeout_seconds: float = Field(default=8.0, gt=0, le=120)
    """How long campaign suggestions wait for the provider's copy before the rules' stands."""
    campaign_generation_timeout_seconds: float = Field(default=60.0, gt=0, le=600)
    """How long one generation run waits for the provider (openai, lilli)."""
    campaign_generation_max_attempts: int = Field(default=3, ge=1, le=20)
    """Runs of a generation before a provider failure fails the request."""
    campaign_generation_retry_seconds: float = Field(default=10.0, ge=0, le=3600)
    """The wait before the second run; each later wait is three times longer."""
    campaign_callback_deadline_seconds: int = Field(default=3600, ge=1, le=7 * 24 * 3600)
    """How long Lilli may take to call back a generation it accepted for later."""
    campaign_generation_lost_seconds: int = Field(default=3600, ge=300, le=7 * 24 * 3600)
    """A request still pending or processing this long, with no job left to run it, is
    failed (`generation_lost`) by the periodic expiry: nothing waits on it for ever."""
    campaign_generation_expiry_check_seconds: int = Field(default=60, ge=1, le=3600)
    """How often `campaigns.expire_generations` fails requests past their deadline (a
    divisor of 60, or whole minutes dividing an hour)."""

    _expiry_fits_a_cron = field_validator("campaign_generation_expiry_check_seconds")(_fits_a_cron)


class WebhookSettings(BaseSettings):
    model_config = _env_config()

    voice_webhook_secret: SecretStr | None = None
    twilio_auth_token: SecretStr | None = None
    vapi_server_secret: SecretStr | None = None
    support_webhook_secret: SecretStr | None = None
    chatwoot_webhook_secret: SecretStr | None = None
    """The platform's Chatwoot webhook secret (HMAC-SHA256; unset: Chatwoot is off on the
    platform route, shops' own Chatwoot integrations still work)."""
    zendesk_webhook_secret: SecretStr | None = None
    """The platform's Zendesk webhook signing secret (as CHATWOOT_WEBHOOK_SECRET)."""
    campaign_callback_secret: SecretStr | None = None
    public_base_url: str | None = None
    """The service's public URL, e.g. https://ai.example.com: Twilio signs the URL it called."""
    trust_forwarded_headers: bool = False
    """Behind a proxy: take the client's address and scheme from X-Forwarded-For/-Proto
    (sent by the proxies in FORWARDED_ALLOW_IPS only)."""
    forwarded_allow_ips: str = "127.0.0.1"
    webhook_tolerance_seconds: int = Field(default=300, ge=1, le=3600)
    webhook_retention_days: int = Field(default=7, ge=1, le=3650)
    """Raw bodies of received webhooks are kept this long, then purged (the delivery's
    id stays, so a late repeat is still recognised)."""
    voice_transcript_retention_days: int = Field(default=30, ge=1, le=3650)
    """Transcripts of phone calls are kept this long, then purged (the call stays)."""

    @staticmethod
    def accepted(secret: SecretStr | None) -> list[str]:
        """Every secret a setting holds: comma-separated, newest first, during a rotation."""
        if secret is None:
            return []
        from bloomer_ai.kit.crypto import secret_list

        return secret_list(secret.get_secret_value())


class RateLimitSettings(BaseSettings):
    model_config = _env_config()

    redis_url: str | None = None
    ratelimit_default: str = "120/minute"
    ratelimit_agent: str = "30/minute"
    ratelimit_read: str = "300/minute"
    ratelimit_write: str = "60/minute"
    ratelimit_webhooks: str = "600/minute"
    ratelimit_evaluate: str = "1200/minute"
    ratelimit_campaigns: str = "60/minute"
    ratelimit_auth_failures: str = "30/minute"
    ratelimit_key_prefix: str = "bloomer-rl"
    web_concurrency: int = Field(default=1, ge=1)

    @field_validator(
        "ratelimit_default",
        "ratelimit_agent",
        "ratelimit_read",
        "ratelimit_write",
        "ratelimit_webhooks",
        "ratelimit_evaluate",
        "ratelimit_campaigns",
        "ratelimit_auth_failures",
    )
    @classmethod
    def _is_a_rate_limit(cls, value: str) -> str:
        from limits import parse

        try:
            parse(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a rate limit (e.g. 60/minute)") from None
        return value


class FeatureSettings(BaseSettings):
    model_config = _env_config()

    ai_agent_enabled: bool = True
    ai_voice_enabled: bool = True
    ai_support_enabled: bool = True
    ai_routing_enabled: bool = True
    ai_campaigns_enabled: bool = True
    ai_tools_enabled: bool = True


class JobSettings(BaseSettings):
    """Background jobs (procrastinate on the same PostgreSQL); see docs/jobs.md."""

    model_config = _env_config()

    job_worker_in_process: bool | None = None
    """`serve` runs a worker in its own process too. Unset: on the embedded default only
    (one command gives a working system); with a server, run `bloomer-ai worker`."""
    job_worker_concurrency: int = Field(default=4, ge=1, le=200)
    """Jobs one worker runs at a time (`bloomer-ai worker --concurrency` overrides)."""
    job_poll_seconds: float = Field(default=5.0, gt=0, le=300)
    """A worker wakes at once for new jobs (LISTEN/NOTIFY); retries that fall due are
    found by polling this often."""
    job_stalled_after_seconds: float = Field(default=30.0, gt=0, le=3600)
    """A worker whose heartbeat (sent every third of this) is older is taken for dead,
    and its running jobs are retried by the periodic `jobs.retry_stalled` task."""
    job_stalled_check_seconds: int = Field(default=60, ge=1, le=3600)
    """How often `jobs.retry_stalled` runs: a divisor of 60, or whole minutes dividing an
    hour (or whole hours dividing a day)."""
    job_shutdown_seconds: float = Field(default=30.0, ge=0, le=3600)
    """On SIGTERM a worker takes no new job and waits this long for running ones; jobs
    still running then are aborted and retried later."""
    job_retention_hours: int = Field(default=168, ge=1)
    """Finished jobs are deleted after this many hours (hourly, `jobs.remove_old`)."""

    _check_fits_a_cron = field_validator("job_stalled_check_seconds")(_fits_a_cron)


class OutboundWebhookSettings(BaseSettings):
    """Signed webhooks this service sends (docs/webhooks.md)."""

    model_config = _env_config()

    web_app_webhook_url: str | None = None
    """The web app's endpoint: receives every shop's events (besides shops' own)."""
    web_app_webhook_secret: SecretStr | None = None
    """Its Standard Webhooks secret (whsec_…): required with the URL."""
    webhook_timeout_seconds: float = Field(default=15.0, gt=0, le=60)
    webhook_allow_private_targets: bool | None = None
    """Deliver to loopback and private addresses, and over plain http. Unset: allowed in
    development and tests, never in production (which refuses true)."""
    webhook_retry_first_seconds: float = Field(default=5.0, gt=0, le=3600)
    webhook_retry_max_seconds: float = Field(default=43_200.0, gt=0)
    webhook_retry_for_seconds: float = Field(default=259_200.0, gt=0)
    """A delivery is retried (backoff x3 from the first delay, capped at the max, with
    jitter) until this long after its event: about three days."""
    webhook_secret_overlap_seconds: int = Field(default=86_400, ge=0)
    """After a rotation the old secret signs too (a second signature) this long."""
    webhook_event_retention_days: int = Field(default=30, ge=1)
    """Events and their attempts are deleted after this many days."""

    @field_validator("web_app_webhook_url")
    @classmethod
    def _is_http_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be an http(s) URL")
        return value

    @model_validator(mode="after")
    def _secret_with_url(self) -> OutboundWebhookSettings:
        if self.web_app_webhook_url and self.web_app_webhook_secret is None:
            raise ValueError("WEB_APP_WEBHOOK_SECRET is required with WEB_APP_WEBHOOK_URL")
        return self


class ServerSettings(BaseSettings):
    model_config = _env_config()

    environment: Environment = Environment.DEVELOPMENT
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["auto", "json", "console"] = "auto"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    max_request_bytes: int = Field(default=1_048_576, ge=1024)
    # FastAPI's native OpenTelemetry bridge. Off by default: the service reports through
    # /metrics and its logs, and the bridge, when on, asks OpenTelemetry's global providers
    # on every request whether one was configured.
    otel_enabled: bool = False
    idempotency_key_hours: int = Field(default=24, ge=1, le=24 * 30)
    """How long an Idempotency-Key and its stored answer are kept."""

    @property
    def json_logs(self) -> bool:
        """``auto``: JSON in production, readable lines elsewhere."""
        if self.log_format == "auto":
            return self.environment is Environment.PRODUCTION
        return self.log_format == "json"

    @field_validator("environment", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


class ConfigurationError(Exception):
    """Settings that cannot be used; the message names the variable, never its value."""


class Settings(BaseSettings):
    model_config = _env_config()

    server: ServerSettings = Field(default_factory=ServerSettings)
    db: DatabaseSettings = Field(default_factory=DatabaseSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    ai: AISettings = Field(default_factory=AISettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    ratelimit: RateLimitSettings = Field(default_factory=RateLimitSettings)
    features: FeatureSettings = Field(default_factory=FeatureSettings)
    jobs: JobSettings = Field(default_factory=JobSettings)
    outbound: OutboundWebhookSettings = Field(default_factory=OutboundWebhookSettings)

    @model_validator(mode="after")
    def _refuse_placeholders_in_production(self) -> Settings:
        if self.server.environment is Environment.PRODUCTION:
            problems = production_secret_problems(self)
            if problems:
                raise ConfigurationError("refusing to start in production: " + "; ".join(problems))
        return self

    @property
    def is_production(self) -> bool:
        return self.server.environment is Environment.PRODUCTION

    @property
    def webhook_private_targets_allowed(self) -> bool:
        """Outbound webhooks to loopback/private addresses and plain http: outside
        production unless WEBHOOK_ALLOW_PRIVATE_TARGETS says otherwise."""
        allowed = self.outbound.webhook_allow_private_targets
        return (not self.is_production) if allowed is None else allowed and not self.is_production

    def worker_in_process(self, *, embedded: bool) -> bool:
        """`serve` runs a worker too: JOB_WORKER_IN_PROCESS, or on the embedded default."""
        wanted = self.jobs.job_worker_in_process
        return embedded if wanted is None else wanted


def _is_placeholder(value: str) -> bool:
    lowered = value.strip().lower()
    return not lowered or any(marker in lowered for marker in PLACEHOLDER_MARKERS)


def production_secret_problems(settings: Settings) -> list[str]:
    """Names of secrets that are missing or still placeholders, with what is wrong."""
    problems: list[str] = []

    def check(name: str, secret: SecretStr | None, *, required: bool = True) -> None:
        if secret is None:
            if required:
                problems.append(f"{name} is not set")
            return
        if _is_placeholder(secret.get_secret_value()):
            problems.append(f"{name} is a placeholder")

    auth = settings.auth
    if not auth.session_secrets():
        problems.append("NEXTAUTH_SECRET (or AUTH_SECRET) is not set")
    check("NEXTAUTH_SECRET", auth.nextauth_secret, required=False)
    check("AUTH_SECRET", auth.auth_secret, required=False)
    for index, secret in enumerate((auth.auth_secret_1, auth.auth_secret_2, auth.auth_secret_3)):
        check(f"AUTH_SECRET_{index + 1}", secret, required=False)
    check("API_KEY_PEPPER", auth.api_key_pepper)
    check("DATA_ENCRYPTION_KEY", auth.data_encryption_key)
    if settings.db.database_url is None:
        problems.append("DATABASE_URL is not set (the embedded database is for development)")

    hooks = settings.webhooks
    features = settings.features
    # Platform webhook secrets are optional (one unset switches its provider off on the
    # platform route; shops' own integrations carry theirs), but never placeholders.
    if features.ai_voice_enabled:
        check("VOICE_WEBHOOK_SECRET", hooks.voice_webhook_secret, required=False)
        check("TWILIO_AUTH_TOKEN", hooks.twilio_auth_token, required=False)
        check("VAPI_SERVER_SECRET", hooks.vapi_server_secret, required=False)
    if features.ai_support_enabled:
        check("SUPPORT_WEBHOOK_SECRET", hooks.support_webhook_secret, required=False)
        check("CHATWOOT_WEBHOOK_SECRET", hooks.chatwoot_webhook_secret, required=False)
        check("ZENDESK_WEBHOOK_SECRET", hooks.zendesk_webhook_secret, required=False)
    if features.ai_campaigns_enabled:
        check("CAMPAIGN_CALLBACK_SECRET", hooks.campaign_callback_secret)

    outbound = settings.outbound
    if outbound.web_app_webhook_url:
        check("WEB_APP_WEBHOOK_SECRET", outbound.web_app_webhook_secret)
        if not outbound.web_app_webhook_url.startswith("https://"):
            problems.append("WEB_APP_WEBHOOK_URL is not https")
    if outbound.webhook_allow_private_targets:
        problems.append("WEBHOOK_ALLOW_PRIVATE_TARGETS is true (never in production)")

    ai = settings.ai
    if ai.ai_provider == "lilli":
        if not ai.lilli_base_url:
            problems.append("LILLI_BASE_URL is not set (AI_PROVIDER=lilli)")
        check("LILLI_API_KEY", ai.lilli_api_key)
    if ai.ai_provider == "openai":
        if not ai.openai_base_url:
            problems.append("OPENAI_BASE_URL is not set (AI_PROVIDER=openai)")
        check("OPENAI_API_KEY", ai.openai_api_key)
    return problems


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment; raise ConfigurationError with a clear line."""
    from pydantic import ValidationError

    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            location = ".".join(str(part) for part in error["loc"]).upper() or "settings"
            ctx_error = (error.get("ctx") or {}).get("error")
            if isinstance(ctx_error, ConfigurationError):
                raise ctx_error from None
            message = str(ctx_error) if ctx_error is not None else error["msg"]
            lines.append(f"{location}: {message}")
        raise ConfigurationError("invalid configuration: " + "; ".join(lines)) from None
