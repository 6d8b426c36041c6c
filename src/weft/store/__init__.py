"""Storage: SQLAlchemy engine and session setup, table definitions, dialect helpers."""
