"""Executions: the queue (claim, lease, heartbeat), the runner, triggers, scheduler, workers."""
