"""Job arguments, named once in contracts/job_arguments.json and shared with the Pulumi program."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class ArgumentContract:
    deploy: tuple[str, ...]
    run: tuple[str, ...]

    @property
    def all(self) -> tuple[str, ...]:
        return self.deploy + self.run


def load_contract() -> ArgumentContract:
    text = resources.files("ingest").joinpath("contracts/job_arguments.json").read_text(encoding="utf-8")
    contract = json.loads(text)
    return ArgumentContract(
        deploy=tuple(contract["deployArguments"]),
        run=tuple(contract["runArguments"]),
    )


def resolve_arguments(argv: list[str], names: tuple[str, ...]) -> dict[str, str]:
    """Reads `--name value` pairs like Glue's getResolvedOptions, failing on any missing name."""
    values: dict[str, str] = {}
    index = 1
    while index < len(argv):
        token = argv[index]
        if token.startswith("--") and "=" in token:
            key, value = token[2:].split("=", 1)
            values[key] = value
            index += 1
        elif token.startswith("--") and index + 1 < len(argv):
            values[token[2:]] = argv[index + 1]
            index += 2
        else:
            index += 1
    missing = [name for name in names if name not in values]
    if missing:
        raise ValueError(f"missing job arguments: {', '.join('--' + name for name in missing)}")
    return {name: values[name] for name in names}
