"""What a driver-side splitter yields (``Piece``: a record's raw bytes, or a span it could not
split, with its reason) and where every byte it read went (``Ledger``): the reconciliation that
makes a record read but never yielded impossible."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple


class Piece(NamedTuple):
    """A record's raw bytes; ``reason`` set when the bytes are a broken span, quarantined as is."""
    raw: bytes
    reason: str | None = None


@dataclass
class Ledger:
    """Where every byte read went (UTF-8 bytes, BOMs and invalid bytes included)."""
    read: int = 0
    records: int = 0
    record_bytes: int = 0
    skipped: int = 0
    skipped_bytes: int = 0
    structure_bytes: int = 0  # JSON: brackets, commas, white space, BOMs; CSV: BOM, header, empty lines
    outside_bytes: int = 0   # COCO: the object around the annotations array
    reasons: dict = field(default_factory=dict)

    def check(self) -> None:
        accounted = self.record_bytes + self.skipped_bytes + self.structure_bytes + self.outside_bytes
        if accounted != self.read:
            raise AssertionError(f"the splitter lost bytes: read {self.read}, accounted {accounted} ({self})")

    def add(self, raw: bytes, reason: str | None) -> Piece:
        if reason is None:
            self.records += 1
            self.record_bytes += len(raw)
        else:
            self.skipped += 1
            self.skipped_bytes += len(raw)
            self.reasons[reason] = self.reasons.get(reason, 0) + 1
        return Piece(raw, reason)
