"""What a backend needs to know to store one resource: columns, scope, keys. Pure data."""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["DEFAULT_TAG_LENGTH", "Column", "ColumnType", "TableSpec", "UniqueKey"]


class ColumnType(enum.Enum):
    STRING = "string"  # bounded text; `length` is the bound
    TEXT = "text"  # unbounded text
    INTEGER = "integer"  # 64-bit signed
    FLOAT = "float"
    BOOLEAN = "boolean"
    DATETIME = "datetime"  # timezone-aware UTC, microsecond precision
    JSON = "json"  # a free-form JSON value (object or list)
    TAGS = "tags"  # a sorted list of distinct strings, filtered with HasAny; `length` bounds each


#: The longest tag a TAGS column without a ``length`` holds.
DEFAULT_TAG_LENGTH = 255


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: ColumnType
    nullable: bool = True
    length: int | None = None
    #: Searched with ``Contains``: backends may build a case-insensitive index for it.
    searchable: bool = False

    @property
    def text_bound(self) -> int | None:
        """The most characters a stored string of this column has (each tag, for TAGS), or
        ``None`` when unbounded."""
        if self.type is ColumnType.TAGS:
            return self.length or DEFAULT_TAG_LENGTH
        return self.length if self.type is ColumnType.STRING else None


@dataclass(frozen=True, slots=True)
class UniqueKey:
    """Columns whose values are unique within a scope. A key with a null value never collides."""

    name: str
    columns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TableSpec:
    """A resource as storage sees it.

    Records are dicts keyed by column name and hold every column, scope columns included.
    ``id`` is a string unique within a scope. ``orderings`` lists the column sequences queries
    order by, so a backend can index them.
    """

    name: str
    scope: tuple[str, ...]
    columns: tuple[Column, ...]
    unique_keys: tuple[UniqueKey, ...] = ()
    orderings: tuple[tuple[str, ...], ...] = ()
    id_column: str = "id"

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


#: The name ``TableSpec`` had before it was renamed to stand apart from SQLAlchemy's and TinyDB's
#: ``Table``; kept so that resources declared against it still import.
Table = TableSpec
