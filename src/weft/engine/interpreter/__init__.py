"""The graph interpreter: one claimed run's walk, its control steps, plan, scope and safe mode."""
