"""The JSON contracts packaged with the jobs (`ingest/contracts/`), which the Pulumi program and the operator's command line read too."""

from __future__ import annotations

import json
from importlib import resources


def packaged_contract(file_name: str) -> dict:
    """The document of `contracts/<file_name>`, read from the package as Glue's --extra-py-files ships it."""
    return json.loads(resources.files("ingest").joinpath(f"contracts/{file_name}").read_text(encoding="utf-8"))
