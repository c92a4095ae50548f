"""Settings, read from the environment with django-environ.

Three environments, chosen by ``CONTACTSYNC_ENV``:

- ``development`` (the default, what ``make run`` uses): SQLite in ``var/``, django-q2's
  ORM broker, keys generated once into ``var/dev-secrets.json``.
- ``test``: like development, but django-q2 runs tasks synchronously.
- ``production``: refuses to start without ``SECRET_KEY`` and ``FIELD_ENCRYPTION_KEY``;
  secure cookies, HSTS and SSL redirect on.

``DATABASE_URL`` (PostgreSQL) and ``REDIS_URL`` (django-q2's Redis broker) switch any of
them to the scale-out setup with no code change.
"""

from __future__ import annotations

import json
import logging
import secrets
from pathlib import Path

import environ
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from connectors import registry

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Runtime state of the embedded default (SQLite file, development keys); VAR_DIR lets the
# CI smoke test start from a fresh, throw-away one.
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))

ENVIRONMENT = env.str("CONTACTSYNC_ENV", default="development")
if ENVIRONMENT not in {"development", "test", "production"}:
    raise ImproperlyConfigured(
        f"CONTACTSYNC_ENV must be development, test or production, not {ENVIRONMENT!r}"
    )
PRODUCTION = ENVIRONMENT == "production"
TESTING = ENVIRONMENT == "test"

logger = logging.getLogger("config")


def _development_secrets() -> dict[str, str]:
    """Keys for the embedded default, generated once into var/ (ignored by git)."""
    path = VAR_DIR / "dev-secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    keys = {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    }
    path.write_text(json.dumps(keys))
    path.chmod(0o600)
    logger.warning(
        "Generated development keys into %s. Never use them in production: set "
        "SECRET_KEY and FIELD_ENCRYPTION_KEY in the environment instead.",
        path,
    )
    return keys


if PRODUCTION:
    missing = [k for k in ("SECRET_KEY", "FIELD_ENCRYPTION_KEY") if not env.str(k, default="")]
    if missing:
        raise ImproperlyConfigured(
            "Production refuses to start without " + " and ".join(missing) + " in the environment."
        )
    SECRET_KEY = env.str("SECRET_KEY")
    FIELD_ENCRYPTION_KEY = env.str("FIELD_ENCRYPTION_KEY")
else:
    _dev = _development_secrets()
    SECRET_KEY = env.str("SECRET_KEY", default=_dev["SECRET_KEY"])
    FIELD_ENCRYPTION_KEY = env.str("FIELD_ENCRYPTION_KEY", default=_dev["FIELD_ENCRYPTION_KEY"])

DEBUG = env.bool("DEBUG", default=not PRODUCTION and not TESTING)
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Public base URL, used to build webhook and OAuth callback addresses.
PUBLIC_URL = env.str("PUBLIC_URL", default="http://127.0.0.1:8000")
# Where the vendor emulators listen in development and tests (see connectors/*/sandbox.py).
SANDBOX_URL = env.str("SANDBOX_URL", default="http://127.0.0.1:8765")
# Whether vendor API hosts point at the emulators under SANDBOX_URL (connectors/endpoints.py):
# on in development, off in production and by default in tests (the `sandbox` fixture turns
# it on). An operator's explicit <VENDOR>_API_URL setting wins either way.
VENDOR_SANDBOXES = env.bool("VENDOR_SANDBOXES", default=ENVIRONMENT == "development")
if PRODUCTION and VENDOR_SANDBOXES:
    raise ImproperlyConfigured("VENDOR_SANDBOXES must be off in production")
