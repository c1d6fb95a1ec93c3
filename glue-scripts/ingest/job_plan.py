"""The job plan: the JSON the Pulumi program builds for a pipeline (config/job-plan.ts), read once into frozen dataclasses.

`parse_job_plan` checks the document against contracts/job_plan.schema.json, the schema the
TypeScript `jobPlanSchema` generates (so both sides check one contract), and then for what a
schema cannot say: that a parent, an item node, a key or an activity column names a table and
column the plan has. Every problem is reported at once, by its path in the document
(`tables[2].parent.table: ...`). The extract job, the maintenance job and the local tools read the
typed plan; nothing after the parse looks a field up by name.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from ingest.archive import ArchiveLimits, UnknownFiles
from ingest.contract_files import packaged_contract
from ingest.csv_dialect import CsvDialect
from ingest.locations import load_json

TableMode = Literal["incremental", "full"]
LakeRole = Literal["current", "history", "keys"]
KeyType = Literal["S", "N"]
OversizePolicy = Literal["fail", "skip", "quarantine"]


class JobPlanError(ValueError):
    """The job plan is not usable; the message lists every problem, each by its path in the document."""


# ---------------------------------------------------------------------------------------------
# The typed plan


@dataclass(frozen=True)
class ArchiveNaming:
    regex: str
    groups: tuple[str, ...]
    timestamp_format: str


@dataclass(frozen=True)
class ExtractSettings:
    landing_prefix: str
    archive_naming: ArchiveNaming
    csv: CsvDialect
    limits: ArchiveLimits
    unknown_files: UnknownFiles
    unknown_columns: Literal["reject", "ignore"]


@dataclass(frozen=True)
class PlanColumn:
    name: str
    type: str  # Glue/Spark SQL type name
    nullable: bool
    format: str | None = None  # datetime pattern, for date and timestamp columns


@dataclass(frozen=True)
class JoinPair:
    child: str
    parent: str


@dataclass(frozen=True)
class ParentLink:
    table: str
    on: tuple[JoinPair, ...]


@dataclass(frozen=True)
class Deletes:
    column: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class PlanTable:
    """One mapped table: its file, columns, key, parent and how its extracts change the lake."""

    name: str
    file_glob: str
    file_regex: str
    required: bool
    primary_key: tuple[str, ...]
    columns: tuple[PlanColumn, ...]
    mode: TableMode  # full: rows of current state absent from the extract were deleted
    catalog_table: str
    lake_prefix: str
    parent: ParentLink | None = None
    deletes: Deletes | None = None

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)


@dataclass(frozen=True)
class TypedName:
    name: str
    type: str


@dataclass(frozen=True)
class RootColumn:
    name: str  # ingest_root_<column>, as every current row carries it
    column: str  # the root table's primary key column
    type: str


@dataclass(frozen=True)
class LakeColumn:
    name: str
    type: str
    required: bool


@dataclass(frozen=True)
class LakeTableSpec:
    """One Iceberg table of the lake as the plan declares it (`ingest.lake.LakeTable` adds its catalog identifier)."""

    name: str  # Glue Data Catalog table name
    table: str  # the mapped table it holds
    role: LakeRole
    description: str
    location: str  # key prefix in the lake bucket
    columns: tuple[LakeColumn, ...]
    partition_by: tuple[tuple[str, str], ...]  # (column, transform: identity or bucket[N])
    sort_by: tuple[str, ...]
    properties: Mapping[str, str]


@dataclass(frozen=True)
class LakeSettings:
    metadata_columns: tuple[TypedName, ...]
    root_columns: tuple[RootColumn, ...]
    buckets: int
    tables: tuple[LakeTableSpec, ...]


@dataclass(frozen=True)
class ItemKey:
    """A key attribute of the items: from a root column, or a constant value."""

    attribute: str
    type: KeyType
    column: str | None = None
    value: str | None = None


@dataclass(frozen=True)
class ActivityColumn:
    table: str
    column: str


@dataclass(frozen=True)
class ItemTtl:
    attribute: str
    retention_days: int
    activity: tuple[ActivityColumn, ...]


@dataclass(frozen=True)
class NodeAttribute:
    column: str
    attribute: str


@dataclass(frozen=True)
class ItemCollection:
    attribute: str
    order_by: tuple[str, ...]
    node: ItemNode


@dataclass(frozen=True)
class ItemNode:
    table: str
    attributes: tuple[NodeAttribute, ...]
    collections: tuple[ItemCollection, ...]


@dataclass(frozen=True)
class ItemShape:
    partition_key: ItemKey
    sort_key: ItemKey | None
    version_attribute: str
    snapshot_attribute: str
    ttl: ItemTtl
    root: ItemNode

    @property
    def keys(self) -> tuple[ItemKey, ...]:
        return (self.partition_key,) if self.sort_key is None else (self.partition_key, self.sort_key)


@dataclass(frozen=True)
class QuarantineSettings:
    max_rejected_fraction: float  # of a table's rows; more rejected fails the run before anything is loaded


@dataclass(frozen=True)
class OversizeSettings:
    policy: OversizePolicy
    max_item_bytes: int


@dataclass(frozen=True)
class JobPlan:
    plan_version: int
    pipeline: str
    extract: ExtractSettings
    tables: tuple[PlanTable, ...]  # parents before children, then by name
    lake: LakeSettings
    item: ItemShape
    quarantine: QuarantineSettings
    oversize: OversizeSettings

    def table(self, name: str) -> PlanTable:
        return next(table for table in self.tables if table.name == name)


# ---------------------------------------------------------------------------------------------
# Parsing


def parse_job_plan(document: object) -> JobPlan:
    """Validates the job plan JSON; raises JobPlanError listing every problem."""
    if not isinstance(document, dict):
        raise JobPlanError("the job plan must be a JSON object")
    schema = _plan_schema()
    problems: list[str] = []
    _check(document, schema, schema, "", problems)
    if problems:
        raise JobPlanError("; ".join(problems))
    plan = _build(document)
    problems = _references(plan)
    if problems:
        raise JobPlanError("; ".join(problems))
    return plan


def load_job_plan(s3, uri: str) -> JobPlan:
    """The job plan stored at `uri` (s3://, or a local path for local runs); a JobPlanError names the URI and every problem."""
    try:
        return parse_job_plan(load_json(s3, uri))
    except (JobPlanError, json.JSONDecodeError) as error:
        raise JobPlanError(f"{uri}: {error}") from error


@functools.cache
def _plan_schema() -> dict:
    return packaged_contract("job_plan.schema.json")


# The keywords of the schema the validator below applies; the others only describe.
SCHEMA_KEYWORDS = frozenset(
    {
        "type",
        "const",
        "enum",
        "properties",
        "required",
        "additionalProperties",
        "propertyNames",
        "items",
        "minItems",
        "minimum",
        "maximum",
        "$ref",
    }
)
ANNOTATIONS = frozenset({"$schema", "$comment", "$defs", "description"})

_JSON_TYPES = {
    "object": lambda value: isinstance(value, dict),
    "array": lambda value: isinstance(value, list),
    "string": lambda value: isinstance(value, str),
    "boolean": lambda value: isinstance(value, bool),
    "integer": lambda value: isinstance(value, int) and not isinstance(value, bool),
    "number": lambda value: isinstance(value, int | float) and not isinstance(value, bool),
}


def _check(value: object, schema: Mapping, root: Mapping, path: str, problems: list[str]) -> None:
    """The schema's rules (the keywords in SCHEMA_KEYWORDS) applied to `value`, each failure appended with its path."""
    where = path or "the job plan"
    if "$ref" in schema:
        _check(value, _resolve(root, schema["$ref"]), root, path, problems)
    expected = schema.get("type")
    if expected is not None and not _JSON_TYPES[expected](value):
        article = "an" if expected[0] in "aeiou" else "a"
        problems.append(f"{where}: must be {article} {expected}, not {json.dumps(value)}")
        return
    if "const" in schema and value != schema["const"]:
        problems.append(f"{where}: must be {json.dumps(schema['const'])}, not {json.dumps(value)}")
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where}: {json.dumps(value)} is not one of {', '.join(map(str, schema['enum']))}")
    if ("minimum" in schema and value < schema["minimum"]) or ("maximum" in schema and value > schema["maximum"]):
        problems.append(f"{where}: {value} is out of range")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        problems.extend(f"{_join(path, name)}: missing" for name in schema.get("required", ()) if name not in value)
        for name, member in value.items():
            if "propertyNames" in schema:
                _check(name, schema["propertyNames"], root, _join(path, name), problems)
            if name in properties:
                _check(member, properties[name], root, _join(path, name), problems)
            elif schema.get("additionalProperties") is False:
                problems.append(f"{_join(path, name)}: unknown field")
            elif isinstance(schema.get("additionalProperties"), Mapping):
                _check(member, schema["additionalProperties"], root, _join(path, name), problems)
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            problems.append(f"{where}: must have at least {schema['minItems']} item(s)")
        for index, member in enumerate(value):
            if "items" in schema:
                _check(member, schema["items"], root, f"{path}[{index}]", problems)


