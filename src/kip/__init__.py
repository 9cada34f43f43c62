"""kip: Ketamine Infusion Program."""

__version__ = "0.1.0"
