"""Portal settings: one file, every knob from the environment.

With no environment at all it runs locally on the embedded default (SQLite, Celery's filesystem
broker, the sandbox on 127.0.0.1:8001). `DJANGO_ENV=production` turns on the deployment hardening,
and then secrets have no default: a missing one stops the process at start-up.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from django.utils.csp import CSP

from lib.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PORTAL_VAR_DIR", BASE_DIR / "var"))


def _load_dotenv(path: Path) -> None:
    """Read KEY=VALUE lines written by `make run`'s bootstrap; the real environment wins."""
    if not path.is_file():
        return
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        os.environ.setdefault(key.strip(), value.strip().strip("'\""))


_load_dotenv(Path(os.environ.get("PORTAL_ENV_FILE", BASE_DIR / ".env")))


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    return env(name, "1" if default else "0").lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


PRODUCTION = env("DJANGO_ENV") == "production"
DEBUG = env_bool("DEBUG", default=not PRODUCTION)

# The development secrets are in the repository, so anyone can read them: with DEBUG off the system
# check `portal.E001`/`E002` (portal/checks.py) refuses them, whatever DJANGO_ENV says.
DEV_SECRET_KEY = "insecure-local-development-key-change-me-0123456789abcdefghijklmnop"
DEV_TOKEN_ENCRYPTION_KEY = "bG9jYWwtZGV2ZWxvcG1lbnQta2V5LW5vdC1zZWNyZXQ="

# In production a missing SECRET_KEY is a KeyError at start-up, never a default.
SECRET_KEY = os.environ["SECRET_KEY"] if PRODUCTION else env("SECRET_KEY", DEV_SECRET_KEY)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    # django.contrib.admin, its default site recording every change in the audit log.
    "audit.admin_apps.AuditedAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "axes",
    # The project package itself, for what belongs to no domain app: the cache table, health checks,
    # the system checks of its settings.
    "portal",
    "accounts",
    "partners",
    "audit",
    "integrations",
    "vms",
    "webhooks",
    "usage",
    "live",
    "jobs",
]

MIDDLEWARE = [
    "portal.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.NovaCronClientMiddleware",
    "accounts.middleware.NovaCronErrorMiddleware",
    "accounts.middleware.TimeZoneMiddleware",
    # Last, as django-axes asks: it answers a locked-out admin sign-in with the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

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
                "django.template.context_processors.csp",
                "portal.context_processors.portal",
                "webhooks.context_processors.live_and_notifications",
                "jobs.context_processors.live_topics",
            ],
            # `{{ value|instant }}` and `{% current_time_zone %}` in every template, without a load.
            "builtins": ["accounts.templatetags.times"],
        },
    },
]

