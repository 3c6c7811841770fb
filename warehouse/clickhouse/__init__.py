"""ClickHouse: raw events and the queries over them (chDB embedded, or a server)."""
