"""The service layer: the one place the registry applies clinical rules, for pages and API alike.

Every function takes the acting user, checks `kip.registry.access` for the object's site, asks the
protocol engine, and writes in one transaction inside an audit context. Errors are ServiceError
subclasses naming the field and the rule (see errors.py)."""
