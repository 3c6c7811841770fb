"""What the stream did with a tenant's events: dead letters, duplicates, corrections."""
