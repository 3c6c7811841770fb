"""Per-tenant usage in PostgreSQL, one module per job: the dedup record (dedup), the
windows (windows), the stream's positions (positions), dead letters (dead_letters) and
late-usage corrections (corrections). Tables are declared in ..tables."""

from .corrections import (
    CorrectionRecord, InvoicedPeriod, add_corrections, invoiced_periods, invoiced_periods_by_tenant, pending_corrections,
)
from .dead_letters import DeadLetterRecord, add_dead_letters, count_dead_letters_since, list_dead_letters
from .dedup import (
    DuplicateConflict, add_duplicate_conflicts, add_duplicate_conflicts_by_tenant, add_duplicates,
    add_duplicates_by_tenant, claim_new_events, claim_new_events_by_tenant, committed_among, duplicate_counts,
    list_duplicate_conflicts, prune_processed_events,
)
from .positions import PartitionPosition, list_positions, load_positions, save_positions
from .windows import (
    ROLLUP_LINE_COLUMNS, CommittedRollups, WindowRow, add_usage, upsert_usage, upsert_usage_as_rollups, usage_hours,
    usage_windows,
)
from ..tables import dead_letter, duplicate_tally, stream_position, usage_correction

__all__ = [
    "claim_new_events", "committed_among", "add_usage", "upsert_usage", "WindowRow", "usage_hours",
    "usage_windows", "dead_letter", "duplicate_tally", "usage_correction", "stream_position",
    "DeadLetterRecord", "CorrectionRecord", "PartitionPosition", "InvoicedPeriod",
    "load_positions", "save_positions", "list_positions", "invoiced_periods", "add_corrections",
    "add_dead_letters", "add_duplicates", "prune_processed_events",
    "list_dead_letters", "count_dead_letters_since", "duplicate_counts", "pending_corrections",
    "DuplicateConflict", "add_duplicate_conflicts", "list_duplicate_conflicts",
    "claim_new_events_by_tenant", "add_duplicates_by_tenant", "add_duplicate_conflicts_by_tenant",
    "invoiced_periods_by_tenant", "upsert_usage_as_rollups", "CommittedRollups",
    "ROLLUP_LINE_COLUMNS",
]