# Database: SQLite (WAL, immediate transactions) by default, anything dj-database-url reads otherwise.
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASE_URL = env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'portal.sqlite3'}")
# No persistent connections: under ASGI every request runs in a thread of its own, so a kept
# connection is never reused and lingers past CONN_MAX_AGE. PostgreSQL goes through psycopg's pool
# instead (per process: N web processes hold at most N x DATABASE_POOL_MAX_SIZE connections).
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["OPTIONS"] = {
        "pool": {
            "min_size": int(env("DATABASE_POOL_MIN_SIZE", "1")),
            "max_size": int(env("DATABASE_POOL_MAX_SIZE", "10")),
            # A request waits this long for a free connection, then fails instead of hanging.
            "timeout": float(env("DATABASE_POOL_TIMEOUT", "10")),
        },
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
# django-axes first, so a locked-out username+address is refused before the password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# The admin's password login: locked for AXES_COOLOFF_TIME after AXES_FAILURE_LIMIT wrong passwords
# for one username from one address (accounts/lockout.py). Portal users sign in by OAuth and are
# never counted; a success clears the count.
AXES_ONLY_ADMIN_SITE = True
AXES_FAILURE_LIMIT = int(env("ADMIN_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=float(env("ADMIN_LOGIN_COOL_OFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "accounts.lockout.client_ip"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
# Attempts name usernames and addresses of every tenant: no admin pages for them (superusers unlock
# with `manage.py axes_reset_username`), and no row per successful sign-in.
AXES_ENABLE_ADMIN = False
AXES_DISABLE_ACCESS_LOG = True
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "vms:overview"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# Cache: Redis when configured, else a table in the database. Either way it is shared by the web
# processes, workers and beat: the sync locks, webhook debounces and heartbeats only mean something
# across processes (a local-memory cache would give every process its own lock). `manage.py migrate`
# creates the table (portal/migrations).
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    CACHES: dict[str, dict[str, Any]] = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "portal_cache",
            # Past MAX_ENTRIES Django culls a third of the rows, live locks included: keep it far above
            # the few keys per partner this cache holds.
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }
# Figures of a partner's whole fleet (the VM list's status counts), kept by each process under the
# fleet's shared stamp until the next write (vms/fleet_version.py): memory, never a shared write.
CACHES["fleet_figures"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "fleet-figures",
    "OPTIONS": {"MAX_ENTRIES": 5_000},
}
# The webhook receiver's per-address refusal counters (webhooks/throttle.py): an atomic increment
# that must cost no database write, since it is what stands between a flood and the database. Redis
# when configured (shared by every web process); otherwise each process's memory, so on the embedded
# default (one host) the bound holds per web process.
CACHES["webhook_throttle"] = (
    {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": "wt"}
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "webhook-throttle"}
)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Outside production, WhiteNoise serves static files straight from the app and project folders, so a
# DEBUG=0 server (uvicorn in tests and benchmarks) has its JS without a collectstatic step.
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", default=not PRODUCTION)

# Content Security Policy: no inline scripts; a nonce for the rare script that needs one.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF, *env_list("NOVACRON_FORM_ACTION_ORIGINS", "http://127.0.0.1:8001")],
}

SESSION_COOKIE_NAME = "portal_sessionid"
CSRF_COOKIE_NAME = "portal_csrftoken"
CSRF_FAILURE_VIEW = "portal.errors.csrf_failure"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    # Probes speak plain HTTP to the process (regexes match the path without its leading slash).
    SECURE_REDIRECT_EXEMPT = [r"^healthz"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# Tokens and partner secrets are encrypted at rest with MultiFernet: the first key encrypts, every
# key decrypts, so a new key goes first and `manage.py rotate_encryption_keys` re-encrypts.
if PRODUCTION:
    TOKEN_ENCRYPTION_KEYS = env_list("TOKEN_ENCRYPTION_KEYS")
    if not TOKEN_ENCRYPTION_KEYS:
        raise RuntimeError("TOKEN_ENCRYPTION_KEYS must be set in production")
else:
    # A fixed development key, so a restarted `make run` can still read what it stored.
    TOKEN_ENCRYPTION_KEYS = env_list("TOKEN_ENCRYPTION_KEYS", DEV_TOKEN_ENCRYPTION_KEY)

# NovaCron: the Partner API and its OAuth 2.0 / OpenID Connect issuer (the sandbox by default).
NOVACRON_API_URL = env("NOVACRON_API_URL", "http://127.0.0.1:8001")
NOVACRON_OAUTH_ISSUER = env("NOVACRON_OAUTH_ISSUER", "http://127.0.0.1:8001/oauth")
NOVACRON_CLIENT_ID = env("NOVACRON_CLIENT_ID")
NOVACRON_CLIENT_SECRET = env("NOVACRON_CLIENT_SECRET")
NOVACRON_LOGIN_SCOPES = ["openid", "profile", "email", "vm:read"]
# The claims (in the ID token, else from userinfo) that name a person's partner and role.
OIDC_PARTNER_CLAIM = env("OIDC_PARTNER_CLAIM", "partner_id")
OIDC_ROLE_CLAIM = env("OIDC_ROLE_CLAIM", "partner_role")
# When the issuer lists `offline_access` (and so the portal asks for it, to get a refresh token), also
# send `prompt=consent`, which OpenID Connect Core §11 asks for; 0 for a provider that needs no fresh consent.
OIDC_OFFLINE_ACCESS_PROMPT_CONSENT = env_bool("OIDC_OFFLINE_ACCESS_PROMPT_CONSENT", default=True)
# A person waits on a page at most this long for NovaCron, retries included (the SDK's `deadline`),
# before the page shows cached data or says NovaCron did not answer; also each attempt's timeout.
NOVACRON_TIMEOUT = float(env("NOVACRON_TIMEOUT", "10"))
# Background work (sync, Celery tasks) has nobody waiting: its calls may keep retrying this long.
NOVACRON_BACKGROUND_DEADLINE = float(env("NOVACRON_BACKGROUND_DEADLINE", str(NOVACRON_TIMEOUT * 6)))
# Refresh an access token this many seconds before it expires.
NOVACRON_TOKEN_REFRESH_MARGIN = int(env("NOVACRON_TOKEN_REFRESH_MARGIN", "60"))
# Background sync may spend at most this share of the partner's per-minute API budget.
SYNC_BUDGET_SHARE = float(env("SYNC_BUDGET_SHARE", "0.5"))
# Bulk jobs (jobs/): their share of the same budget (with the sync's at most 1: portal.E003), how
# many items of one job are in flight at once, when an item whose task was lost is sent again (with
# its same Idempotency-Key), and how long a refused or transient item waits before it is tried again.
JOBS_BUDGET_SHARE = float(env("JOBS_BUDGET_SHARE", "0.3"))
JOBS_CONCURRENCY = int(env("JOBS_CONCURRENCY", "10"))
# Items a worker runs one after another in one task (jobs.services.item_run) before queueing a fresh
# advance: each finished item goes straight on to the next instead of two trips through the broker.
JOBS_LANE_ITEMS = int(env("JOBS_LANE_ITEMS", "50"))
JOBS_STALL_SECONDS = int(env("JOBS_STALL_SECONDS", "120"))
JOBS_RETRY_SECONDS = float(env("JOBS_RETRY_SECONDS", "5"))
# The inventory badge turns to a warning when the last successful sync is older than this.
SYNC_STALE_AFTER_SECONDS = int(env("SYNC_STALE_AFTER_SECONDS", "300"))
# A sync run still "running" after this long lost its worker: it is marked abandoned, and its lock
# (which expires at the same moment) no longer holds up the next run.
SYNC_RUN_ABANDON_AFTER_SECONDS = int(env("SYNC_RUN_ABANDON_AFTER_SECONDS", "900"))
# The URL NovaCron posts webhooks to (the portal's receiver); `{partner_id}` is filled in.
WEBHOOK_RECEIVER_URL = env("WEBHOOK_RECEIVER_URL", SITE_URL.rstrip("/") + "/webhooks/novacron/{partner_id}/")
# On SQLite the receiver writes through one long-lived writer thread (webhooks/writer.py); off: inline.
WEBHOOK_SQLITE_WRITER_THREAD = env_bool("WEBHOOK_SQLITE_WRITER_THREAD", default=True)
# Waiting events of one partner a worker applies in one transaction (webhooks.services): a burst
# costs one claim, one status write and one publish per batch instead of per event. Bounded, so the
# transaction (on SQLite the database's one writer) stays short and the receiver is not held up.
WEBHOOK_PROCESS_BATCH_SIZE = int(env("WEBHOOK_PROCESS_BATCH_SIZE", "50"))
# Refused deliveries (bad or missing signature, malformed, too large, too old, unknown partner) one
# source address may cause per minute; past it the receiver answers 429 before reading the body.
WEBHOOK_REFUSALS_PER_MINUTE = int(env("WEBHOOK_REFUSALS_PER_MINUTE", "30"))
# An event whose signed `timestamp` is older than this is refused (and counted). NovaCron's retries
# end within about five minutes (SANDBOX_WEBHOOK_RETRY_SCHEDULE, 8 attempts); an hour leaves room for
# a manual redelivery soon after, and refuses the replay of an event whose id has been pruned.
WEBHOOK_MAX_EVENT_AGE_SECONDS = int(env("WEBHOOK_MAX_EVENT_AGE_SECONDS", "3600"))
# Hosts a person may give as a webhook or integration URL although they are not public addresses
# (lib/netguard.py): local receivers in development and tests. The host of WEBHOOK_RECEIVER_URL, the
# portal's own receiver, is always allowed.
OUTGOING_URL_ALLOWED_HOSTS = [
    *env_list("OUTGOING_URL_ALLOWED_HOSTS"),
    *filter(None, [urlsplit(WEBHOOK_RECEIVER_URL.replace("{partner_id}", "p")).hostname]),
]

# Celery: Redis when configured, else the filesystem broker under var/ (no server to install).
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # A task taken but not acknowledged (late acks) goes back to the queue after this long, so a
    # worker killed mid-task loses nothing. It must outlast the longest task and countdown (minutes).
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {"visibility_timeout": 3600}
else:
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("out", "unacked", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    # Kombu's filesystem transport with atomic writes (lib/broker.py): the stock one lets a worker
    # read a half-written message and die.
    CELERY_BROKER_TRANSPORT = "lib.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        # Taken, not yet acknowledged messages wait here; a dead worker's go back to the queue.
        "unacked_folder": str(_broker_dir / "unacked"),
        "store_processed": False,
        # The transport polls its folder; at the default 1 s a busy worker idles between messages and
        # every webhook waits up to a second before processing starts.
        "polling_interval": float(env("CELERY_BROKER_POLL_SECONDS", "0.1")),
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER")
# One broker can serve several portals (CI runs a test portal next to the suite): separate queues.
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", "celery")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# Redis pushes each message to a waiting worker, so one at a time per pool slot keeps long tasks
# from holding messages others could run. The filesystem transport instead sleeps its polling
# interval whenever the worker's prefetch window is full: a window of one message per slot caps a
# worker at about slots / polling interval (40 tasks a second), below a webhook burst. Its window is
# wider; a message taken and not yet run is still redelivered if the worker dies (lib/broker.py).
CELERY_WORKER_PREFETCH_MULTIPLIER = int(env("CELERY_PREFETCH_MULTIPLIER", "1" if REDIS_URL else "16"))
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
# Beat keeps its schedule in memory: the default shelve file is an SQLite database on Python 3.13,
# which the embedded beat process sometimes fails to lock ("locking protocol") and then dies. Every
# entry is an interval, so after a restart each job simply runs once more, which they all tolerate.
CELERY_BEAT_SCHEDULER = "celery.beat:Scheduler"
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "ensure-webhook-subscriptions": {
        "task": "partners.tasks.ensure_webhook_subscriptions",
        "schedule": float(env("WEBHOOK_ENSURE_INTERVAL_SECONDS", "600")),
    },
}
# Inventory sync (vms.tasks): fan-out tasks enqueue one run per partner with credentials.
CELERY_BEAT_SCHEDULE["vms-sync-incremental"] = {"task": "vms.sync_all_vms_incremental", "schedule": 30.0}
CELERY_BEAT_SCHEDULE["vms-sync-full"] = {"task": "vms.sync_all_vms_full", "schedule": 15 * 60.0}
CELERY_BEAT_SCHEDULE["vms-sync-quotas"] = {"task": "vms.sync_all_partners", "schedule": 60.0}
# Previous webhook secrets (kept 24 h after a rotation) are dropped once expired.
CELERY_BEAT_SCHEDULE["drop-expired-webhook-secrets"] = {
    "task": "partners.tasks.drop_expired_webhook_secrets",
    "schedule": 3600.0,
}
# Live push (live/, webhooks/): how streams wait, how long the outbox keeps events, the poll fallback.
LIVE_POLL_INTERVAL = float(env("LIVE_POLL_INTERVAL", "0.5"))
# With Redis or PostgreSQL wake-ups, a stream still looks at the outbox this often in case one was lost.
LIVE_SAFETY_POLL_SECONDS = float(env("LIVE_SAFETY_POLL_SECONDS", "5"))
LIVE_KEEPALIVE_SECONDS = float(env("LIVE_KEEPALIVE_SECONDS", "15"))
LIVE_EVENT_RETENTION_SECONDS = int(env("LIVE_EVENT_RETENTION_SECONDS", "3600"))
MIGRATION_POLL_AFTER_SECONDS = int(env("MIGRATION_POLL_AFTER_SECONDS", "15"))
CELERY_BEAT_SCHEDULE["live-prune-events"] = {"task": "live.prune_events", "schedule": 600.0}
# Bulk jobs: advance every running one, and send again items whose task a dead worker lost.
CELERY_BEAT_SCHEDULE["jobs-tick"] = {"task": "jobs.tick", "schedule": 10.0}
CELERY_BEAT_SCHEDULE["migrations-poll-quiet"] = {"task": "webhooks.poll_quiet_migrations", "schedule": 10.0}
CELERY_BEAT_SCHEDULE["webhooks-process-pending"] = {
    "task": "webhooks.process_pending_events",
    "schedule": 120.0,
}
# Runs whose worker died are marked abandoned (vms.sync), so nothing shows them as running for ever.
CELERY_BEAT_SCHEDULE["vms-abandon-stale-runs"] = {"task": "vms.abandon_stale_runs", "schedule": 300.0}
# Usage rollups (usage/): the days whose intervals changed are recomputed this often.
CELERY_BEAT_SCHEDULE["usage-refresh"] = {
    "task": "usage.refresh_all",
    "schedule": float(env("USAGE_REFRESH_INTERVAL_SECONDS", "300")),
}
# Beat and a worker prove they are alive (reported by /healthz/status).
HEARTBEAT_INTERVAL_SECONDS = 30.0
CELERY_BEAT_SCHEDULE["portal-heartbeat"] = {
    "task": "portal.heartbeat",
    "schedule": HEARTBEAT_INTERVAL_SECONDS,
}
# Retention: what the hourly prune deletes once it is older than this many days.
# Received webhook events (processed or ignored; pending and failed ones stay until dealt with). Far
# longer than NovaCron's redelivery window (its retries end within minutes; a manual redelivery
# can come later), since a pruned event id would be accepted, and applied, again.
RETENTION_WEBHOOK_EVENTS_DAYS = int(env("RETENTION_WEBHOOK_EVENTS_DAYS", "30"))
# Refused deliveries (counts per partner, reason and minute): only useful while someone investigates
# a misconfigured secret or a flood.
RETENTION_WEBHOOK_REJECTIONS_DAYS = int(env("RETENTION_WEBHOOK_REJECTIONS_DAYS", "7"))
# Sync runs; the latest successful run of each kind per partner always stays (the next incremental
# sync starts from its watermark, the inventory's freshness badge reads it).
RETENTION_SYNC_RUNS_DAYS = int(env("RETENTION_SYNC_RUNS_DAYS", "30"))
# Acknowledged notifications; an unacknowledged one stays until someone has seen it.
RETENTION_NOTIFICATIONS_DAYS = int(env("RETENTION_NOTIFICATIONS_DAYS", "90"))
# The audit log (who did what): partners that are audited themselves keep years of it. Each prune that
# removes rows writes an audit row saying how many.
AUDIT_RETENTION_DAYS = int(env("AUDIT_RETENTION_DAYS", "400"))
CELERY_BEAT_SCHEDULE["prune-old-records"] = {"task": "portal.prune_old_records", "schedule": 3600.0}

# A job not started within its own interval is dropped: the next one is already due, so a worker that
# was down (or a backlog) does not replay a pile of identical syncs when it comes back.
for _entry in CELERY_BEAT_SCHEDULE.values():
    _entry.setdefault("options", {"expires": _entry["schedule"]})

# Logs: plain lines by default, LOG_FORMAT=json for one JSON object per line with the request or task
# id (lib/logs.py). Either way credentials are scrubbed from every line, uvicorn's access log included.
LOG_FORMAT = env("LOG_FORMAT", "plain")
LOGGING = logging_config(log_format=LOG_FORMAT, level=env("LOG_LEVEL", "INFO"))

# Error reports to Sentry, only when a DSN is set (lib/sentry.py: no PII, credentials scrubbed).
SENTRY_DSN = env("SENTRY_DSN")
if SENTRY_DSN:
    from lib.sentry import sentry_init

    sentry_init(
        dsn=SENTRY_DSN, environment=env("SENTRY_ENVIRONMENT", "production" if PRODUCTION else "development")
    )
