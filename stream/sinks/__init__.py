"""Where the stream writes: ClickHouse raw events, PostgreSQL usage and the dedup record."""
