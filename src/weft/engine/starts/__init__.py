"""How runs begin: triggers, direct execution, sub-workflows and cron schedules."""
