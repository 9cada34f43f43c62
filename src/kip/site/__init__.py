"""The Django project that serves kip: settings, URLs, WSGI entry point."""
