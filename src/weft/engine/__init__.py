"""Executions, in five parts (docs/architecture.md, "The engine's parts"):

- `runs`: a run's record: statuses and their transitions, every status change (`lifecycle`), the
  claimed run's fenced writes and leases (`queue`), the claim, reads of runs and steps, retention;
- `writes`: the group commit and its one fenced writer per database;
- `interpreter`: the graph walk of one claimed run (`runner`), the control steps, the plan, the
  expression scope, safe mode and single-node runs;
- `starts`: how runs begin: triggers (execute, events, webhooks, tests, reruns), direct
  execution, sub-workflows, cron;
- `workers`: what one process runs and shares: `Services`, the worker loops and the engine host,
  sync callers' answers, wake-ups and waiting.
"""
