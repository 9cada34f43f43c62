"""Querysets compiled once and run many times: the reads on the charting hot path.

Building a queryset's SQL costs Django 0.3-0.6 ms on the machines kip is measured on, several
times what SQLite or PostgreSQL then take to answer it, and a nurse's rate or vitals write asks
the same few questions every time (the infusion with its patient and site, its rate log, its
ongoing adverse events, the token's user and roles). `Prepared` builds such a queryset once per
database connection's vendor, keeps its SQL and Django's own row-to-object machinery (the column
list, the select_related populators, the backend's value converters), and afterwards runs only the
SQL with the new arguments. The objects it returns are what iterating the queryset returns: the
same model instances, with the same related objects cached (a test compares the two, row by row,
on both databases).

An argument is an integer (an id, a number) or a Decimal (a minute, for a DecimalField lookup,
which Django passes to the driver unchanged); the queryset is built with stand-in integers, twice
with different ones, and each stand-in's place among the SQL parameters is remembered. A
queryset that uses anything Django's model iterator would do beyond that (annotations, extra
select columns, composite keys, known related objects) is refused when it is first compiled, so
a change to one of these querysets cannot silently return something different from the ORM.

It relies on the SQL compiler's documented-by-code attributes (select, klass_info) and on
`get_related_populators`, as Django 5.2's ModelIterable does; the Django pin in pyproject.toml
and the comparison test guard an upgrade.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators

M = TypeVar("M", bound=Model)

# Django 5.2's signature; the type stubs describe a later Django's.
_related_populators: Callable[[dict[str, Any], list[Any], str], list[Any]] = get_related_populators  # type: ignore[assignment]

# Stand-ins for the arguments while the SQL is built: values any id, count or minute column can
# hold (Django drops a condition a value could never meet), used twice to tell arguments from
# constants.
_STAND_INS = (1009, 2003)
_INT64 = range(-(2**63), 2**63)


class NotPreparable(ValueError):
    """The queryset needs more of Django's iterator than a prepared query keeps."""


@dataclass(frozen=True)
class _Compiled:
    sql: str
    slots: tuple[int | None, ...]  # per SQL parameter: the argument's index, or None (constant)
    constants: tuple[Any, ...]
    model: type[Model]
    init_list: list[str]
    start: int
    end: int
    populators: list[Any]
    converters: tuple[tuple[int, tuple[Sequence[Callable[..., Any]], Any]], ...]


class Prepared(Generic[M]):
    """`Prepared(lambda a, b: Model.objects.filter(x=a, y=b), arity=2)`, then `query(1, 2)`: the
    rows as model instances, in the queryset's order."""

    def __init__(self, build: Callable[..., QuerySet[M]], *, arity: int) -> None:
        self._build = build
        self._arity = arity
        self._compiled: dict[tuple[str, str], _Compiled] = {}
        self._lock = threading.Lock()

    def __call__(self, *args: int | Decimal, using: str = DEFAULT_DB_ALIAS) -> list[M]:
        if len(args) != self._arity:
            raise TypeError(f"expected {self._arity} arguments, got {len(args)}")
        for a in args:
            # The ORM answers an id outside the column's range with no rows; so does this.
            if isinstance(a, int) and a not in _INT64:
                return []
            if isinstance(a, Decimal) and not a.is_finite():
                raise ValueError(f"{a} is not a finite number")
        connection = connections[using]
        compiled = self._compiled.get((using, connection.vendor)) or self._compile(using)
        params = [
            compiled.constants[i] if slot is None else args[slot]
            for i, slot in enumerate(compiled.slots)
        ]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        return [self._instance(compiled, row, connection, using) for row in rows]

    @staticmethod
    def _instance(
        compiled: _Compiled, row: Sequence[Any], connection: BaseDatabaseWrapper, using: str
    ) -> Any:
        if compiled.converters:
            values = list(row)
            for pos, (converters, expression) in compiled.converters:
                value = values[pos]
                for convert in converters:
                    value = convert(value, expression, connection)
                values[pos] = value
            row = values
        obj = compiled.model.from_db(using, compiled.init_list, row[compiled.start : compiled.end])
        for populator in compiled.populators:
            populator.populate(row, obj)
        return obj

    def _sql(self, using: str, stand_ins: Sequence[int]) -> tuple[Any, str, tuple[Any, ...]]:
        queryset: Any = self._build(*stand_ins).using(using)  # its private state is read below
        if queryset._known_related_objects or queryset._fields is not None:
            raise NotPreparable("a prepared query returns whole model instances only")
        compiler = queryset.query.get_compiler(using=using)
        try:
            sql, params = compiler.as_sql()
        except (EmptyResultSet, FullResultSet):
            # Django drops a condition a value makes always true or false (a negative number
            # against a positive field, say): the stand-ins must be values the column can hold.
            raise NotPreparable(
                f"the stand-in values {list(stand_ins)} make Django drop a condition"
            ) from None
        return compiler, sql, tuple(params)

    def _compile(self, using: str) -> _Compiled:
        # Built twice with different stand-ins: a parameter that follows them is an argument, one
        # that stays put is a constant, and anything else (different SQL, a parameter that moves
        # otherwise) means the query's shape depends on the values and cannot be kept.
        first, second = ([base + i for i in range(self._arity)] for base in _STAND_INS)
        compiler, sql, params = self._sql(using, first)
        _, sql_again, params_again = self._sql(using, second)
        if compiler.annotation_col_map or compiler.has_extra_select:
            raise NotPreparable("a prepared query selects no annotations or extra columns")
        fields = [s[0] for s in compiler.select[: compiler.col_count]]
        if compiler.has_composite_fields(fields):
            raise NotPreparable("a prepared query reads no composite keys")
        if sql != sql_again or len(params) != len(params_again):
            raise NotPreparable("the query's SQL changes with its arguments' values")
        slot_of: dict[int | Decimal, int] = {v: i for i, v in enumerate(first)}
        slots: list[int | None] = []
        for one, other in zip(params, params_again, strict=True):
            # A stand-in reaches the parameters as itself, or as Decimal(itself) for a decimal.
            slot = slot_of.get(one) if isinstance(one, int | Decimal) else None
            if slot is not None and other == second[slot]:
                slots.append(slot)
            elif one == other:
                slots.append(None)
            else:
                raise NotPreparable("a parameter depends on the arguments other than by value")
        missing = [i for i in range(self._arity) if i not in slots]
        if missing:
            raise NotPreparable(f"argument(s) {missing} do not reach the SQL as parameters")
        klass_info = compiler.klass_info
        select_fields = klass_info["select_fields"]
        start, end = select_fields[0], select_fields[-1] + 1
        compiled = _Compiled(
            sql=sql,
            slots=tuple(slots),
            constants=params,
            model=klass_info["model"],
            init_list=[f[0].target.attname for f in compiler.select[start:end]],
            start=start,
            end=end,
            populators=_related_populators(klass_info, compiler.select, using),
            converters=tuple(compiler.get_converters(fields).items()),
        )
        with self._lock:
            self._compiled[(using, connections[using].vendor)] = compiled
        return compiled
