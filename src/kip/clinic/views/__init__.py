"""The clinic's views, one module per page family."""
