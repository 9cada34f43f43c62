"""The registry: everything the study collected, as Django models with an audit trail."""
