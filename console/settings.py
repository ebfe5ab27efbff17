"""Django settings. Every value that differs between machines comes from `console.config`."""
import dj_database_url

from console import config

BASE_DIR = config.BASE_DIR
DATA_DIR = config.data_dir()

SECRET_KEY = config.secret_key()
DEBUG = config.env("DJANGO_DEBUG", "0") == "1"
ALLOWED_HOSTS = [h.strip() for h in config.env("ALLOWED_HOSTS", "*").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in config.env("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

EAS_REGION = config.env("EAS_REGION", "cn-shanghai")
EAS_CONSOLE_URL = config.console_url()
EAS_GATEWAY_URL = config.gateway_url()
EAS_GATEWAY_INTRANET_URL = config.env("EAS_GATEWAY_INTRANET_URL") or EAS_GATEWAY_URL
EAS_DRAIN_SECONDS = float(config.env("EAS_DRAIN_SECONDS", "1"))
# Where a node agent keeps its instances' logs and working files.
EAS_AGENT_DATA_DIR = config.env("EAS_AGENT_DATA_DIR") or str(DATA_DIR / "agent")
EAS_WEB_PORT = config.web_port()
EAS_GATEWAY_PORT = config.gateway_port()
EAS_JOIN_TOKEN = config.join_token()
# Model storage (services.storage): the per-machine cache of fetched models, limits on what one
# upload, download or archive may bring in, and the AccessKey for external S3-compatible stores.
EAS_STORAGE_CACHE_DIR = config.env("EAS_STORAGE_CACHE_DIR") or str(DATA_DIR / "cache")
EAS_STORAGE_MAX_OBJECT_BYTES = int(config.env("EAS_STORAGE_MAX_OBJECT_BYTES", str(20 * 1024 ** 3)))
EAS_STORAGE_MAX_EXTRACTED_BYTES = int(config.env("EAS_STORAGE_MAX_EXTRACTED_BYTES", str(50 * 1024 ** 3)))
EAS_STORAGE_MAX_ARCHIVE_MEMBERS = int(config.env("EAS_STORAGE_MAX_ARCHIVE_MEMBERS", "100000"))
EAS_STORAGE_TIMEOUT_SECONDS = float(config.env("EAS_STORAGE_TIMEOUT_SECONDS", "60"))
EAS_OSS_ACCESS_KEY_ID = config.env("EAS_OSS_ACCESS_KEY_ID")
EAS_OSS_ACCESS_KEY_SECRET = config.env("EAS_OSS_ACCESS_KEY_SECRET")
EAS_HEARTBEAT_SECONDS = float(config.env("EAS_HEARTBEAT_SECONDS", "5"))
# How long monitoring samples (gateway call windows, instance usage) are kept.
EAS_METRICS_RETENTION_DAYS = float(config.env("EAS_METRICS_RETENTION_DAYS", "7"))
# How often node agents sample their instances' CPU and memory.
EAS_USAGE_SECONDS = float(config.env("EAS_USAGE_SECONDS", "10"))
EAS_MISSED_HEARTBEATS = int(config.env("EAS_MISSED_HEARTBEATS", "3"))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "channels",
    "console",
    "console.iam",
    "resourcegroups",
    "services",
    "frontend",
]

MIDDLEWARE = [
    "console.iam.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "console.iam.middleware.AuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "console.urls"
ASGI_APPLICATION = "console.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

DATABASES = {"default": dj_database_url.parse(config.database_url(), conn_max_age=60)}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Several processes share the embedded database: wait for locks instead of failing.
    DATABASES["default"]["OPTIONS"] = {"timeout": 30, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Integration tests share the test database with real processes, so it must be a file.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": config.redis_url(),
    }
}

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [config.redis_url()], "prefix": "eas"},
    }
}

CELERY_BROKER_URL = config.broker_url()
CELERY_RESULT_BACKEND = config.redis_url()
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "run-scheduled-redeploys": {"task": "services.run_due_redeploys", "schedule": 30.0},
    "meter-public-instances": {"task": "services.meter_public_instances", "schedule": 600.0},
    "forget-old-usage": {"task": "services.forget_old_usage", "schedule": 3600.0},
    "reconcile-services": {
        "task": "services.reconcile_all",
        "schedule": float(config.env("EAS_RECONCILE_SECONDS", "10")),
    },
    "mark-unresponsive-machines": {
        "task": "resourcegroups.mark_unresponsive_machines",
        "schedule": EAS_HEARTBEAT_SECONDS,
    },
    "resourcegroup-lifecycle": {"task": "resourcegroups.run_lifecycle", "schedule": 60.0},
    "resourcegroup-metering": {"task": "resourcegroups.meter_usage", "schedule": 600.0},
}

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "console.iam.api.authentication.AcsSignatureAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "EXCEPTION_HANDLER": "console.iam.api.exceptions.exception_handler",
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}

SPECTACULAR_SETTINGS = {
    "TITLE": "EAS platform API",
    "DESCRIPTION": "Control-plane API in the shape of the EAS 2021-07-01 OpenAPI.",
    "VERSION": "2021-07-01",
    "SERVE_INCLUDE_SCHEMA": False,
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "/login/"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "console.iam.backends.RamUserBackend",
]
# Encrypts AccessKey secrets at rest; empty means derive from SECRET_KEY.
EAS_SECRET_ENCRYPTION_KEY = config.env("EAS_SECRET_ENCRYPTION_KEY", "")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": config.env("EAS_LOG_LEVEL", "INFO")},
}
