"""Shared test setup. Database tests carry the `django_db` mark: `make test` runs them on SQLite,
then again on PostgreSQL (KIP_DATABASE_URL) with `-m django_db`."""
