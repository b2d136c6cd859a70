"""The reference semantics, shared by the backends that keep records in Python (memory, TinyDB).

:func:`matches` is what each filter kind means, :func:`sort_records` what an order means, and
:class:`Partition` holds one scope's records with their id and unique-key indexes and answers
``get``/``find``/``count`` from them. :class:`ScopedPartitions` holds one table's partitions and
:class:`PartitionRepository` is the repository over them, with undo-logged writes. Every other
backend is held to these answers by the contract suite.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any, Generic, TypeVar

from metricscore.errors import Conflict
from metricscore.jsonvalue import copy_json
from metricscore.query import Contains, Eq, Filter, HasAny, In, OrderBy, Query, fold_case, order_key
from metricscore.repository import Record, Scope
from metricscore.table import TableSpec

__all__ = [
    "Partition",
    "PartitionRepository",
    "ScopedPartitions",
    "Undo",
    "copy_record",
    "is_after",
    "matches",
    "sort_records",
    "window",
]

#: Puts back what one write changed; a unit of work keeps a list of them and runs it backwards.
Undo = Callable[[], None]


def copy_record(record: Record) -> Record:
    """A copy the caller owns: JSON values (dicts, lists) are copied, scalars shared."""
    return {k: copy_json(v) if type(v) in (dict, list) else v for k, v in record.items()}


def is_after(key: tuple[Any, ...], position: tuple[Any, ...], order: Sequence[OrderBy]) -> bool:
    """Whether a row at keyset ``key`` comes strictly after ``position`` under ``order``."""
    for value, at, o in zip(key, position, order, strict=True):
        if value != at:
            return bool(value < at) if o.descending else bool(value > at)
    return False


def window(rows: list[Record], query: Query) -> list[Record]:
    """Copies of the rows of ``rows`` (already filtered and in ``query.order``) after
    ``query.after``, skipping ``query.offset`` and keeping at most ``query.limit``."""
    if query.after is not None:
        rows = [r for r in rows if is_after(order_key(query.order, r), query.after, query.order)]
    stop = None if query.limit is None else query.offset + query.limit
    return [copy_record(r) for r in rows[query.offset : stop]]


def matches(filters: tuple[Filter, ...], record: Record) -> bool:
    """Whether ``record`` passes every filter: the reference meaning of each filter kind."""
    for f in filters:
        if isinstance(f, Eq):
            if record.get(f.column) != f.value:
                return False
        elif isinstance(f, In):
            if record.get(f.column) not in f.values:
                return False
        elif isinstance(f, HasAny):
            tags = record.get(f.column) or ()
            if not any(tag in tags for tag in f.values):
                return False
        elif isinstance(f, Contains):
            term = fold_case(f.term)
            if not any(isinstance(v := record.get(column), str) and term in fold_case(v) for column in f.columns):
                return False
        else:  # pragma: no cover - a new filter kind must be taught to every backend
            raise TypeError(f"unknown filter {f!r}")
    return True


def sort_records(records: list[Record], order: Sequence[OrderBy]) -> list[Record]:
    """Stable multi-key sort honouring each key's direction."""
    for o in reversed(order):
        records.sort(key=lambda r, c=o.column: r[c], reverse=o.descending)  # type: ignore[misc]
    return records


class Partition:
    """The records of one table in one scope, indexed by id and by each unique key.

    Writes take the record as given (the repository protocol hands it over); reads return
    copies. Sorted orders are cached until the next write: sorting 100k records costs ~75 ms.
    """

    __slots__ = ("records", "sorted_cache", "table", "unique", "version")

    def __init__(self, table: TableSpec) -> None:
        self.table = table
        self.records: dict[str, Record] = {}
        self.unique: dict[str, dict[tuple[Any, ...], str]] = {key.name: {} for key in table.unique_keys}
        self.version = 0
        self.sorted_cache: dict[tuple[OrderBy, ...], tuple[int, list[Record]]] = {}

    # -- reads -----------------------------------------------------------------------------------

    def get(self, id: Any) -> Record | None:
        record = self.records.get(id) if type(id) is str else None
        return None if record is None else copy_record(record)

    def find(self, query: Query) -> list[Record]:
        rows = self.sorted(query.order)
        if query.filters:
            rows = [r for r in rows if matches(query.filters, r)]
        return window(rows, query)

    def count(self, filters: tuple[Filter, ...]) -> int:
        if not filters:
            return len(self.records)
        return sum(1 for r in self.records.values() if matches(filters, r))

    def sorted(self, order: tuple[OrderBy, ...]) -> list[Record]:
        cached = self.sorted_cache.get(order)
        if cached is not None and cached[0] == self.version:
            return cached[1]
        rows = sort_records(list(self.records.values()), order)
        self.sorted_cache[order] = (self.version, rows)
        return rows

    # -- writes ----------------------------------------------------------------------------------

    def check_insert(self, record: Record) -> str:
        """The new record's id, after checking that neither it nor a unique key is taken."""
        record_id: str = record[self.table.id_column]
        if record_id in self.records:
            raise Conflict("A record with this id already exists.", fields=(self.table.id_column,))
        self.check_unique(record, record_id)
        return record_id

    def check_update(self, record: Record) -> str:
        """The id of the stored record ``record`` replaces, after checking the unique keys."""
        record_id: str = record[self.table.id_column]
        if record_id not in self.records:
            raise Conflict("The record no longer exists.", fields=(self.table.id_column,))
        self.check_unique(record, record_id)
        return record_id

    def check_unique(self, record: Record, record_id: str) -> None:
        for key in self.table.unique_keys:
            values = tuple(record.get(c) for c in key.columns)
            if None in values:
                continue
            holder = self.unique[key.name].get(values)
            if holder is not None and holder != record_id:
                raise Conflict(f"The unique key {key.name} is already taken.", fields=key.columns)

    def put(self, record: Record) -> None:
        record_id = record[self.table.id_column]
        self.records[record_id] = record
        for key in self.table.unique_keys:
            values = tuple(record.get(c) for c in key.columns)
            if None not in values:
                self.unique[key.name][values] = record_id
        self.version += 1

    def remove(self, record_id: str) -> Record:
        record = self.records.pop(record_id)
        for key in self.table.unique_keys:
            values = tuple(record.get(c) for c in key.columns)
            if self.unique[key.name].get(values) == record_id:
                del self.unique[key.name][values]
        self.version += 1
        return record


