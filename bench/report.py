"""Figures, goals, the noise rule and the printed table."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Stats:
    """Samples of one figure over the rounds."""

    samples: tuple[float, ...]

    @classmethod
    def of(cls, samples) -> Stats:
        return cls(tuple(samples))

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def spread(self) -> float:
        """Median absolute deviation from the median: the run's own noise, robust to one odd
        round (0 for a single sample)."""
        m = self.median
        return statistics.median(abs(s - m) for s in self.samples)

    @property
    def low(self) -> float:
        return min(self.samples)

    @property
    def high(self) -> float:
        return max(self.samples)


@dataclass(frozen=True)
class Goal:
    """`value < limit` (or `<=`); lower is better for every figure we have."""

    limit: float
    inclusive: bool = True

    def __str__(self) -> str:
        return f"{'≤' if self.inclusive else '<'} {_number(self.limit)}"

    def met_by(self, value: float) -> bool:
        return value <= self.limit if self.inclusive else value < self.limit


PENDING = "pending UI"


@dataclass
class Row:
    name: str
    stats: Stats | None  # None: not measured (pending)
    unit: str = ""
    goal: Goal | None = None
    note: str = ""
    passed: bool | None = None  # a check that passes or fails, whatever the figure
    status: str = field(default="", init=False)

    def __post_init__(self) -> None:
        if self.passed is not None:
            self.status = "ok" if self.passed else "FAILED"
        elif self.stats is None:
            self.status = PENDING
        elif self.goal is None:
            self.status = ""
        elif self.goal.met_by(self.stats.median):
            self.status = "ok"
        elif self.goal.met_by(self.stats.median - self.stats.spread):
            self.status = "ok (within noise)"
        else:
            self.status = "MISSED"

    @property
    def missed(self) -> bool:
        return self.status in ("MISSED", "FAILED")

    def as_dict(self) -> dict:
        s = self.stats
        return {
            "name": self.name,
            "unit": self.unit,
            "median": s.median if s else None,
            "spread": s.spread if s else None,
            "min": s.low if s else None,
            "max": s.high if s else None,
            "samples": list(s.samples) if s else None,
            "goal": str(self.goal) if self.goal else None,
            "status": self.status,
            "passed": self.passed,
            "note": self.note,
        }


def _number(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}" if abs(value) >= 0.1 else f"{value:.3f}"


def table(rows: list[Row]) -> str:
    header = ("measurement", "median", "± spread", "min-max", "goal", "status")
    lines = []
    for row in rows:
        unit = f" {row.unit}" if row.unit else ""
        if row.stats is None:
            cells = (row.name, "—", "", "", f"{row.goal}{unit}" if row.goal else "", row.status)
        else:
            s = row.stats
            one = len(s.samples) == 1
            cells = (
                row.name,
                f"{_number(s.median)}{unit}",
                "" if one else f"± {_number(s.spread)}",
                "" if one else f"{_number(s.low)}-{_number(s.high)}",
                f"{row.goal}{unit}" if row.goal else "",
                row.status,
            )
        lines.append((cells, row.note))
    widths = [max(len(h), *(len(c[i]) for c, _ in lines)) for i, h in enumerate(header)]

    def fmt(cells) -> str:
        return "  ".join(
            c.ljust(w) if i in (0, 4, 5) else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    out = [fmt(header), fmt(tuple("-" * w for w in widths))]
    for cells, note in lines:
        out.append(fmt(cells))
        if note:
            out.append(f"    {note}")
    return "\n".join(out)
