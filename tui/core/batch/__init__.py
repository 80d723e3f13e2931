"""Batch cancellation: ``parse`` reads and checks a file of orders, ``runner`` cancels them
concurrently through the service's one cancel lifecycle."""

from __future__ import annotations

from tui.core.batch.parse import (
    CSV_COLUMNS,
    MAX_FILE_BYTES,
    MAX_ROWS,
    BatchPlan,
    BatchRow,
    BatchRowError,
    format_items,
    parse_batch,
    parse_items,
    read_batch_file,
)
from tui.core.batch.runner import (
    ALREADY_CANCELLED,
    DEFAULT_CONCURRENCY,
    EXIT_PRECEDENCE,
    HELD,
    MAX_CONCURRENCY,
    Action,
    BatchResult,
    BatchRunner,
    BatchSummary,
    default_provider_limits,
    exit_status,
    expected_action,
)

__all__ = [
    "ALREADY_CANCELLED",
    "CSV_COLUMNS",
    "DEFAULT_CONCURRENCY",
    "EXIT_PRECEDENCE",
    "HELD",
    "MAX_CONCURRENCY",
    "MAX_FILE_BYTES",
    "MAX_ROWS",
    "Action",
    "BatchPlan",
    "BatchResult",
    "BatchRow",
    "BatchRowError",
    "BatchRunner",
    "BatchSummary",
    "default_provider_limits",
    "exit_status",
    "expected_action",
    "format_items",
    "parse_batch",
    "parse_items",
    "read_batch_file",
]
