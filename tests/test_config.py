"""Settings (DESIGN.md §4): read from the environment, refused when unusable, secrets hidden."""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings

from bloomer_ai.config import ConfigurationError, Settings, load_settings

REPO_ROOT = Path(__file__).resolve().parent.parent
ENV_EXAMPLE = REPO_ROOT / ".env.example"

# The variables DESIGN.md §4 names (rate-limit policies and flags included).
DESIGN_VARIABLES = {
    "DATABASE_URL",
    "REDIS_URL",
    "NEXTAUTH_SECRET",
    "AUTH_SECRET",
    "AI_PROVIDER",
    "LILLI_BASE_URL",
    "LILLI_API_KEY",
    "LILLI_TIMEOUT_SECONDS",
    "OPENAI_BASE_URL",
    "OPENAI_API_KEY",
    "OPENAI_MODEL",
    "VOICE_WEBHOOK_SECRET",
    "TWILIO_AUTH_TOKEN",
    "VAPI_SERVER_SECRET",
    "SUPPORT_WEBHOOK_SECRET",
    "CAMPAIGN_CALLBACK_SECRET",
    "AI_AGENT_ENABLED",
    "AI_VOICE_ENABLED",
    "AI_SUPPORT_ENABLED",
    "AI_ROUTING_ENABLED",
    "AI_CAMPAIGNS_ENABLED",
    "AI_TOOLS_ENABLED",
    "RATELIMIT_DEFAULT",
    "LOG_LEVEL",
    "ENVIRONMENT",
}

# Real-looking production secrets (none contains a placeholder marker).
GOOD_SECRETS = {
    "NEXTAUTH_SECRET": "nx-9f2c41d7a8e3b6c5d4e1f0a9b8c7d6e5",
    "API_KEY_PEPPER": "pp-4b8e2a6c9d1f3e5a7b9c0d2e4f6a8b0c",
    "VOICE_WEBHOOK_SECRET": "whsec_dm9pY2Utd2ViaG9vay1zZWNyZXQtcHJvZA==",
    "SUPPORT_WEBHOOK_SECRET": "whsec_c3VwcG9ydC13ZWJob29rLXNlY3JldC1wcm9k",
    "CAMPAIGN_CALLBACK_SECRET": "whsec_Y2FtcGFpZ24tY2FsbGJhY2stc2VjcmV0LXBy",
    "TWILIO_AUTH_TOKEN": "tw-1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d",
    "VAPI_SERVER_SECRET": "vp-6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a",
    "DATA_ENCRYPTION_KEY": "k2:dfsye3KeyENG/9tvCub0hX+XJ+C/MQsjXDAz7ep60UM=,"
    "k1:t2FBtt02wMzjcFu8JIkSkdLCUie2BKICbVjTeLrkkIE=",
}
PROD_DATABASE_URL = "postgresql://bloomer:db-pass-8c1e7f@db.internal:5432/bloomer"


