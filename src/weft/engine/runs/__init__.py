"""A run's record: statuses, every status change, the claim, fenced writes and leases, reads."""
