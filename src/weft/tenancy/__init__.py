"""Organisations, API keys, linked accounts, session tokens and the tenant Scope."""

from weft.store.scope import ENVIRONMENTS, OrgScope, Scope

__all__ = ["ENVIRONMENTS", "OrgScope", "Scope"]