def section_fields() -> dict[str, tuple[str, Any]]:
    """UPPER_CASE variable name → (section name, field info) for every settings field."""
    fields: dict[str, tuple[str, Any]] = {}
    for section, info in Settings.model_fields.items():
        section_cls = info.annotation
        assert isinstance(section_cls, type) and issubclass(section_cls, BaseSettings)
        for name, field in section_cls.model_fields.items():
            assert name.upper() not in fields, f"{name} is defined in two sections"
            fields[name.upper()] = (section, field)
    return fields


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No settings variable from the outer environment and no .env file in the cwd."""
    for name in section_fields():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


@pytest.fixture
def production_env(clean_env: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    clean_env.setenv("ENVIRONMENT", "production")
    clean_env.setenv("DATABASE_URL", PROD_DATABASE_URL)
    for name, value in GOOD_SECRETS.items():
        clean_env.setenv(name, value)
    return clean_env


def refusal(env: pytest.MonkeyPatch) -> str:
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    message = str(caught.value)
    assert "\n" not in message
    for value in [*GOOD_SECRETS.values(), "db-pass-8c1e7f"]:
        assert value not in message
    return message


# --- production refuses missing and placeholder secrets ------------------------------------


def test_production_with_real_secrets_starts(production_env: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    assert settings.is_production
    assert settings.auth.nextauth_secret is not None
    assert settings.auth.nextauth_secret.get_secret_value() == GOOD_SECRETS["NEXTAUTH_SECRET"]


@pytest.mark.parametrize(
    ("variable", "placeholder"),
    [
        ("NEXTAUTH_SECRET", "change-me-a71c"),
        ("API_KEY_PEPPER", "CHANGEME-b82d"),
        ("VOICE_WEBHOOK_SECRET", "whsec_change-me-c93e"),
        ("CAMPAIGN_CALLBACK_SECRET", "placeholder-d04f"),
        ("TWILIO_AUTH_TOKEN", "replace-me-e15a"),
        ("DATA_ENCRYPTION_KEY", "k1:change-me-f26b"),
        ("CHATWOOT_WEBHOOK_SECRET", "placeholder-a37c"),
        ("ZENDESK_WEBHOOK_SECRET", "changeme-b48d"),
    ],
)
def test_production_refuses_a_placeholder_secret_and_names_it(
    production_env: pytest.MonkeyPatch, variable: str, placeholder: str
) -> None:
    production_env.setenv(variable, placeholder)
    message = refusal(production_env)
    assert variable in message
    assert "placeholder" in message
    assert placeholder not in message
    assert placeholder[-4:] not in message


@pytest.mark.parametrize(
    "variable",
    ["API_KEY_PEPPER", "CAMPAIGN_CALLBACK_SECRET", "DATA_ENCRYPTION_KEY"],
)
def test_production_refuses_a_missing_secret_and_names_it(
    production_env: pytest.MonkeyPatch, variable: str
) -> None:
    production_env.delenv(variable)
    message = refusal(production_env)
    assert variable in message
    assert "not set" in message


@pytest.mark.parametrize(
    "variable",
    [
        "VOICE_WEBHOOK_SECRET",
        "SUPPORT_WEBHOOK_SECRET",
        "TWILIO_AUTH_TOKEN",
        "VAPI_SERVER_SECRET",
        "CHATWOOT_WEBHOOK_SECRET",
        "ZENDESK_WEBHOOK_SECRET",
    ],
)
def test_production_starts_without_a_platform_webhook_secret(
    production_env: pytest.MonkeyPatch, variable: str
) -> None:
    """An unset platform secret switches that provider off on the platform route (401);
    shops' own integrations carry their own secrets."""
    production_env.delenv(variable, raising=False)
    assert load_settings().is_production


def test_a_malformed_encryption_key_is_refused_in_every_environment(
    clean_env: pytest.MonkeyPatch,
) -> None:
    key = "k1:c2hvcnQ="  # base64 of 5 bytes: not an AES-256 key
    clean_env.setenv("DATA_ENCRYPTION_KEY", key)
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    assert "DATA_ENCRYPTION_KEY" in str(caught.value)
    assert "c2hvcnQ" not in str(caught.value)


def test_the_keyring_seals_with_the_first_key(production_env: pytest.MonkeyPatch) -> None:
    keyring = load_settings().auth.keyring()
    assert keyring.key_ids == ["k2", "k1"]
    assert keyring.current_key_id == "k2"


def test_development_uses_its_own_key_while_none_is_set(clean_env: pytest.MonkeyPatch) -> None:
    assert load_settings().auth.keyring().key_ids == ["development"]
    clean_env.setenv("DATA_ENCRYPTION_KEY", "k1:change-me")
    assert load_settings().auth.keyring().key_ids == ["development"]


def test_production_needs_a_session_secret(production_env: pytest.MonkeyPatch) -> None:
    production_env.delenv("NEXTAUTH_SECRET")
    assert "NEXTAUTH_SECRET" in refusal(production_env)
    # AUTH_SECRET (the Auth.js v5 name) is as good.
    production_env.setenv("AUTH_SECRET", "as-5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b")
    assert load_settings().auth.session_secrets() == ["as-5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b"]


def test_production_needs_a_database_url(production_env: pytest.MonkeyPatch) -> None:
    production_env.delenv("DATABASE_URL")
    assert "DATABASE_URL" in refusal(production_env)


def test_production_checks_the_chosen_ai_provider(production_env: pytest.MonkeyPatch) -> None:
    production_env.setenv("AI_PROVIDER", "lilli")
    message = refusal(production_env)
    assert "LILLI_BASE_URL" in message and "LILLI_API_KEY" in message
    production_env.setenv("LILLI_BASE_URL", "https://lilli.example.com")
    production_env.setenv("LILLI_API_KEY", "ll-0f1e2d3c4b5a69788796a5b4c3d2e1f0")
    assert load_settings().ai.ai_provider == "lilli"


def test_a_switched_off_feature_needs_no_secret(production_env: pytest.MonkeyPatch) -> None:
    production_env.delenv("SUPPORT_WEBHOOK_SECRET")
    production_env.setenv("AI_SUPPORT_ENABLED", "false")
    assert load_settings().features.ai_support_enabled is False


