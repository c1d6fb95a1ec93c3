"""What the benchmark scripts share: figures as median and spread, and their own section of BENCHMARKS.md."""

from __future__ import annotations

import os
import pathlib
import statistics
from collections.abc import Sequence


def median_and_spread(values: Sequence[float], digits: int = 2) -> dict[str, float]:
    """The median of repeated measurements with their lowest and highest, as a benchmark reports them."""
    return {"median": round(statistics.median(values), digits), "min": round(min(values), digits), "max": round(max(values), digits)}


def spread_text(figure: dict[str, float]) -> str:
    """'12.3 (11.9-13.0)': a median with its spread, as the tables show it."""
    return f"{figure['median']} ({figure['min']}-{figure['max']})"


def replace_section(output: str, heading: str, text: str) -> None:
    """Writes `text` as the section starting at `heading` in `output`, keeping every other section."""
    existing = pathlib.Path(output).read_text(encoding="utf-8") if os.path.exists(output) else "# Benchmarks\n"
    start = existing.find(f"\n{heading}\n")
    if start < 0:
        updated = existing.rstrip("\n") + "\n\n" + text
    else:
        following = existing.find("\n## ", start + len(heading) + 2)
        updated = existing[: start + 1] + text.rstrip("\n") + "\n" + (existing[following:] if following >= 0 else "")
    pathlib.Path(output).write_text(updated.rstrip("\n") + "\n", encoding="utf-8")
