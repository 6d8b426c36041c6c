"""The group commit: the fenced writes of many runs in one transaction of the database's writer."""