def test_environment_is_case_insensitive(production_env: pytest.MonkeyPatch) -> None:
    production_env.setenv("ENVIRONMENT", "Production")
    production_env.setenv("API_KEY_PEPPER", "change-me")
    assert "API_KEY_PEPPER" in refusal(production_env)


def test_development_accepts_placeholders(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("NEXTAUTH_SECRET", "change-me")
    settings = load_settings()
    assert not settings.is_production
    assert settings.db.database_url is None


# --- DATABASE_URL -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("mysql://root:url-pass-1f2e@db.internal:3306/bloomer", "scheme"),
        ("not a url", "not a valid URL"),
        ("postgresql://bloomer:url-pass-1f2e@db.internal:5432", "no database"),
        ("postgresql://bloomer:url-pass-1f2e@db.internal:5432/", "no database"),
    ],
)
def test_malformed_database_url_is_a_clear_error(
    clean_env: pytest.MonkeyPatch, url: str, reason: str
) -> None:
    clean_env.setenv("DATABASE_URL", url)
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    message = str(caught.value)
    assert "DATABASE_URL" in message
    assert reason in message
    assert "url-pass-1f2e" not in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u:p@h:5432/d",
        "postgres://u:p@h/d",
        "postgresql+psycopg://u:p@h:5432/d",
        "postgresql:///d?host=/var/run/postgresql",
    ],
)
def test_accepted_database_urls(clean_env: pytest.MonkeyPatch, url: str) -> None:
    clean_env.setenv("DATABASE_URL", url)
    assert load_settings().db.database_url == url


