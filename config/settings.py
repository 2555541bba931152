"""Settings for the performance appraisal and pay application.

Everything that differs between machines comes from the environment through the typed readers
in config.env. With nothing set, the project runs embedded: SQLite file, tasks executed eagerly.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from config.env import env_bool, env_choice, env_int, env_list, env_optional, env_rate, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

# "production" refuses to start without its own secret key; the demo and tests use a fixed one.
ENVIRONMENT = env_choice("DJANGO_ENV", ["development", "production"], "development")
DEBUG = env_bool("DJANGO_DEBUG", ENVIRONMENT == "development")
SECRET_KEY = env_str("DJANGO_SECRET_KEY", None if ENVIRONMENT == "production" else "insecure-dev-key-change-me")
AUTH_USER_MODEL = "organizations.User"
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "rest_framework",
    "drf_spectacular",
    "django_scopes",
    "simple_history",
    "django_htmx",
    "django_tables2",
    "django_filters",
    "crispy_forms",
    "crispy_bootstrap5",
    "drf_spectacular_sidecar",
    "core",
    "organizations",
    "indicators",
    "appraisal",
    "payroll",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "config.middleware.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Enters the tenant scope for the whole request; everything below it is scoped.
    "organizations.middleware.OrganizationScopeMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: turns a sign-in it refused into the lockout page (AXES_* below).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "organizations.context_processors.organization",
                "organizations.notifications.views.unread",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

# DATABASE_URL unset → a SQLite file in var/ (the embedded default).
_database_url = env_optional("DATABASE_URL")
if _database_url:
    DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
else:
    (BASE_DIR / "var").mkdir(exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(BASE_DIR / "var" / "db.sqlite3")),
            # The demo's web server and its Celery worker share the file: WAL lets the progress bar
            # read while the close writes, IMMEDIATE transactions take the write lock up front (no
            # "database is locked" when a read turns into a write), and a writer waits its turn.
            "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE",
                        "timeout": 30},
        }
    }
# DATABASE_REPLICA_URL (optional, with DATABASE_URL): a streaming read replica of the primary. The heavy
# reads core.replica names go there, and back to the primary when it lags more than
# REPLICA_MAX_LAG_SECONDS or is down. A standby holds all the primary's databases: the one read is
# DATABASE_URL's (the URL's own name is not used). In tests the alias mirrors default (reads default).
_replica_url = env_optional("DATABASE_REPLICA_URL")
REPLICA_MAX_LAG_SECONDS = env_int("REPLICA_MAX_LAG_SECONDS", 5, minimum=0)
if _replica_url and _database_url:
    DATABASES["replica"] = {**dj_database_url.parse(_replica_url, conn_max_age=env_int("DB_CONN_MAX_AGE", 60)),
                            "NAME": DATABASES["default"]["NAME"], "TEST": {"MIRROR": "default"}}
    DATABASES["replica"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 2)
    REPLICA_DATABASE_NAME = DATABASES["replica"]["NAME"]
    DATABASE_ROUTERS = ["core.replica.ReplicaRouter"]
# PostgreSQL compiles a query to machine code (JIT) once its estimated cost passes jit_above_cost.
# The pages' per-sheet EXISTS counts are estimated far above it yet run in milliseconds: compiling
# took 1.9 s of the period page's 2 s at 10,000 sheets. Off unless DB_JIT=1.
if not env_bool("DB_JIT", False):
    for _database in DATABASES.values():
        if _database["ENGINE"].startswith("django.db.backends.postgresql"):
            _database.setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
# The lockout check (django-axes) first, then the ordinary username and password check.
AUTHENTICATION_BACKENDS = [
    "organizations.authentication.SignInLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on every request without it
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = BASE_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Largest upload the Excel import accepts; a roster of 10,000 people is well under 5 MB.
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)
# What an uploaded .xlsx may unpack to, checked before it is parsed (core.xlsx_container). The
# defaults let a legitimate sheet of 2,000,000 cells through (about 80 MB of XML) and refuse zip
# bombs and sheets whose extent (A1 to the last cell, which the reader allocates) is larger.
IMPORT_MAX_ZIP_MEMBERS = env_int("IMPORT_MAX_ZIP_MEMBERS", 1000, minimum=10)
IMPORT_MAX_MEMBER_BYTES = env_int("IMPORT_MAX_MEMBER_BYTES", 150 * 1024 * 1024, minimum=1024 * 1024)
IMPORT_MAX_UNPACKED_BYTES = env_int("IMPORT_MAX_UNPACKED_BYTES", 200 * 1024 * 1024, minimum=1024 * 1024)
IMPORT_MAX_COMPRESSION_RATIO = env_int("IMPORT_MAX_COMPRESSION_RATIO", 100, minimum=10)
IMPORT_MAX_ROWS = env_int("IMPORT_MAX_ROWS", 1_048_576, minimum=1)  # Excel's own sheet size
IMPORT_MAX_COLUMNS = env_int("IMPORT_MAX_COLUMNS", 16_384, minimum=1)
IMPORT_MAX_CELLS = env_int("IMPORT_MAX_CELLS", 2_000_000, minimum=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = IMPORT_MAX_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = IMPORT_MAX_BYTES + 1024 * 1024

# Reverse proxies in front of the application that append to X-Forwarded-For (nginx, a load
# balancer): the client's address is the entry that many places from the right. 0 (the default)
# trusts no header and takes the connection's address, which a client cannot forge; behind a proxy
# set it, or every client shares the proxy's address for sign-in lockouts and throttles.
PROXY_COUNT = env_int("DJANGO_PROXY_COUNT", 0, minimum=0)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "organizations.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["organizations.permissions.HasMatrixPermission"],
    # The API reads JSON; the few uploads (Excel imports, actuals, appeal attachments) set their own
    # multipart parser. One body type keeps the schema's request bodies one each, which generated
    # clients can send (nested bodies as a form could not be).
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    # The test client sends what a client of this API sends; uploads say format="multipart".
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # Adds the answers every operation gives (400, 401, 403, 404, 415, 429) and the id bounds.
    "DEFAULT_SCHEMA_CLASS": "organizations.schema.ApiAutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "organizations.api.exception_handler",
    # Per API token (or signed-in user) and, for the few anonymous endpoints, per address; the rates
    # are API_THROTTLE_RATE and API_ANON_THROTTLE_RATE below, read when a request comes.
    "DEFAULT_THROTTLE_CLASSES": [
        "organizations.authentication.ApiTokenRateThrottle",
        "organizations.authentication.AnonymousRateThrottle",
    ],
    "NUM_PROXIES": PROXY_COUNT,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "绩效考核与绩效工资 API",
    "DESCRIPTION": _(
        "Performance appraisal and performance-linked pay. Authenticate with "
        "'Authorization: Token <key>'; a token belongs to one membership and so to one organisation."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and ReDoc served from this site (drf-spectacular-sidecar), so /api/docs/ works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # The schema is generated in English whatever the caller's language, so enum names, operation ids
    # and descriptions are the same for everyone (a generated client does not change with the browser).
    "DEFAULT_GENERATOR_CLASS": "organizations.schema.EnglishSchemaGenerator",
    # One name for the period states wherever they appear (a period's state, a transition's target).
    "ENUM_NAME_OVERRIDES": {"PeriodStateEnum": "appraisal.models.Period.State",
                            "AppealStateEnum": "appraisal.models.Appeal.State",
                            "JobStateEnum": "organizations.models.Job.State",
                            "JobKindEnum": "organizations.models.Job.Kind",
                            "SpecialStatusEnum": "appraisal.choices.SpecialStatus",
                            # A team's kind, also a template's team_kind; a grading policy's quota
                            # rounding and a template's score rounding are different choice sets.
                            "TeamKindEnum": "organizations.models.Team.Kind",
                            "RoundingEnum": "appraisal.models.GradingPolicy.Rounding",
                            "TemplateRoundingEnum": "indicators.models.Rounding",
                            # A period's kind, also the kind of period a pay policy is limited to.
                            "PeriodKindEnum": "appraisal.models.Period.Kind"},
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"
DJANGO_TABLES2_TEMPLATE = "django_tables2/bootstrap5.html"

# CELERY_BROKER_URL unset → tasks run eagerly in the calling process (the demo, the fast tests).
_broker_url = env_optional("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = _broker_url is None
# Eager mode never talks to a broker; "memory://" stops kombu guessing amqp://localhost aloud.
CELERY_BROKER_URL = _broker_url or "memory://"
CELERY_RESULT_BACKEND = env_optional("CELERY_RESULT_BACKEND") or (
    None if _broker_url is None or _broker_url.startswith("filesystem:") else _broker_url)
if _broker_url is not None and _broker_url.startswith("filesystem:"):
    # bin/demo: a real worker without Redis. Messages are files in var/celery/ (one folder in and out:
    # the web process and the worker are producer and consumer of the same queue), so the close runs
    # in the background and its progress bar moves, as in production.
    _QUEUE_DIR = BASE_DIR / "var" / "celery" / "queue"
    _QUEUE_DIR.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(_QUEUE_DIR), "data_folder_out": str(_QUEUE_DIR),
                                       "control_folder": str(_QUEUE_DIR.parent / "control"),
                                       "store_processed": False}
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True  # a worker killed mid-task leaves the message for redelivery
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis hands a message that was delivered and never acknowledged (its worker was killed: tasks
# are acknowledged late) to another worker once it is this old. Longer than the longest task (a
# close of 100,000 employees with every sheet stale takes ~40 s), or a task still running would be
# delivered a second time (harmless: every task is safe to run twice, but it is work for nothing);
# short enough that a killed close resumes by itself within minutes. Each worker looks for such
# messages every few seconds (kombu's default is every 100 s).
CELERY_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 300, minimum=5)
if _broker_url is not None and _broker_url.startswith(("redis://", "rediss://", "redis+socket://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
                                       "unacked_restore_interval": max(1, min(10, CELERY_VISIBILITY_TIMEOUT // 5)),
                                       "unacked_restore_throttle": 1}
# A close goes in parts any worker may take (appraisal.services.close_parts): about this many
# sheets each, a population never split. Smaller parts spread a close over more workers; each part
# costs a message and a few queries.
CLOSE_PART_SHEETS = env_int("CLOSE_PART_SHEETS", 25000, minimum=1)
# A pay run goes in parts of about this many people, whole departments (payroll.pay_parts), unless a
# policy has a group component (it reads other people's pay) or the period has fewer people.
PAY_PART_PEOPLE = env_int("PAY_PART_PEOPLE", 25000, minimum=1)
# The queue tasks are sent to (a worker consumes it with -Q); the services tests use one of their own.
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "celery")
# A running job records a heartbeat at least this often (organizations.jobs.running); an unfinished
# job silent for JOB_DEAD_AFTER_SECONDS is dead: shown as stopped, restartable, and no longer in the
# way of starting the same job again.
JOB_HEARTBEAT_SECONDS = env_int("JOB_HEARTBEAT_SECONDS", 15, minimum=1)
# At least two beats long, or a live job passes for dead.
JOB_DEAD_AFTER_SECONDS = env_int("JOB_DEAD_AFTER_SECONDS", max(120, 4 * JOB_HEARTBEAT_SECONDS),
                                 minimum=2 * JOB_HEARTBEAT_SECONDS)
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# The beat's one periodic job: publish periods whose publication date came, finalise periods whose
# review window ended. Every five minutes is well inside a window measured in days.
CELERY_BEAT_SCHEDULE = {
    "appraisal-tick": {"task": "appraisal.tick", "schedule": env_int("APPRAISAL_TICK_SECONDS", 300)},
    # Reminders, period and job events no single write marks, and deliveries due for a retry.
    "notifications-tick": {"task": "organizations.notifications_tick", "schedule": env_int("NOTIFY_TICK_SECONDS", 60)},
}

# --- notifications (organizations.notifications) ----------------------------------------------------
# Email goes through Django's backend: SMTP when EMAIL_HOST is set, else the console (development).
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST
                        else "django.core.mail.backends.console.EmailBackend")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "appraisal@localhost")
# Where links in emails and robot messages point (the address people open the site at).
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")
NOTIFY_WECOM_URL = env_str("NOTIFY_WECOM_URL", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send")
NOTIFY_DINGTALK_URL = env_str("NOTIFY_DINGTALK_URL", "https://oapi.dingtalk.com/robot/send")
NOTIFY_HTTP_TIMEOUT = env_int("NOTIFY_HTTP_TIMEOUT", 10, minimum=1)
NOTIFY_ROBOT_PER_MINUTE = env_int("NOTIFY_ROBOT_PER_MINUTE", 20, minimum=1)
NOTIFY_MAX_ATTEMPTS = env_int("NOTIFY_MAX_ATTEMPTS", 5, minimum=1)
NOTIFY_RETRY_SECONDS = env_int("NOTIFY_RETRY_SECONDS", 60, minimum=1)
NOTIFY_SWEEP_BATCH = env_int("NOTIFY_SWEEP_BATCH", 500, minimum=1)

# --- HTTPS and browser security ----------------------------------------------------------------
# In production everything assumes HTTPS, terminated by a reverse proxy that sets X-Forwarded-Proto:
# secure cookies, a redirect from http://, HSTS for a year. A plain-HTTP intranet without TLS
# switches all of it off with the one variable DJANGO_INSECURE_HTTP=1 (cookies then travel in
# clear: only on a network you trust). Development never uses HTTPS.
INSECURE_HTTP = env_bool("DJANGO_INSECURE_HTTP", False)
_HTTPS = ENVIRONMENT == "production" and not INSECURE_HTTP
# DJANGO_SECURE_COOKIES (older, still set by docker-compose.yml) can only add secure cookies, e.g. to
# a development server behind TLS; it cannot take them away from production: DJANGO_INSECURE_HTTP does.
SESSION_COOKIE_SECURE = _HTTPS or env_bool("DJANGO_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = _HTTPS
# The container's healthcheck asks http://127.0.0.1:8000/healthz/ from inside: never redirected.
SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if _HTTPS else None
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31_536_000, minimum=0) if _HTTPS else 0
# Off by default: other hosts of the organisation's domain may still be plain HTTP, and HSTS would
# lock browsers out of them for a year. Preloading is a commitment for the whole domain: never here.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = False
# check --deploy warns about both deliberate choices above; everything else it checks must be clean.
SILENCED_SYSTEM_CHECKS = ["security.W021"] + ([] if SECURE_HSTS_INCLUDE_SUBDOMAINS else ["security.W005"])

# Content-Security-Policy (config.middleware): scripts and styles from this site only; no inline
# <script> or <style> (htmx's own indicator <style> is switched off in base.html). Inline style
# *attributes* are allowed: progress bars, distribution bars and tree indents set a width or a depth
# from data in style="…", and browsers without style-src-attr fall back to style-src 'self'.
# Bootstrap's CSS draws its icons (select arrows, close buttons) as data: SVG images.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
# The API's Swagger UI and ReDoc pages are drf-spectacular's: their bundles are served from this
# site (drf-spectacular-sidecar, so they work offline) and started with inline scripts; they show
# the schema only, never data. ReDoc still asks Google for its fonts and falls back without them.
CONTENT_SECURITY_POLICY_PATHS = {
    prefix: "; ".join([
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline' https://fonts.googleapis.com",
        "img-src 'self' data:",
        "font-src 'self' https://fonts.gstatic.com",
        "worker-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
    ])
    for prefix in ("/api/docs/", "/api/redoc/")
}

# --- sign-in lockout (django-axes; organizations.authentication) ----------------------------------
# Two rules, each over the failures of the last AXES_COOLOFF_MINUTES (a new failure restarts it):
# * AXES_FAILURE_LIMIT failed sign-ins of one username from one address lock that username at that
#   address, so a colleague at the same office PC or NAT can still sign in;
# * AXES_IP_FAILURE_LIMIT failures from one address, whatever the usernames, lock the address (one
#   guesser trying many accounts). A successful sign-in clears that username's failures there.
# The lockout page says until when; a superuser can lift a lockout at /platform-admin/axes/.
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_IP_FAILURE_LIMIT = env_int("AXES_IP_FAILURE_LIMIT", 50, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_HANDLER = "organizations.authentication.SignInLockoutHandler"
AXES_LOCKOUT_CALLABLE = "organizations.authentication.lockout_response"
AXES_CLIENT_IP_CALLABLE = "organizations.authentication.client_address"
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
# No "AXES: BEGIN …" banner on every process start (it lands in management commands' output).
AXES_VERBOSE = False

# --- API throttling (Django REST framework; organizations.authentication) ------------------------
# Requests per API token (a signed-in browser: per user); anonymous requests (only the schema and
# its docs accept them) per address. Counters live in the cache: set CACHE_URL to a Redis shared by
# the gunicorn workers, or each worker counts on its own (the rate then applies per worker).
API_THROTTLE_RATE = env_rate("API_THROTTLE_RATE", "1200/min")
API_ANON_THROTTLE_RATE = env_rate("API_ANON_THROTTLE_RATE", "60/min")
_cache_url = env_optional("CACHE_URL")
if _cache_url:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # Eager tasks in the demo would otherwise log every success to the console.
    "loggers": {"celery": {"level": env_str("CELERY_LOG_LEVEL", "WARNING")}},
}
