"""Apps for AI agents: direct actions (one action for a linked account, no workflow) and the
tools of a linked account's MCP servers."""
