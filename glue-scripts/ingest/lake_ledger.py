"""The lake's records in the run ledger: who may change the lake, what is half applied, what is committed.

Runs of one pipeline change the lake one at a time: a run holds the lake lease from computing its
changes until its items are written, renewing it while it works, so its changes are computed from
a state nobody else is changing and its items from exactly the snapshots it committed. A run
that dies keeps the lease only until it expires; its change set, written to the lake before the
first table was touched, stays pending in the ledger, and whichever run takes the lease next
applies the rest of it and rebuilds its items with its own. Each committed extract gets a
sequence number from an atomic counter: the lake snapshot that items record, so an item built
from less of the lake never replaces one built from more.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from ingest.aws_clients import DynamoDbClient
from ingest.contract_files import packaged_contract

_RECORDS = packaged_contract("lake_ledger.json")
LEASE_KEY = _RECORDS["lease"]
PENDING_KEY = _RECORDS["pending"]
COMMIT_PREFIX = _RECORDS["commitPrefix"]
COMMIT_COUNTER = _RECORDS["counter"]

LEASE_SECONDS = 300
RENEW_EVERY_SECONDS = 60


class LeaseLost(Exception):
    """The lease expired while the run held it; another run may be changing the lake."""


@dataclass(frozen=True)
class PendingChanges:
    """A change set written to the lake and not fully applied: which extract, where, and what is done."""

    extract_id: str
    extract_version: int
    location: str
    applied_tables: tuple[str, ...]


@dataclass(frozen=True)
class Commit:
    """What a committed extract changed: its lake snapshot (sequence), where its change set is, the table snapshots."""

    extract_id: str
    sequence: int
    changes_location: str
    snapshots: dict[str, int] = field(default_factory=dict)


@dataclass
class LakeLedger:
    dynamodb: DynamoDbClient
    table: str
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep

    @contextmanager
    def lease(self, owner: str, *, wait_seconds: float, poll_seconds: float = 5.0) -> Iterator[None]:
        """Holds the lake lease for `owner` (renewed in the background) or raises TimeoutError after `wait_seconds`."""
        deadline = self.clock() + wait_seconds
        while not self._take(owner):
            if self.clock() >= deadline:
                holder = self._item(LEASE_KEY) or {}
                raise TimeoutError(
                    f"the lake lease is held by {holder.get('owner', {}).get('S', 'another run')} "
                    f"and was not released within {wait_seconds:.0f} seconds"
                )
            self.sleep(poll_seconds)
        stop = threading.Event()
        lost: list[Exception] = []
        renewer = threading.Thread(target=self._keep, args=(owner, stop, lost), daemon=True)
        renewer.start()
        try:
            yield
        finally:
            stop.set()
            renewer.join()
            self._release(owner)
        if lost:
            raise LeaseLost(str(lost[0]))

    def pending(self) -> PendingChanges | None:
        item = self._item(PENDING_KEY)
        if item is None:
            return None
        return PendingChanges(
            extract_id=item["extractId"]["S"],
            extract_version=int(item["extractVersion"]["N"]),
            location=item["location"]["S"],
            applied_tables=tuple(entry["S"] for entry in item.get("appliedTables", {}).get("L", [])),
        )

    def begin(self, extract_id: str, extract_version: int, location: str) -> None:
        """Records a change set as pending before its first table is touched."""
        self.dynamodb.put_item(
            TableName=self.table,
            Item={
                "archive": {"S": PENDING_KEY},
                "extractId": {"S": extract_id},
                "extractVersion": {"N": str(extract_version)},
                "location": {"S": location},
                "appliedTables": {"L": []},
            },
            ConditionExpression="attribute_not_exists(#archive)",
            ExpressionAttributeNames={"#archive": "archive"},
        )

    def applied(self, extract_id: str, table: str) -> None:
        """Records that one table of the pending change set is applied."""
        self.dynamodb.update_item(
            TableName=self.table,
            Key={"archive": {"S": PENDING_KEY}},
            UpdateExpression="SET appliedTables = list_append(appliedTables, :table)",
            ConditionExpression="extractId = :extract",
            ExpressionAttributeValues={":table": {"L": [{"S": table}]}, ":extract": {"S": extract_id}},
        )

    def commit(self, pending: PendingChanges, snapshots: dict[str, int]) -> Commit:
        """Allocates the extract's sequence, records its commit and clears the pending change set, in that order.

        A crash between the steps leaves the change set pending, and applying it again changes
        nothing; a commit record that already exists keeps its sequence.
        """
        existing = self.committed(pending.extract_id)
        sequence = existing.sequence if existing else self._next_sequence()
        self.dynamodb.put_item(
            TableName=self.table,
            Item={
                "archive": {"S": f"{COMMIT_PREFIX}{pending.extract_id}"},
                "sequence": {"N": str(sequence)},
                "extractVersion": {"N": str(pending.extract_version)},
                "changes": {"S": pending.location},
                "snapshots": {"M": {name: {"N": str(snapshot)} for name, snapshot in sorted(snapshots.items())}},
            },
        )
        self.dynamodb.delete_item(
            TableName=self.table,
            Key={"archive": {"S": PENDING_KEY}},
            ConditionExpression="extractId = :extract",
            ExpressionAttributeValues={":extract": {"S": pending.extract_id}},
        )
        return Commit(extract_id=pending.extract_id, sequence=sequence, changes_location=pending.location, snapshots=snapshots)

    def committed(self, extract_id: str) -> Commit | None:
        item = self._item(f"{COMMIT_PREFIX}{extract_id}")
        if item is None:
            return None
        return Commit(
            extract_id=extract_id,
            sequence=int(item["sequence"]["N"]),
            changes_location=item["changes"]["S"],
            snapshots={name: int(value["N"]) for name, value in item.get("snapshots", {}).get("M", {}).items()},
        )

    def _next_sequence(self) -> int:
        counter = self.dynamodb.update_item(
            TableName=self.table,
            Key={"archive": {"S": COMMIT_COUNTER}},
            UpdateExpression="ADD #sequence :one",
            ExpressionAttributeNames={"#sequence": "sequence"},
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="UPDATED_NEW",
        )
        return int(counter["Attributes"]["sequence"]["N"])

    def _item(self, key: str) -> dict | None:
        return self.dynamodb.get_item(TableName=self.table, Key={"archive": {"S": key}}, ConsistentRead=True).get("Item")

    def _take(self, owner: str) -> bool:
        now = self.clock()
        try:
            self.dynamodb.put_item(
                TableName=self.table,
                Item={"archive": {"S": LEASE_KEY}, "owner": {"S": owner}, "expiresAt": {"N": str(int(now + LEASE_SECONDS))}},
                ConditionExpression="attribute_not_exists(#archive) OR expiresAt < :now OR #owner = :owner",
                ExpressionAttributeNames={"#archive": "archive", "#owner": "owner"},
                ExpressionAttributeValues={":now": {"N": str(int(now))}, ":owner": {"S": owner}},
            )
        except self.dynamodb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def _keep(self, owner: str, stop: threading.Event, lost: list[Exception]) -> None:
        while not stop.wait(RENEW_EVERY_SECONDS):
            try:
                self.dynamodb.update_item(
                    TableName=self.table,
                    Key={"archive": {"S": LEASE_KEY}},
                    UpdateExpression="SET expiresAt = :expires",
                    ConditionExpression="#owner = :owner",
                    ExpressionAttributeNames={"#owner": "owner"},
                    ExpressionAttributeValues={":expires": {"N": str(int(self.clock() + LEASE_SECONDS))}, ":owner": {"S": owner}},
                )
            except self.dynamodb.exceptions.ConditionalCheckFailedException as error:
                lost.append(error)
                return

    def _release(self, owner: str) -> None:
        try:
            self.dynamodb.delete_item(
                TableName=self.table,
                Key={"archive": {"S": LEASE_KEY}},
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":owner": {"S": owner}},
            )
        except self.dynamodb.exceptions.ConditionalCheckFailedException:
            # The lease expired and another run took it: it is that run's to release now, and the
            # renewer has already recorded the loss, which the run raises.
            return
