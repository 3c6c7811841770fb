"""Stream processing: dedup, aggregation and the ClickHouse/PostgreSQL sinks (faust-streaming)."""