# Salesforce instance hosts the token answer may name (connectors/salesforce/client.py).
SALESFORCE_INSTANCE_DOMAINS = env.list(
    "SALESFORCE_INSTANCE_DOMAINS",
    default=["salesforce.com", "force.com", "salesforce.mil", "cloudforce.com"],
)
# GetResponse API hosts (operators may override; never taken from tenant input).
GETRESPONSE_API_URL = env.str("GETRESPONSE_API_URL", default="")
GETRESPONSE_MAX_API_URL = env.str("GETRESPONSE_MAX_API_URL", default="")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.forms",  # its widget templates, for FORM_RENDERER below
    "django_q",
    "encrypted_model_fields",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI assets served locally (works offline)
    "django_htmx",
    "social_django",
    "sync",
]
# The vendors' apps come from connectors/registry.py: a new vendor is one folder and one
# registry line. (A vendor line still written here is harmless: it is not added twice.)
INSTALLED_APPS += [app for app in registry.vendor_apps() if app not in INSTALLED_APPS]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "sync.middleware.RefuseUnstorableInput",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "sync.language.UserLanguage",  # a signed-in user's language; English on /api/
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
# --- Tenant pages: their template filters (sync/web/templatetags.py) load everywhere.
TEMPLATES[0]["OPTIONS"]["builtins"] = ["sync.web.templatetags"]
# Forms print each error once, in the summary above them (config/forms.py).
FORM_RENDERER = "config.forms.FormRenderer"

# --- Database: SQLite in var/ by default, PostgreSQL when DATABASE_URL says so.
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and immediate transactions let the web process and the worker share the file.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
# A dry run stages and plans in a scratch database of its own (sync/engine/scratch.py).
DATABASE_ROUTERS = ["sync.engine.scratch.ScratchRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Task queue: django-q2, ORM broker by default, Redis when REDIS_URL is set.
REDIS_URL = env.str("REDIS_URL", default="")


def q_cluster_config(redis_url: str, testing: bool) -> dict[str, object]:
    """django-q2 settings; a task's timeout stays below its retry so none runs twice."""
    config: dict[str, object] = {
        "name": "contactsync",
        "workers": env.int("Q_WORKERS", default=2),
        "timeout": 600,  # seconds a run may take before the worker kills it
        "retry": 720,  # re-deliver an unacknowledged task after this; must exceed timeout
        "max_attempts": 3,
        "save_limit": 1000,
        "catch_up": False,
        "sync": testing,
        "label": "Task queue",
    }
    if redis_url:
        config["redis"] = redis_url
    else:
        config["orm"] = "default"
    return config


Q_CLUSTER = q_cluster_config(REDIS_URL, TESTING)

if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# --- Languages (issue 19): English, Italian and Polish; the browser's Accept-Language
# chooses, the header's switcher overrides, and a signed-in user's choice is remembered.
# Catalogues live in locale/<lang>/LC_MESSAGES/django.po; `make install` compiles them.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("it", "Italiano"), ("pl", "Polski")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles"))

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="contactsync@localhost")

