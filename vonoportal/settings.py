"""Settings for the Vono Portal, read from the environment (and ``.env``) by django-environ.

Every variable is documented in ``.env.example``. A missing or malformed value stops start-up
with an ImproperlyConfigured error that names the variable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(BASE_DIR / ".env", overwrite=False)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _bool(name: str, default: bool) -> bool:
    raw = env.str(name, default=str(default)).strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def _number(name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = env.str(name, default=str(default))
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {raw!r}")
    return value


def _integer(name: str, default: int | None, *, minimum: int = 0) -> int | None:
    raw = env.str(name, default="" if default is None else str(default)).strip()
    if raw == "":
        return default
    if not raw.isdigit() or int(raw) < minimum:
        raise ImproperlyConfigured(f"{name} must be a whole number >= {minimum}, not {raw!r}")
    return int(raw)


def _url(name: str, default: str, parse: Any, schemes: Any) -> dict[str, Any]:
    raw = env.str(name, default=default)
    scheme = urlsplit(raw).scheme
    if scheme not in schemes:
        known = ", ".join(sorted(schemes))
        raise ImproperlyConfigured(
            f"{name} is not a valid URL: unknown scheme {scheme!r} ({known})"
        )
    try:
        parsed: dict[str, Any] = parse(raw)
    except (ImproperlyConfigured, ValueError, KeyError) as exc:
        raise ImproperlyConfigured(f"{name} is not a valid URL: {exc}") from None
    return parsed


def _required(name: str) -> str:
    value = env.str(name, default="").strip()
    if not value:
        raise ImproperlyConfigured(f"{name} is required: set it in the environment or in .env")
    return value


DEBUG = _bool("DEBUG", False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is required unless DEBUG is true")
    SECRET_KEY = "insecure-development-key-only-for-debug"  # noqa: S105
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "pgtrigger",
    "django_tasks_db",
    "recordings",
    "audit",
    "deletions",
    "accounts",
    "health",
    "index",
    "audio",
    "reports",
    "privacy",
    "retention",
    "qa",
]

MIDDLEWARE = [
    "recordings.middleware.RequestIdMiddleware",
    "recordings.middleware.DropUnstorableCookiesMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "recordings.middleware.SessionIdleRefreshMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.PasswordChangeRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "recordings.middleware.PrivatePagesMiddleware",
]

ROOT_URLCONF = "vonoportal.urls"
WSGI_APPLICATION = "vonoportal.wsgi.application"
AUTH_USER_MODEL = "recordings.User"
# Django's model backend for accounts whose keyed seal verifies (accounts.seal): a row a DBA
# wrote (a password hash, a group, a scope) signs nobody in and grants nothing.
AUTHENTICATION_BACKENDS = ["accounts.seal.SealedModelBackend"]
LOGIN_URL = "login"
# "/" sends each person where their work is (accounts.views.home): the list, the access
# pages, or the DPO's access report.
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "recordings.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": _url(
        "DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}", env.db_url_config, env.DB_SCHEMES
    )
}
DATABASES["default"].setdefault("CONN_MAX_AGE", _integer("DATABASE_CONN_MAX_AGE", 60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default serves several threads and processes (gunicorn, the worker).
    # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock when a
    # transaction starts, so two writers queue on the busy timeout instead of one failing
    # with "database is locked" when it upgrades a read lock half-way through.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
            "transaction_mode": "IMMEDIATE",
            "timeout": _number("SQLITE_BUSY_TIMEOUT", 20.0, minimum=0.1),
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": _url(
        "CACHE_URL", "locmemcache://vonoportal", env.cache_url_config, env.CACHE_SCHEMES
    )
}

SESSION_ENGINE = "accounts.sessions"
SESSION_COOKIE_AGE = int(_integer("SESSION_IDLE_MINUTES", 30, minimum=1) or 30) * 60
# Idle expiry: recordings.middleware.SessionIdleRefreshMiddleware pushes the expiry forward
# at most once a minute, instead of a database write on every request.
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True  # htmx sends the token from the page (hx-headers), never the cookie
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = not DEBUG
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Strict Content-Security-Policy (Django's own middleware): scripts and styles only from this
# site or carrying the response's nonce; no inline handlers, no inline style attributes, no
# eval. htmx's indicator CSS lives in portal.css (htmx-config in base.html), and wavesurfer's
# shadow-DOM <style> gets the nonce (player.js passes it as cspNonce).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "media-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "pt-br"
LANGUAGES = [("pt-br", _("Português (Brasil)")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["vonoportal.formats"]
TIME_ZONE = "America/Sao_Paulo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Background tasks: deletions run in a database-backed worker (manage.py db_worker) ---
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# --- Deletion requests -------------------------------------------------------------------
DELETION_REQUEST_TTL_HOURS = int(_integer("DELETION_REQUEST_TTL_HOURS", 24, minimum=1) or 24)
DELETION_STEP_UP_MINUTES = int(_integer("DELETION_STEP_UP_MINUTES", 15, minimum=1) or 15)
DELETION_CHUNK_SIZE = int(_integer("DELETION_CHUNK_SIZE", 50, minimum=1) or 50)
# A run silent for this long is taken for dead (worker killed) and may be resumed by an admin.
DELETION_STUCK_MINUTES = int(_integer("DELETION_STUCK_MINUTES", 30, minimum=1) or 30)

# --- Retention ---------------------------------------------------------------------------
# The daily run (retention.tasks) hands at most this many recordings per policy to the
# deletion engine; what is left goes the next day.
RETENTION_RUN_HOURS = _number("RETENTION_RUN_HOURS", 24, minimum=0.01)
RETENTION_MAX_PER_RUN = int(_integer("RETENTION_MAX_PER_RUN", 5000, minimum=1) or 5000)

# --- The audit log ------------------------------------------------------------------------
# Each event's MAC is keyed with AUDIT_HMAC_KEY, which never enters the database: someone who
# holds only the database cannot recompute the chain after editing it. The key id is stored
# with each event, so the key can be rotated; retired keys stay in AUDIT_HMAC_OLD_KEYS
# ("id:key,id:key") to verify the events they signed.
AUDIT_HMAC_KEY = env.str("AUDIT_HMAC_KEY", default="")
if not AUDIT_HMAC_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("AUDIT_HMAC_KEY is required unless DEBUG is true")
    AUDIT_HMAC_KEY = "insecure-audit-key-only-for-debug"
if AUDIT_HMAC_KEY == SECRET_KEY:
    raise ImproperlyConfigured("AUDIT_HMAC_KEY must differ from SECRET_KEY")
AUDIT_HMAC_KEY_ID = env.str("AUDIT_HMAC_KEY_ID", default="1").strip()
if not (0 < len(AUDIT_HMAC_KEY_ID) <= 16 and AUDIT_HMAC_KEY_ID.isascii()):
    raise ImproperlyConfigured("AUDIT_HMAC_KEY_ID must be 1 to 16 ASCII characters")
AUDIT_HMAC_OLD_KEYS: dict[str, str] = {}
for _entry in env.list("AUDIT_HMAC_OLD_KEYS", default=[]):
    _old_id, _sep, _old_key = _entry.partition(":")
    if not (_sep and _old_id.strip() and _old_key):
        raise ImproperlyConfigured("AUDIT_HMAC_OLD_KEYS must read id:key,id:key")
    AUDIT_HMAC_OLD_KEYS[_old_id.strip()] = _old_key
if AUDIT_HMAC_KEY_ID in AUDIT_HMAC_OLD_KEYS:
    raise ImproperlyConfigured("AUDIT_HMAC_KEY_ID is also named in AUDIT_HMAC_OLD_KEYS")
# Signed checkpoints (sequence number and head MAC) are appended here, outside the database,
# and logged on the "audit.checkpoint" logger for a SIEM: deleting the newest events is then
# detected. Every instance appends to it; share it (a volume) or collect the log lines.
AUDIT_CHECKPOINT_DIR = Path(
    env.str("AUDIT_CHECKPOINT_DIR", default=str(BASE_DIR / "var" / "audit-checkpoints"))
)
# A checkpoint after every N events (1: every event).
AUDIT_CHECKPOINT_EVERY = int(_integer("AUDIT_CHECKPOINT_EVERY", 1, minimum=1) or 1)

# --- The Vono API -----------------------------------------------------------------------
VONO_BASE_URL = _required("VONO_BASE_URL").rstrip("/")
if urlsplit(VONO_BASE_URL).scheme not in ("http", "https") or not urlsplit(VONO_BASE_URL).netloc:
    raise ImproperlyConfigured("VONO_BASE_URL must be an http(s) URL, e.g. https://pbx.example/api")
VONO_API_TOKEN = _required("VONO_API_TOKEN")
VONO_API_KEY = _required("VONO_API_KEY")
VONO_CUSTOMER_ID = _integer("VONO_CUSTOMER_ID", None)
VONO_CONNECT_TIMEOUT = _number("VONO_CONNECT_TIMEOUT", 3.05, minimum=0.1)
VONO_READ_TIMEOUT = _number("VONO_READ_TIMEOUT", 15.0, minimum=0.1)
VONO_RETRIES = int(_integer("VONO_RETRIES", 2) or 0)
VONO_PAGE_LIMIT = int(_integer("VONO_PAGE_LIMIT", 500, minimum=1) or 500)
# Look-ups by id sent at once when a deletion request's ids are checked (the pool grows to fit).
VONO_LOOKUP_CONCURRENCY = int(_integer("VONO_LOOKUP_CONCURRENCY", 48, minimum=1) or 48)

# --- The recording index (index/) ------------------------------------------------------
# The periodic sync re-reads the most recent INDEX_RECENT_DAYS days every INDEX_SYNC_MINUTES
# and checks each older day of the INDEX_DAYS window with one count call.
INDEX_SYNC_MINUTES = _number("INDEX_SYNC_MINUTES", 5, minimum=0.1)
INDEX_DAYS = int(_integer("INDEX_DAYS", 90, minimum=1) or 90)
INDEX_RECENT_DAYS = int(_integer("INDEX_RECENT_DAYS", 2, minimum=1) or 2)
# Requests per second the sync sends to Vono. Only the lease holder syncs, so this per-process
# cap is the cap for all workers together (the web pages' own calls are not counted).
INDEX_MAX_RPS = _number("INDEX_MAX_RPS", 10, minimum=0.1)
INDEX_PAGE_LIMIT = int(_integer("INDEX_PAGE_LIMIT", 500, minimum=1) or 500)
# A worker that stops renewing its lease (renewed on every page) for this long is taken for
# dead, and another one may take over.
INDEX_LEASE_SECONDS = int(_integer("INDEX_LEASE_SECONDS", 120, minimum=5) or 120)
# A periodic run stops after this long (the next run carries on), so the worker is free for
# deletions in between.
INDEX_RUN_SECONDS = _number("INDEX_RUN_SECONDS", 60, minimum=1)
INDEX_BACKOFF_SECONDS = _number("INDEX_BACKOFF_SECONDS", 30, minimum=0)
INDEX_BACKOFF_MAX_SECONDS = _number("INDEX_BACKOFF_MAX_SECONDS", 1800, minimum=0)
# The recordings list answers from the index only while its last complete sync is younger
# than this; an older index is named as such on the page, and date-only searches go live.
INDEX_STALE_MINUTES = _number("INDEX_STALE_MINUTES", 15, minimum=1)

# --- Audio: a local cache of recordings, and how many streams a process serves -------------
# One host's processes share the directory (atomic renames, file locks); it holds personal
# data, so it is kept small and short-lived.
AUDIO_CACHE_DIR = Path(env.str("AUDIO_CACHE_DIR", default=str(BASE_DIR / "var" / "audio-cache")))
AUDIO_CACHE_MB = int(_integer("AUDIO_CACHE_MB", 2048) or 0)
AUDIO_CACHE_HOURS = _number("AUDIO_CACHE_HOURS", 24.0)
# Streams beyond this, per process, get 503 with Retry-After. Keep it below GUNICORN_THREADS:
# the threads left over are the pages' (see bench/README.md).
AUDIO_STREAMS_PER_PROCESS = int(_integer("AUDIO_STREAMS_PER_PROCESS", 112, minimum=1) or 112)
# The bulk ZIP download (/recordings/download.zip): at most this many recordings and this many
# megabytes (by the listing's sizes) in one archive; beyond either, a message instead of a ZIP.
ZIP_MAX_FILES = int(_integer("ZIP_MAX_FILES", 500, minimum=1) or 500)
ZIP_MAX_MB = int(_integer("ZIP_MAX_MB", 2048, minimum=1) or 2048)

# The token and key are in every upstream URL: keep them out of error reports and logs.
DEFAULT_EXCEPTION_REPORTER_FILTER = "recordings.redaction.SecretsExceptionReporterFilter"
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "recordings.redaction.RedactSecretsFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_secrets"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "urllib3": {"level": env.str("LOG_LEVEL_URLLIB3", default="WARNING")},
    },
}

# How many reverse proxies (load balancer, ingress) stand before gunicorn: the client address
# for sign-in throttling is taken that many hops from the end of X-Forwarded-For.
TRUSTED_PROXY_COUNT = int(_integer("TRUSTED_PROXY_COUNT", 0) or 0)
