"""Settings for kip's web app. Everything a site changes comes from KIP_* environment variables."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from kip.site.database import DEFAULT_URL, from_url

VAR_DIR = Path(os.environ.get("KIP_VAR_DIR", "var"))


def _secret_key() -> str:
    """KIP_SECRET_KEY, or one made once and kept in the var directory (never in the repository)."""
    if key := os.environ.get("KIP_SECRET_KEY"):
        return key
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
# KIP_DEBUG is the command line's traceback switch; the web app has its own.
DEBUG = os.environ.get("KIP_WEB_DEBUG") == "1"
ALLOWED_HOSTS = os.environ.get("KIP_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "kip.registry",
    "kip.clinic",
]

MIDDLEWARE = [
    # First, so that every response (errors, redirects, static files included) gets the headers.
    "kip.clinic.security.SecurityHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "kip.clinic.security.SessionTimeoutMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "kip.site.urls"
WSGI_APPLICATION = "kip.site.wsgi.application"

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
                "kip.clinic.context.clinic",
            ],
        },
    },
]

DATABASES = {"default": from_url(os.environ.get("KIP_DATABASE_URL", DEFAULT_URL))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Argon2id first (OWASP ASVS 5.0); Django's defaults are t=2, m=100 MiB, p=8.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"

# Shared by every server process (gunicorn workers), so login throttling counts across them;
# `kip init` and Django's test database setup create the table (createcachetable).
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "kip_cache",
    }
}

# Security (OWASP ASVS 5.0; shared reference "Privacy, audit and security").
SESSION_COOKIE_NAME = "kip_session"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# Enforced by kip.clinic.security.SessionTimeoutMiddleware; the cookie age is only a backstop.
KIP_IDLE_TIMEOUT_SECONDS = int(os.environ.get("KIP_IDLE_TIMEOUT_SECONDS", 15 * 60))
KIP_ABSOLUTE_TIMEOUT_SECONDS = int(os.environ.get("KIP_ABSOLUTE_TIMEOUT_SECONDS", 12 * 3600))
SESSION_COOKIE_AGE = KIP_ABSOLUTE_TIMEOUT_SECONDS
# Failed sign-ins per username and client address within the window before sign-in is refused.
KIP_LOGIN_MAX_FAILURES = 5
KIP_LOGIN_FAILURE_WINDOW_SECONDS = 15 * 60
# htmx sends the token in a header taken from the page, so no script needs to read the cookie.
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Django sends HSTS only on HTTPS responses, so a year is safe as the default.
SECURE_HSTS_SECONDS = int(os.environ.get("KIP_HSTS_SECONDS", 365 * 24 * 3600))
# Behind a TLS-terminating proxy: trust its X-Forwarded-Proto and mark the cookies secure.
if os.environ.get("KIP_TLS_PROXY") == "1":
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = os.environ.get("KIP_SECURE_COOKIES") == "1" or (
    os.environ.get("KIP_TLS_PROXY") == "1"
)

# Login throttling behind a reverse proxy (kip.site.client_address): comma-separated addresses or
# CIDR networks whose X-Forwarded-For is believed. Empty: the header is never read. Every
# password check goes through the throttled backend (kip.clinic.throttle).
KIP_TRUSTED_PROXIES = [
    p.strip() for p in os.environ.get("KIP_TRUSTED_PROXIES", "").split(",") if p.strip()
]
AUTHENTICATION_BACKENDS = ["kip.clinic.throttle.ThrottledModelBackend"]