# --- Security: strict in production (manage.py check --deploy is clean there).
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- REST API
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "DEFAULT_PARSER_CLASSES": [
        "sync.api.parsers.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "PAGE_SIZE": 100,
    # Bearer API tokens (cs_…) for integrators; the session for the browser.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "sync.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["sync.api.permissions.IsAccountMember"],
    # Requests per token (per user for sessions); API_RATE e.g. "600/minute".
    "DEFAULT_THROTTLE_CLASSES": ["sync.api.throttling.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "api": env.str("API_RATE", default="1200/hour"),
        # GET /runs/{id}/status/, polled while a run goes: its own, higher rate.
        "run_status": env.str("API_STATUS_RATE", default="7200/hour"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Contact sync API",
    "DESCRIPTION": "Two-way contact sync between business apps.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from drf-spectacular-sidecar's local copy, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models name different choice sets "direction"; give each its own name.
    "ENUM_NAME_OVERRIDES": {
        "EventDirectionEnum": "sync.models.Direction",
        "SyncDirectionEnum": "sync.models.SyncDirection",
        "MappingDirectionEnum": "sync.models.MappingDirection",
        "DeletionModeEnum": "sync.models.DeletionMode",
        "RunStatusEnum": "sync.models.RunStatus",
    },
}
# Webhooks: a burst of callbacks for one connection enqueues one run per this many seconds.
WEBHOOK_DEBOUNCE_SECONDS = env.int("WEBHOOK_DEBOUNCE_SECONDS", default=10)

# --- OAuth (social-auth-app-django); vendor backends are added by their connectors.
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
SOCIAL_AUTH_JSONFIELD_ENABLED = True

# --- Salesforce OAuth (connectors/salesforce/oauth.py). The connected app's consumer key
# and secret; the login hosts are settings so the sandbox emulator can stand in for them.
# The pipeline makes no UserSocialAuth row: the tokens go only, encrypted, into the
# AppAuthorization that store_authorization creates.
SOCIAL_AUTH_SALESFORCE_KEY = env.str("SALESFORCE_CLIENT_ID", default="")
SOCIAL_AUTH_SALESFORCE_SECRET = env.str("SALESFORCE_CLIENT_SECRET", default="")
SALESFORCE_LOGIN_URL = env.str("SALESFORCE_LOGIN_URL", default="https://login.salesforce.com")
SALESFORCE_SANDBOX_LOGIN_URL = env.str(
    "SALESFORCE_SANDBOX_LOGIN_URL", default="https://test.salesforce.com"
)
SOCIAL_AUTH_SALESFORCE_PIPELINE = SOCIAL_AUTH_SALESFORCE_SANDBOX_PIPELINE = (
    "social_core.pipeline.social_auth.social_details",
    "social_core.pipeline.social_auth.social_uid",
    "social_core.pipeline.social_auth.auth_allowed",
    "connectors.salesforce.oauth.store_authorization",
)

# --- Google Contacts OAuth (connectors/google/oauth.py). The OAuth client's id and secret
# (social-auth's backend "google", so SOCIAL_AUTH_GOOGLE_*; the CardDAV connector refreshes
# tokens with the same pair). The endpoints are settings so the sandbox emulator, and in
# tests a CardDAV gateway, can stand in for Google. As for Salesforce, no UserSocialAuth
# row is made: the tokens go only, encrypted, into the AppAuthorization.
SOCIAL_AUTH_GOOGLE_KEY = env.str("GOOGLE_CLIENT_ID", default="")
SOCIAL_AUTH_GOOGLE_SECRET = env.str("GOOGLE_CLIENT_SECRET", default="")
GOOGLE_AUTH_URL = env.str("GOOGLE_AUTH_URL", default="https://accounts.google.com/o/oauth2/v2/auth")
GOOGLE_TOKEN_URL = env.str("GOOGLE_TOKEN_URL", default="https://oauth2.googleapis.com/token")
GOOGLE_USERINFO_URL = env.str(
    "GOOGLE_USERINFO_URL", default="https://openidconnect.googleapis.com/v1/userinfo"
)
# Contactlab: ContactSend (SOAP) and Contacthub (REST). Unset: Contactlab's own hosts, or
# the emulators where VENDOR_SANDBOXES is on (connectors/endpoints.py).
CONTACTSEND_WSDL_URL = env.str("CONTACTSEND_WSDL_URL", default="")
CONTACTHUB_API_URL = env.str("CONTACTHUB_API_URL", default="")
GOOGLE_CARDDAV_URL = env.str(
    "GOOGLE_CARDDAV_URL",
    default="https://www.googleapis.com/carddav/v1/principals/{email}/lists/default/",
)
SOCIAL_AUTH_GOOGLE_PIPELINE = (
    "social_core.pipeline.social_auth.social_details",
    "social_core.pipeline.social_auth.social_uid",
    "social_core.pipeline.social_auth.auth_allowed",
    "connectors.google.oauth.store_authorization",
)
# The OAuth vendors' backends, each declared in its package (connectors/<vendor>/__init__.py).
AUTHENTICATION_BACKENDS += [
    b for b in registry.vendor_auth_backends() if b not in AUTHENTICATION_BACKENDS
]

# --- Mailchimp (connectors/mailchimp/). The API host is the account's data centre's; the
# template is a setting so tests and the demo can point it at the sandbox (never from an
# authorization's settings). OAuth through social-auth's backend "mailchimp": its app's
# client id and secret, and its endpoints as settings like Google's. Tokens never expire.
MAILCHIMP_API_URL_TEMPLATE = env.str(
    "MAILCHIMP_API_URL_TEMPLATE", default="https://{dc}.api.mailchimp.com/3.0"
)
SOCIAL_AUTH_MAILCHIMP_KEY = env.str("MAILCHIMP_CLIENT_ID", default="")
SOCIAL_AUTH_MAILCHIMP_SECRET = env.str("MAILCHIMP_CLIENT_SECRET", default="")
MAILCHIMP_AUTH_URL = env.str(
    "MAILCHIMP_AUTH_URL", default="https://login.mailchimp.com/oauth2/authorize"
)
MAILCHIMP_TOKEN_URL = env.str(
    "MAILCHIMP_TOKEN_URL", default="https://login.mailchimp.com/oauth2/token"
)
MAILCHIMP_METADATA_URL = env.str(
    "MAILCHIMP_METADATA_URL", default="https://login.mailchimp.com/oauth2/metadata"
)
SOCIAL_AUTH_MAILCHIMP_PIPELINE = (
    "social_core.pipeline.social_auth.social_details",
    "social_core.pipeline.social_auth.social_uid",
    "social_core.pipeline.social_auth.auth_allowed",
    "connectors.mailchimp.oauth.store_authorization",
)
AUTHENTICATION_BACKENDS += ["connectors.mailchimp.oauth.MailchimpOAuth"]
# --- Development (`make run`): the OAuth vendors' clients and endpoints are their
# emulators' (config/development.py), except for a vendor of which any variable is set
# (its real client then, whole). Never in production, which refuses VENDOR_SANDBOXES;
# nor in tests, which set their own.
if ENVIRONMENT == "development" and VENDOR_SANDBOXES:
    from config.development import sandbox_settings

    _rows = sandbox_settings(SANDBOX_URL)
    _configured = {v.split("_")[0] for v, _, _ in _rows if env.str(v, default="")}
    for _variable, _setting, _value in _rows:
        if _variable.split("_")[0] not in _configured:
            globals()[_setting] = _value
# Hosts a tenant types (a PBX, a CardDAV server) may resolve to loopback or private
# addresses only where the operator allows it: development and tests, whose sandboxes
# listen on 127.0.0.1 (connectors/hosts.py).
ALLOW_PRIVATE_HOSTS = env.bool("ALLOW_PRIVATE_HOSTS", default=not PRODUCTION)
# Where a Wildix PBX name points: the real cloud PBX in production; in development and
# tests the sandbox's emulator, one path per PBX name (connectors/wildix/connector.py).
WILDIX_PBX_URL_TEMPLATE = env.str(
    "WILDIX_PBX_URL_TEMPLATE",
    default="https://{name}.wildixin.com" if PRODUCTION else SANDBOX_URL + "/wildix/{name}",
)

# --- Sync engine knobs (per connection values override these defaults).
SYNC_LEASE_SECONDS = env.int("SYNC_LEASE_SECONDS", default=900)
# How long one run may write before it stops at a checkpoint and the next run (queued at
# once) goes on: below the task timeout, so django-q never kills a run mid-write.
SYNC_RUN_BUDGET_SECONDS = env.int("SYNC_RUN_BUDGET_SECONDS", default=480)
# Sides whose app reports no deletions in delta reads are listed completely this often,
# which is when deletions and removals from a list are noticed there.
SYNC_FULL_LISTING_MINUTES = env.int("SYNC_FULL_LISTING_MINUTES", default=60)
# Runs a record may wait for the record it references (a contact for its company) before
# the wait is reported as an error (it is still retried; sync/engine/references.py).
SYNC_REFERENCE_WAIT_RUNS = env.int("SYNC_REFERENCE_WAIT_RUNS", default=3)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {"redact_webhook_tokens": {"()": "sync.logging.RedactWebhookTokens"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_webhook_tokens"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # runserver's and gunicorn's access lines go through the same filtered handler.
        "django.server": {"handlers": ["console"], "propagate": False},
        "gunicorn.access": {"handlers": ["console"], "propagate": False},
        "gunicorn.error": {"handlers": ["console"], "propagate": False},
    },
}

# --- Sellf (connectors/sellf): the API host is a setting, never tenant input (unset:
# Sellf's own, or the emulator where VENDOR_SANDBOXES is on); requests a second per API
# key (the Performance plan's 20; 0: off).
SELLF_API_URL = env.str("SELLF_API_URL", default="")
SELLF_RATE_LIMIT = env.float("SELLF_RATE_LIMIT", default=20.0)
