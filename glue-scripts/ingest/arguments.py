"""Job arguments, named once per job in contracts/<name>.json and shared with the Pulumi program.

Each contract lists `deployArguments` (fixed when the job is deployed) and, for a job started per
event, `runArguments` (given to each run). A scheduled job has deploy arguments only. A job that
keeps something per run names Glue's own run arguments (`JOB_RUN_ID`) under `glueArguments`. A run
argument that only some runs get (the export's `delivered_key`, given by its on-delivery starter and
not by its schedule) is listed under `optionalRunArguments`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest.contract_files import packaged_contract

EXTRACT_JOB_CONTRACT = "job_arguments"
EXPORT_JOB_CONTRACT = "export_job_arguments"
MAINTENANCE_JOB_CONTRACT = "maintenance_job_arguments"


@dataclass(frozen=True)
class ArgumentContract:
    deploy: tuple[str, ...]
    run: tuple[str, ...]
    glue: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()

    @property
    def all(self) -> tuple[str, ...]:
        return self.deploy + self.run + self.glue


def load_contract(name: str) -> ArgumentContract:
    """The argument names of one job, from `contracts/<name>.json` inside the package."""
    contract = packaged_contract(f"{name}.json")
    return ArgumentContract(
        deploy=tuple(contract["deployArguments"]),
        run=tuple(contract.get("runArguments", {})),
        glue=tuple(contract.get("glueArguments", {})),
        optional=tuple(contract.get("optionalRunArguments", {})),
    )


def given_optional(argv: list[str], optional: tuple[str, ...]) -> tuple[str, ...]:
    """The optional argument names this run was given (`--name value` or `--name=value`)."""
    return tuple(name for name in optional if f"--{name}" in argv or any(token.startswith(f"--{name}=") for token in argv))


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
