"""kip's JSON API (django-ninja) over the registry services, with the same permissions.

Authentication, in the order tried:
- `Authorization: Bearer <token>`: a signed token from `POST /api/auth/token` (8 hours; void
  once the password changes). For scripts and the benchmark: no password hashing per request.
- `Authorization: Basic ...`: username and password, for scripts that do not keep a token.
- the Django session cookie of a signed-in browser; unsafe methods then need the CSRF token
  (`X-CSRFToken` header), as Django's forms do.
"""