def test_an_invalid_value_names_its_variable(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("AI_PROVIDER", "skynet")
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    assert "AI_PROVIDER" in str(caught.value)


# --- secrets ------------------------------------------------------------------------------


def test_secrets_are_secret_strings_and_stay_out_of_repr(
    production_env: pytest.MonkeyPatch,
) -> None:
    production_env.setenv("LILLI_API_KEY", "ll-3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f")
    production_env.setenv("OPENAI_API_KEY", "sk-7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d")
    production_env.setenv("AUTH_SECRET", "as-0a1b2c3d4e5f60718293a4b5c6d7e8f9")
    production_env.setenv("WEB_APP_WEBHOOK_URL", "https://app.example.com/hooks")
    production_env.setenv("WEB_APP_WEBHOOK_SECRET", "whsec_d2ViLWFwcC13ZWJob29rLXNlY3JldC1w")
    settings = load_settings()
    secret_fields = {
        "NEXTAUTH_SECRET": settings.auth.nextauth_secret,
        "AUTH_SECRET": settings.auth.auth_secret,
        "API_KEY_PEPPER": settings.auth.api_key_pepper,
        "LILLI_API_KEY": settings.ai.lilli_api_key,
        "OPENAI_API_KEY": settings.ai.openai_api_key,
        "VOICE_WEBHOOK_SECRET": settings.webhooks.voice_webhook_secret,
        "TWILIO_AUTH_TOKEN": settings.webhooks.twilio_auth_token,
        "VAPI_SERVER_SECRET": settings.webhooks.vapi_server_secret,
        "SUPPORT_WEBHOOK_SECRET": settings.webhooks.support_webhook_secret,
        "CAMPAIGN_CALLBACK_SECRET": settings.webhooks.campaign_callback_secret,
        "DATA_ENCRYPTION_KEY": settings.auth.data_encryption_key,
        "WEB_APP_WEBHOOK_SECRET": settings.outbound.web_app_webhook_secret,
    }
    shown = repr(settings) + str(settings) + repr(settings.model_dump())
    for name, value in secret_fields.items():
        assert isinstance(value, SecretStr), name
        assert value.get_secret_value() not in shown, name
    # The database password is a secret too.
    assert "db-pass-8c1e7f" not in repr(settings) + str(settings)


# --- every variable is documented and read ------------------------------------------------


def env_example_lines() -> dict[str, str]:
    """NAME → value for every ``NAME=value`` line of .env.example, commented or not."""
    found: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.match(r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$", line.strip())
        if match:
            assert match.group(1) not in found, f"{match.group(1)} is listed twice"
            found[match.group(1)] = match.group(2).strip()
    return found


def test_design_variables_are_settings_fields() -> None:
    missing = DESIGN_VARIABLES - set(section_fields())
    assert not missing, f"DESIGN.md §4 variables without a setting: {sorted(missing)}"


def test_env_example_and_settings_list_the_same_variables() -> None:
    documented = set(env_example_lines())
    fields = set(section_fields())
    assert documented >= DESIGN_VARIABLES
    assert documented - fields == set(), "documented but not read"
    assert fields - documented == set(), "read but not documented in .env.example"


def _as_read(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list):
        return ",".join(value)
    return value


def test_every_env_example_line_reaches_its_field(clean_env: pytest.MonkeyPatch) -> None:
    lines = env_example_lines()
    # The example, every line switched on, as the .env of a development checkout.
    Path(".env").write_text("".join(f"{name}={value}\n" for name, value in lines.items()))
    settings = load_settings()
    fields = section_fields()
    for name, raw in lines.items():
        section, _field = fields[name]
        value = _as_read(getattr(getattr(settings, section), name.lower()))
        if isinstance(value, bool):
            expected: Any = raw.lower() == "true"
        elif isinstance(value, int | float):
            expected = float(raw)
        elif isinstance(value, Path):
            expected = Path(raw)
        else:
            expected = raw
        assert value == expected, name


def test_environment_variables_override_the_defaults(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("AI_ROUTING_ENABLED", "false")
    clean_env.setenv("MAX_REQUEST_BYTES", "2048")
    clean_env.setenv("LOG_LEVEL", "debug")
    clean_env.setenv("ALLOWED_ORIGINS", "https://a.example, https://b.example")
    clean_env.setenv("RATELIMIT_AGENT", "5/second")
    settings = load_settings()
    assert settings.features.ai_routing_enabled is False
    assert settings.features.ai_agent_enabled is True
    assert settings.server.max_request_bytes == 2048
    assert settings.server.log_level == "DEBUG"
    assert settings.auth.allowed_origins == ["https://a.example", "https://b.example"]
    assert settings.ratelimit.ratelimit_agent == "5/second"


def test_a_malformed_rate_limit_names_its_variable(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("RATELIMIT_AGENT", "thirty a minute")
    with pytest.raises(ConfigurationError, match="RATELIMIT_AGENT"):
        load_settings()
    clean_env.setenv("RATELIMIT_AGENT", "30/minute")
    assert load_settings().ratelimit.ratelimit_agent == "30/minute"


@pytest.mark.usefixtures("restore_logging")
def test_production_warns_while_forwarded_headers_are_not_trusted() -> None:
    import io

    from bloomer_ai.config import ServerSettings, WebhookSettings
    from bloomer_ai.lifespan import warn_about_untrusted_forwarding
    from bloomer_ai.logging import configure_logging

    stream = io.StringIO()
    configure_logging(level="INFO", json_output=True, stream=stream)
    production = Settings.model_construct(
        server=ServerSettings(environment="production", _env_file=None),
        webhooks=WebhookSettings(_env_file=None),
    )
    warn_about_untrusted_forwarding(production)
    assert "forwarded_headers_not_trusted" in stream.getvalue()
    assert "Set TRUST_FORWARDED_HEADERS=true" in stream.getvalue()  # the hint is not masked

    stream.truncate(0)
    trusted = Settings.model_construct(
        server=ServerSettings(environment="production", _env_file=None),
        webhooks=WebhookSettings(trust_forwarded_headers=True, _env_file=None),
    )
    warn_about_untrusted_forwarding(trusted)
    development = Settings.model_construct(
        server=ServerSettings(environment="development", _env_file=None),
        webhooks=WebhookSettings(_env_file=None),
    )
    warn_about_untrusted_forwarding(development)
    assert "forwarded_headers_not_trusted" not in stream.getvalue()


@pytest.mark.usefixtures("restore_logging", "clean_env")
def test_start_warns_when_no_session_secret_is_set() -> None:
    import io
    import json

    from bloomer_ai.config import AuthSettings
    from bloomer_ai.lifespan import warn_about_missing_session_secret
    from bloomer_ai.logging import configure_logging

    stream = io.StringIO()
    configure_logging(level="INFO", json_output=True, stream=stream)
    warn_about_missing_session_secret(Settings.model_construct(auth=AuthSettings(_env_file=None)))
    line = json.loads(stream.getvalue())
    assert line["event"] == "session_secret_not_set" and line["level"] == "warning"
    assert "Neither NEXTAUTH_SECRET nor AUTH_SECRET is set" in line["hint"]

    for variable in ("nextauth_secret", "auth_secret"):
        stream.truncate(0)
        stream.seek(0)
        auth = AuthSettings(_env_file=None, **{variable: "a-real-secret-0123456789abcdef"})
        warn_about_missing_session_secret(Settings.model_construct(auth=auth))
        assert stream.getvalue() == ""


# --- outbound webhooks and jobs -------------------------------------------------------------


def test_the_web_app_endpoint_needs_its_secret(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("WEB_APP_WEBHOOK_URL", "http://localhost:3000/api/hooks")
    with pytest.raises(ConfigurationError, match="WEB_APP_WEBHOOK_SECRET"):
        load_settings()
    clean_env.setenv("WEB_APP_WEBHOOK_SECRET", "whsec_change-me")
    assert load_settings().outbound.web_app_webhook_url == "http://localhost:3000/api/hooks"


def test_production_refuses_a_placeholder_or_plain_http_web_app_endpoint(
    production_env: pytest.MonkeyPatch,
) -> None:
    production_env.setenv("WEB_APP_WEBHOOK_URL", "http://app.example.com/hooks")
    production_env.setenv("WEB_APP_WEBHOOK_SECRET", "whsec_change-me-f26b")
    message = refusal(production_env)
    assert "WEB_APP_WEBHOOK_SECRET is a placeholder" in message
    assert "WEB_APP_WEBHOOK_URL is not https" in message
    assert "f26b" not in message


def test_private_webhook_targets_are_for_development_and_tests_only(
    clean_env: pytest.MonkeyPatch, production_env: pytest.MonkeyPatch
) -> None:
    assert load_settings().webhook_private_targets_allowed is False  # production
    production_env.setenv("WEBHOOK_ALLOW_PRIVATE_TARGETS", "true")
    assert "WEBHOOK_ALLOW_PRIVATE_TARGETS" in refusal(production_env)
    production_env.setenv("ENVIRONMENT", "development")
    assert load_settings().webhook_private_targets_allowed is True
    production_env.setenv("WEBHOOK_ALLOW_PRIVATE_TARGETS", "false")
    assert load_settings().webhook_private_targets_allowed is False
    production_env.delenv("WEBHOOK_ALLOW_PRIVATE_TARGETS")
    assert load_settings().webhook_private_targets_allowed is True


def test_the_in_process_worker_runs_on_the_embedded_default_unless_told(
    clean_env: pytest.MonkeyPatch,
) -> None:
    settings = load_settings()
    assert settings.worker_in_process(embedded=True) is True
    assert settings.worker_in_process(embedded=False) is False
    clean_env.setenv("JOB_WORKER_IN_PROCESS", "false")
    assert load_settings().worker_in_process(embedded=True) is False
    clean_env.setenv("JOB_WORKER_IN_PROCESS", "true")
    assert load_settings().worker_in_process(embedded=False) is True


@pytest.mark.parametrize("seconds", ["7", "90", "0", "5400"])
def test_a_stalled_check_period_must_tick_regularly(
    clean_env: pytest.MonkeyPatch, seconds: str
) -> None:
    clean_env.setenv("JOB_STALLED_CHECK_SECONDS", seconds)
    with pytest.raises(ConfigurationError, match="JOB_STALLED_CHECK_SECONDS"):
        load_settings()


@pytest.mark.parametrize(
    ("seconds", "cron"),
    [
        (1, "* * * * * */1"),
        (15, "* * * * * */15"),
        (60, "*/1 * * * *"),
        (600, "*/10 * * * *"),
        (3600, "0 */1 * * *"),
        (21600, "0 */6 * * *"),
    ],
)
def test_cron_every(seconds: int, cron: str) -> None:
    from bloomer_ai.kit.time import cron_every

    assert cron_every(seconds) == cron


def test_the_keyring_is_parsed_once_per_value() -> None:
    """Every webhook delivery and every sealed read asks for the keyring: the same value
    gives the same keyring, a new value a new one."""
    import base64

    from bloomer_ai.config import AuthSettings

    one = "k1:" + base64.b64encode(b"1" * 32).decode()
    two = "k2:" + base64.b64encode(b"2" * 32).decode() + "," + one
    first = AuthSettings(_env_file=None, data_encryption_key=one)
    assert first.keyring() is AuthSettings(_env_file=None, data_encryption_key=one).keyring()
    assert AuthSettings(_env_file=None, data_encryption_key=two).keyring().key_ids == ["k2", "k1"]


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ("AISettings", "campaign_generation_expiry_check_seconds"),
        ("JobSettings", "job_stalled_check_seconds"),
    ],
)
def test_periodic_intervals_must_fit_a_cron_schedule(section: str, field: str) -> None:
    import bloomer_ai.config as config

    settings_class = getattr(config, section)
    assert getattr(settings_class(_env_file=None, **{field: 30}), field) == 30
    with pytest.raises(ValidationError):
        settings_class(_env_file=None, **{field: 7})
