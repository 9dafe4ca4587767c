"""A Django project whose database is the one libpq's environment names, as pgwarden hands --dsn to a migration
(PGHOST, PGPORT, PGUSER, PGPASSWORD and PGAPPNAME are read by libpq itself; only the database name is Django's)."""
import os

SECRET_KEY = "pgwarden-test-fixture-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = []
INSTALLED_APPS = ["shop"]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("PGDATABASE", "postgres"),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
