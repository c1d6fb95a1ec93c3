"""What the benchmark scripts share: the example plan, the emulated AWS environment, figures as median and
spread, and each script's own section of BENCHMARKS.md."""

from __future__ import annotations

import json
import os
import pathlib
import statistics
import subprocess
from collections.abc import Sequence

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def example_plan(mapping: str = "customers") -> dict:
    """The job plan the Pulumi program builds from the example mapping (scripts/print-plan.ts)."""
    printed = subprocess.run(["npx", "tsx", "scripts/print-plan.ts", mapping], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    return json.loads(printed.stdout)


def use_emulated_aws(endpoint: str, region: str) -> None:
    """Points every AWS client this process (and Spark's Python workers) makes at the emulator, with its test credentials."""
    os.environ.update(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=region)


def median_and_spread(values: Sequence[float], digits: int | None = 2) -> dict[str, float]:
    """The median of repeated measurements with their lowest and highest, as a benchmark reports them (unrounded with `digits` None)."""
    figure = {"median": statistics.median(values), "min": min(values), "max": max(values)}
    return figure if digits is None else {name: round(value, digits) for name, value in figure.items()}


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