def _resolve(root: Mapping, reference: str) -> Mapping:
    if not reference.startswith("#/"):
        raise ValueError(f"unsupported $ref {reference}")
    target = root
    for part in reference[2:].split("/"):
        target = target[part]
    return target


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _build(document: dict) -> JobPlan:
    """The typed plan of a document the schema accepted."""
    extract, lake, item = document["extract"], document["lake"], document["item"]
    limits = extract["limits"]
    return JobPlan(
        plan_version=document["planVersion"],
        pipeline=document["pipeline"],
        extract=ExtractSettings(
            landing_prefix=extract["landingPrefix"],
            archive_naming=ArchiveNaming(
                regex=extract["archiveNaming"]["regex"],
                groups=tuple(extract["archiveNaming"]["groups"]),
                timestamp_format=extract["archiveNaming"]["timestampFormat"],
            ),
            csv=CsvDialect.from_plan(extract["csv"]),
            limits=ArchiveLimits(
                max_entries=limits["maxEntries"],
                max_uncompressed_bytes=limits["maxUncompressedBytes"],
                max_compression_ratio=limits["maxCompressionRatio"],
            ),
            unknown_files=extract["unknownFiles"],
            unknown_columns=extract["unknownColumns"],
        ),
        tables=tuple(_table(table) for table in document["tables"]),
        lake=LakeSettings(
            metadata_columns=tuple(TypedName(column["name"], column["type"]) for column in lake["metadataColumns"]),
            root_columns=tuple(RootColumn(column["name"], column["column"], column["type"]) for column in lake["rootColumns"]),
            buckets=lake["buckets"],
            tables=tuple(
                LakeTableSpec(
                    name=spec["name"],
                    table=spec["table"],
                    role=spec["role"],
                    description=spec["description"],
                    location=spec["location"],
                    columns=tuple(LakeColumn(column["name"], column["type"], column["required"]) for column in spec["columns"]),
                    partition_by=tuple((field["column"], field["transform"]) for field in spec["partitionBy"]),
                    sort_by=tuple(spec["sortBy"]),
                    properties=dict(spec["properties"]),
                )
                for spec in lake["tables"]
            ),
        ),
        item=ItemShape(
            partition_key=_key(item["partitionKey"]),
            sort_key=_key(item["sortKey"]) if "sortKey" in item else None,
            version_attribute=item["versionAttribute"],
            snapshot_attribute=item["snapshotAttribute"],
            ttl=ItemTtl(
                attribute=item["ttl"]["attribute"],
                retention_days=item["ttl"]["retentionDays"],
                activity=tuple(ActivityColumn(reference["table"], reference["column"]) for reference in item["ttl"]["activity"]),
            ),
            root=_node(item["root"]),
        ),
        quarantine=QuarantineSettings(max_rejected_fraction=document["quarantine"]["maxRejectedFraction"]),
        oversize=OversizeSettings(policy=document["oversize"]["policy"], max_item_bytes=document["oversize"]["maxItemBytes"]),
    )


