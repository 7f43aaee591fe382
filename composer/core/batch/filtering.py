"""Which batch rows a filter keeps: text in the event name or distinct ID, and a verdict.

Pure and over a list of rows, so the window can run it off the GUI thread: a Python test per
row from the view (QSortFilterProxyModel.filterAcceptsRow) took 3.9 s for one pass over
100,000 rows, with the window frozen for all of it.
"""

from __future__ import annotations

from collections.abc import Sequence

from composer.core.batch.rows import BatchRow, RowStatus
from composer.core.findings import Severity

CHOICES = ("All rows", "Errors", "Warnings", "Clean", "Failed", "Held back")


def is_active(text: str, choice: str) -> bool:
    return bool(text.strip()) or choice != CHOICES[0]


def keeps(row: BatchRow, text: str, choice: str) -> bool:
    """`text` is already stripped and lower-cased."""
    if text and text not in row.name.lower() and text not in row.distinct_id.lower():
        return False
    if choice == "Errors":
        return row.verdict is Severity.ERROR
    if choice == "Warnings":
        return row.verdict is Severity.WARNING
    if choice == "Clean":
        return row.findings is not None and row.verdict in (None, Severity.INFO)
    if choice == "Failed":
        return row.status is RowStatus.FAILED
    if choice == "Held back":
        return row.status is RowStatus.HELD or row.blocked
    return True


def matching_rows(rows: Sequence[BatchRow], text: str, choice: str) -> list[int]:
    """The positions of the rows the filter keeps, in order."""
    wanted = text.strip().lower()
    return [i for i, row in enumerate(rows) if keeps(row, wanted, choice)]
