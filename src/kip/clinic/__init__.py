"""The clinic web app: server-rendered pages (Django templates + htmx) for nurses and physicians."""