def _table(table: dict) -> PlanTable:
    parent = table.get("parent")
    deletes = table.get("deletes")
    return PlanTable(
        name=table["name"],
        file_glob=table["fileGlob"],
        file_regex=table["fileRegex"],
        required=table["required"],
        primary_key=tuple(table["primaryKey"]),
        columns=tuple(PlanColumn(column["name"], column["type"], column["nullable"], column.get("format")) for column in table["columns"]),
        mode=table["mode"],
        catalog_table=table["catalogTable"],
        lake_prefix=table["lakePrefix"],
        parent=None
        if parent is None
        else ParentLink(parent["table"], tuple(JoinPair(pair["child"], pair["parent"]) for pair in parent["on"])),
        deletes=None if deletes is None else Deletes(deletes["column"], tuple(deletes["values"])),
    )


def _key(key: dict) -> ItemKey:
    return ItemKey(attribute=key["attribute"], type=key["type"], column=key.get("column"), value=key.get("value"))


def _node(node: dict) -> ItemNode:
    return ItemNode(
        table=node["table"],
        attributes=tuple(NodeAttribute(attribute["column"], attribute["attribute"]) for attribute in node["attributes"]),
        collections=tuple(
            ItemCollection(collection["attribute"], tuple(collection["orderBy"]), _node(collection["node"]))
            for collection in node["collections"]
        ),
    )


