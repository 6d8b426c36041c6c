"""Weft: self-hostable private workflows, compatible with Refold's public API."""

__version__ = "0.1.0"
