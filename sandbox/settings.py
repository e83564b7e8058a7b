"""Settings of the NovaCron sandbox (a separate Django project with its own database).

Every knob comes from the environment with a default that runs locally with no environment at all.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent
REPO_ROOT = BASE_DIR.parent


def _env_bool(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def _env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


# The sandbox is a local emulator; a fixed development key is acceptable unless one is provided.
SECRET_KEY = os.environ.get(
    "SANDBOX_SECRET_KEY", "sandbox-insecure-local-only-key-0123456789abcdefghijklmnop"
)
DEBUG = _env_bool("SANDBOX_DEBUG", False)
ALLOWED_HOSTS = os.environ.get("SANDBOX_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "oauth2_provider",
    "sandbox.core",
    "sandbox.identity",
]

MIDDLEWARE = [
    "sandbox.api.middleware.RequestIdMiddleware",
    "sandbox.api.middleware.FaultInjectionMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "sandbox.urls"
ASGI_APPLICATION = "sandbox.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

_DEFAULT_SQLITE = REPO_ROOT / "var" / "sandbox.sqlite3"
_DATABASE_URL = os.environ.get("SANDBOX_DATABASE_URL", f"sqlite:///{_DEFAULT_SQLITE}")
DATABASES = {"default": dj_database_url.parse(_DATABASE_URL, conn_max_age=0)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    _db_name = str(DATABASES["default"]["NAME"])
    if _db_name and _db_name != ":memory:" and not _db_name.startswith("file:"):
        Path(_db_name).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets the engine thread write while requests read; IMMEDIATE avoids lock-upgrade deadlocks.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

AUTH_USER_MODEL = "identity.User"
# Swappable-model settings read by migrations (the default models of django-oauth-toolkit).
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGIN_URL = "/accounts/login/"

# The portal runs on the same host (other port): cookies are per host, so names must differ.
SESSION_COOKIE_NAME = "sandbox_sessionid"
CSRF_COOKIE_NAME = "sandbox_csrftoken"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_TZ = True
USE_I18N = False
STATIC_URL = "/static/"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"sandbox": {"handlers": ["console"], "level": os.environ.get("SANDBOX_LOG_LEVEL", "INFO")}},
}

# --- Sandbox behaviour -------------------------------------------------------------------------------
# Simulated seconds per real second (migrations, provisioning, progress events).
SANDBOX_TIME_SCALE = _env_float("SANDBOX_TIME_SCALE", 10.0)
# Multiplies every tier's rate limit (benchmarks raise it).
SANDBOX_RATE_LIMIT_SCALE = _env_float("SANDBOX_RATE_LIMIT_SCALE", 1.0)
# Delay before attempt n+1 (seconds); compressed compared to production so retries are observable.
SANDBOX_WEBHOOK_RETRY_SCHEDULE = json.loads(
    os.environ.get("SANDBOX_WEBHOOK_RETRY_SCHEDULE", "[1, 2, 5, 10, 30, 60, 120]")
)
SANDBOX_WEBHOOK_MAX_ATTEMPTS = 8
SANDBOX_WEBHOOK_TIMEOUT_SECONDS = _env_float("SANDBOX_WEBHOOK_TIMEOUT_SECONDS", 10.0)
# Webhooks go only to public addresses, except to these hosts (`host` or `host:port`, comma-separated):
# the local portal's receiver under `make run` and in tests.
SANDBOX_WEBHOOK_ALLOWED_HOSTS = [
    entry.strip() for entry in os.environ.get("SANDBOX_WEBHOOK_ALLOWED_HOSTS", "").split(",") if entry.strip()
]
# Real seconds between two steps of the background engine.
SANDBOX_ENGINE_INTERVAL = _env_float("SANDBOX_ENGINE_INTERVAL", 1.0)
# Generated CPU above this for a sustained window raises alert.critical.
SANDBOX_CPU_ALERT_THRESHOLD = _env_float("SANDBOX_CPU_ALERT_THRESHOLD", 90.0)
# Fault injection, off by default; JSON, see sandbox/engine/faults.py for the keys.
SANDBOX_FAULTS = json.loads(os.environ.get("SANDBOX_FAULTS", "{}"))

# --- OAuth 2.0 / OpenID Connect (sandbox.identity) -----------------------------------------------------
# The issuer is `<scheme>://<host>/oauth`, derived per request (no OIDC_ISS_ENDPOINT), so it is right on
# any port. The ID-token signing key comes from $SANDBOX_OIDC_RSA_KEY or var/sandbox-oidc.pem (made once).
from sandbox.identity.keys import oidc_rsa_private_key  # noqa: E402
from sandbox.identity.scopes import SCOPE_DESCRIPTIONS  # noqa: E402

# Which OpenID provider the sandbox plays: `novacron` (partner claims in the ID token, a refresh token
# with every code) or `plain` (a standard provider: claims beyond `sub` only from userinfo, refresh
# tokens only with `offline_access`); see sandbox/identity/profile.py.
SANDBOX_OIDC_PROFILE = os.environ.get("SANDBOX_OIDC_PROFILE", "novacron").strip().lower()
if SANDBOX_OIDC_PROFILE not in {"novacron", "plain"}:
    raise ValueError(f"SANDBOX_OIDC_PROFILE must be novacron or plain, not {SANDBOX_OIDC_PROFILE!r}")
# Short in tests, to exercise refresh.
SANDBOX_ACCESS_TOKEN_LIFETIME = int(os.environ.get("SANDBOX_ACCESS_TOKEN_LIFETIME", "3600"))
LOGIN_REDIRECT_URL = "/accounts/"
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": oidc_rsa_private_key(REPO_ROOT / "var" / "sandbox-oidc.pem"),
    "OAUTH2_VALIDATOR_CLASS": "sandbox.identity.oauth.SandboxOAuth2Validator",
    "SCOPES": SCOPE_DESCRIPTIONS,
    # offline_access only in the plain profile (it reads SANDBOX_OIDC_PROFILE at each request).
    "SCOPES_BACKEND_CLASS": "sandbox.identity.profile.ProfileScopes",
    "DEFAULT_SCOPES": ["openid"],
    "PKCE_REQUIRED": True,
    # RFC 9700 behaviour: PKCE with S256 only, no implicit or password grants, no access token in
    # query strings, and the `iss` parameter on authorization responses (mix-up defence).
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_GRANT_TYPES_SUPPORTED": ["authorization_code", "refresh_token"],
    "ACCESS_TOKEN_EXPIRE_SECONDS": SANDBOX_ACCESS_TOKEN_LIFETIME,
    "ID_TOKEN_EXPIRE_SECONDS": SANDBOX_ACCESS_TOKEN_LIFETIME,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 120,
    "REFRESH_TOKEN_EXPIRE_SECONDS": 30 * 24 * 3600,
    # Each refresh returns a new refresh token; presenting a spent one revokes the whole family.
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
}