def _references(plan: JobPlan) -> list[str]:
    """What the schema cannot check: every name the job looks up is there, where the job looks for it."""
    problems: list[str] = []
    columns: dict[str, set[str]] = {}
    for index, table in enumerate(plan.tables):
        path = f"tables[{index}]"
        if table.name in columns:
            problems.append(f"{path}.name: {table.name!r} is declared twice")
            continue
        names = set(table.column_names)
        problems += [
            f"{path}.primaryKey: {column!r} is not a column of {table.name}" for column in table.primary_key if column not in names
        ]
        if table.deletes is not None and table.deletes.column not in names:
            problems.append(f"{path}.deletes.column: {table.deletes.column!r} is not a column of {table.name}")
        if table.parent is not None:
            if table.parent.table not in columns:
                problems.append(f"{path}.parent.table: {table.parent.table!r} is not a table listed before {table.name}")
            else:
                for position, pair in enumerate(table.parent.on):
                    if pair.child not in names:
                        problems.append(f"{path}.parent.on[{position}].child: {pair.child!r} is not a column of {table.name}")
                    if pair.parent not in columns[table.parent.table]:
                        problems.append(f"{path}.parent.on[{position}].parent: {pair.parent!r} is not a column of {table.parent.table}")
        columns[table.name] = names
    if problems:
        return problems
    root = plan.item.root.table
    problems += _node_references(plan, plan.item.root, "item.root", None, columns)
    if problems:
        return problems
    root_key = {column.column for column in plan.lake.root_columns}
    for index, column in enumerate(plan.lake.root_columns):
        if column.column not in plan.table(root).primary_key:
            problems.append(f"lake.rootColumns[{index}].column: {column.column!r} is not in the primary key of {root}")
    for name, key in (("partitionKey", plan.item.partition_key), ("sortKey", plan.item.sort_key)):
        if key is not None and (key.column is None) == (key.value is None):
            problems.append(f"item.{name}: must have either column or value")
        elif key is not None and key.column is not None and key.column not in root_key:
            problems.append(f"item.{name}.column: {key.column!r} is not a root column (lake.rootColumns)")
    for index, reference in enumerate(plan.item.ttl.activity):
        if reference.column not in columns.get(reference.table, ()):
            problems.append(f"item.ttl.activity[{index}]: {reference.table}.{reference.column} is not a column of the plan")
    roles = {(spec.table, spec.role) for spec in plan.lake.tables}
    for index, spec in enumerate(plan.lake.tables):
        if spec.table not in columns:
            problems.append(f"lake.tables[{index}].table: {spec.table!r} is not a table of the plan")
    for name in _tree_tables(plan.item.root):
        problems += [f"lake.tables: no {role} table of {name}" for role in ("current", "history", "keys") if (name, role) not in roles]
    return problems


def _node_references(plan: JobPlan, node: ItemNode, path: str, parent: str | None, columns: dict[str, set[str]]) -> list[str]:
    """A node names a table of the plan whose parent is the node above it (the root: a table without one)."""
    if node.table not in columns:
        return [f"{path}.table: {node.table!r} is not a table of the plan"]
    link = plan.table(node.table).parent
    if (link.table if link else None) != parent:
        expected = f"a child of {parent}" if parent else "a table without a parent"
        return [f"{path}.table: {node.table!r} is not {expected}"]
    problems = [
        f"{path}.attributes[{index}].column: {attribute.column!r} is not a column of {node.table}"
        for index, attribute in enumerate(node.attributes)
        if attribute.column not in columns[node.table]
    ]
    for index, collection in enumerate(node.collections):
        child = collection.node
        problems += [
            f"{path}.collections[{index}].orderBy: {column!r} is not a column of {child.table}"
            for column in collection.order_by
            if child.table in columns and column not in columns[child.table]
        ]
        problems += _node_references(plan, child, f"{path}.collections[{index}].node", node.table, columns)
    return problems


def _tree_tables(node: ItemNode) -> list[str]:
    return [node.table, *(name for collection in node.collections for name in _tree_tables(collection.node))]