PartitionT = TypeVar("PartitionT", bound=Partition)


class ScopedPartitions(Generic[PartitionT]):
    """The partitions of one table, one per scope (the values of the table's scope columns)."""

    __slots__ = ("by_scope", "new_partition", "scope_key", "table")

    def __init__(self, table: TableSpec, new_partition: Callable[[TableSpec], PartitionT]) -> None:
        self.table = table
        self.new_partition = new_partition
        #: a scope's key in ``by_scope``: its value (one scope column) or the tuple of its values
        self.scope_key: Callable[[Scope], Any] = itemgetter(*table.scope) if table.scope else _no_scope
        self.by_scope: dict[Any, PartitionT] = {}

    def get(self, scope: Scope) -> PartitionT | None:
        return self.by_scope.get(self.scope_key(scope))

    def get_or_create(self, scope: Scope) -> PartitionT:
        key = self.scope_key(scope)
        partition = self.by_scope.get(key)
        if partition is None:
            partition = self.by_scope[key] = self.new_partition(self.table)
        return partition


def _no_scope(scope: Scope) -> tuple[()]:
    return ()


class PartitionRepository(Generic[PartitionT]):
    """One table through one unit of work, over its :class:`ScopedPartitions`.

    Reads are the partition's answers. Each write checks the id and unique keys first, then
    changes the partition and appends an :data:`Undo` to the unit of work's list. Subclasses say
    where the partitions are (:meth:`_partitions`) and may act before a write
    (:meth:`_before_write`) or keep more per record (:meth:`_add`, :meth:`_replace`,
    :meth:`_remove`: TinyDB keeps each record's document).
    """

    def __init__(self, table: TableSpec, undo: list[Undo]) -> None:
        self._table = table
        self._undo = undo

    def _partitions(self) -> ScopedPartitions[PartitionT]:
        raise NotImplementedError

    def _before_write(self) -> None:
        """Called before each write, before anything is checked or changed."""

    # -- reads -----------------------------------------------------------------------------------

    def get(self, scope: Scope, id: str) -> Record | None:
        partition = self._partitions().get(scope)
        return None if partition is None else partition.get(id)

    def find(self, scope: Scope, query: Query) -> list[Record]:
        partition = self._partitions().get(scope)
        return [] if partition is None else partition.find(query)

    def count(self, scope: Scope, filters: tuple[Filter, ...]) -> int:
        partition = self._partitions().get(scope)
        return 0 if partition is None else partition.count(filters)

    # -- writes ----------------------------------------------------------------------------------

    def insert(self, scope: Scope, record: Record) -> None:
        self._before_write()
        partition = self._partitions().get_or_create(scope)
        record_id = partition.check_insert(record)
        self._undo.append(self._add(partition, record_id, record))

    def update(self, scope: Scope, record: Record) -> None:
        self._before_write()
        partition = self._partitions().get(scope)
        if partition is None:
            raise Conflict("The record no longer exists.", fields=(self._table.id_column,))
        record_id = partition.check_update(record)
        self._undo.append(self._replace(partition, record_id, record))

    def delete(self, scope: Scope, id: str) -> bool:
        self._before_write()
        partition = self._partitions().get(scope)
        if partition is None or type(id) is not str or id not in partition.records:
            return False
        self._undo.append(self._remove(partition, id))
        return True

    # -- the changes, each returning its undo (the checks have passed) ---------------------------------

    def _add(self, partition: PartitionT, record_id: str, record: Record) -> Undo:
        partition.put(record)

        def undo() -> None:
            partition.remove(record_id)

        return undo

    def _replace(self, partition: PartitionT, record_id: str, record: Record) -> Undo:
        old = partition.remove(record_id)
        partition.put(record)

        def undo() -> None:
            partition.remove(record_id)
            partition.put(old)

        return undo

    def _remove(self, partition: PartitionT, record_id: str) -> Undo:
        old = partition.remove(record_id)
        return lambda: partition.put(old)
