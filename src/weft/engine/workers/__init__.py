"""One process's engine: services, worker loops, the host, sync answers, wake-ups and waiting."""
