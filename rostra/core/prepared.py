"""Queries the ORM builds once per process, then runs as SQL with each request's values.

Building and compiling a queryset costs Django far more than running it when the query is the
visibility door (a dozen ``EXISTS`` conditions) or a fetch with many ``select_related`` joins:
about 15 ms of Python against 1 ms in SQLite for a home page's twenty posts. The query's shape
never changes between requests, only its values (the viewer, the candidate ids, a token's
hash), so ``Prepared`` asks the ORM for the SQL once per shape, with placeholder values nobody
can have, records where each placeholder landed among the parameters, and from then on runs
that SQL with the real values in those places. Rows go through the compiler's own converters,
and model instances are built as Django's ``ModelIterable`` builds them (Django is pinned, and
tests/core/test_prepared.py compares every prepared query with the queryset it came from).

The ORM stays the one author of the SQL (the door is written once, in ``rostra.posts.queries``);
this only skips re-deriving the same text. A builder whose query embeds a value that changes by
itself (``now()``, a setting) must not be prepared. Compilation checks that every placeholder
landed in the parameters, and as often as expected, and refuses otherwise (``PrepareError``),
so a builder that drops or rewrites a value fails loudly in the tests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators
from django.db.models.sql.compiler import SQLCompiler

M = TypeVar("M", bound=Model)

# Ids are positive 63-bit integers, so negative placeholders never meet a real value, and these
# are far from any constant a query carries (0, 1, small limits).
_INT_BASE = -7_301_000_000_000_000_000
_LIST_BASE = -7_400_000_000_000_000_000
_LIST_SPAN = 1_000_000_000_000
_MIN_BUCKET = 16
# Datetime placeholders: seconds after this moment, long before any row Rostra writes.
_DT_BASE = datetime(1901, 2, 3, 4, 5, 6, 789_012, tzinfo=UTC)


class PrepareError(RuntimeError):
    """A builder's query cannot be prepared (a placeholder went missing, or moved)."""


def _bucket(n: int) -> int:
    """Lists are padded to a power of two (repeating their first value), so a few shapes cover
    every length."""
    size = _MIN_BUCKET
    while size < n:
        size *= 2
    return size


def _str_placeholder(index: int) -> str:
    return f"\x00rostra-prepared-{index}\x00"


def _dt_placeholder(index: int) -> datetime:
    return _DT_BASE + timedelta(seconds=index)


def _kind(value: Any) -> str:
    if value is None:
        return "none"
    if type(value) is int:
        return "int"
    if type(value) is str:
        return "str"
    if type(value) is datetime and value.tzinfo is not None:
        return "dt"
    return ""


class _Shape:
    __slots__ = ("compiler", "converters", "plan", "slots", "sql")

    def __init__(self, sql: str, slots: list[tuple[Any, ...]], compiler: SQLCompiler) -> None:
        self.sql, self.slots, self.compiler = sql, slots, compiler
        # The compiler's per-column converters (datetimes and booleans on SQLite...), found once.
        self.converters = compiler.get_converters([s[0] for s in compiler.select[0 : compiler.col_count]])
        # Most of a card's columns are NULL (the joins of a post that reposts or quotes nothing),
        # and most converters give None for None: those are not called for a NULL. Whether a
        # column's converters do is asked of them, once; one that gives anything else is called.
        self.plan = [
            (position, tuple(functions), expression, _keeps_none(functions, expression, compiler.connection))
            for position, (functions, expression) in self.converters.items()
        ]

    def convert(self, raw: list[Any], using: str) -> list[Any]:
        """Rows through the column converters, with this thread's connection (the compiler's is
        the one of the thread that compiled the shape)."""
        if not self.plan:
            return raw
        connection = connections[using]
        plan = self.plan
        out = []
        for fetched in raw:
            row = list(fetched)
            for position, functions, expression, keeps_none in plan:
                value = row[position]
                if value is None and keeps_none:
                    continue
                for convert in functions:
                    value = convert(value, expression, connection)
                row[position] = value
            out.append(row)
        return out


def _keeps_none(functions: Sequence[Callable[..., Any]], expression: Any, connection: Any) -> bool:
    """Whether a column's converters turn None into None (then a NULL needs no call)."""
    value = None
    try:
        for convert in functions:
            value = convert(value, expression, connection)
    except Exception:  # noqa: BLE001 - a converter that cannot take None is simply always called
        return False
    return value is None


class Prepared(Generic[M]):
    """``build(**values)`` returns a queryset; ``rows(**values)`` / ``models(**values)`` return
    what that queryset would, from SQL compiled once per shape.

    Values are ints, strings, aware datetimes, None (a separate shape: a builder usually
    branches on it) or, for the names in ``lists``, sequences of ints (used only in ``__in``
    lists: they are padded with repeats). A datetime reaches the SQL as the backend adapts it
    (a string on SQLite, the object itself on PostgreSQL); each request's value is adapted the
    same way. Booleans are not values: a builder that branches on one is two ``Prepared``."""

    def __init__(self, name: str, build: Callable[..., QuerySet[M, Any]], *, lists: Sequence[str] = ()) -> None:
        self.name = name
        self._build = build
        self._lists = tuple(lists)
        self._shapes: dict[tuple[Any, ...], _Shape] = {}
        self._lock = threading.Lock()

    def _compile(self, alias: str, kinds: tuple[tuple[str, str], ...], sizes: tuple[int, ...]) -> _Shape:
        values: dict[str, Any] = {}
        expected: dict[Any, tuple[str, Any]] = {}
        ops = connections[alias].ops
        for index, (name, kind) in enumerate(kinds):
            if kind == "none":
                values[name] = None
            elif kind == "int":
                values[name] = _INT_BASE - index
                expected[("int", _INT_BASE - index)] = ("value", name)
            elif kind == "dt":
                values[name] = _dt_placeholder(index)
                expected[("dt", values[name])] = ("value", name)
                adapted = ops.adapt_datetimefield_value(values[name])
                if isinstance(adapted, str):  # SQLite: the text Django writes, adapted again per request
                    expected[("str", adapted)] = ("adapted", name)
            else:
                values[name] = _str_placeholder(index)
                expected[("str", _str_placeholder(index))] = ("value", name)
        for number, (name, size) in enumerate(zip(self._lists, sizes, strict=True)):
            base = _LIST_BASE - number * _LIST_SPAN
            values[name] = [base - i for i in range(size)]
            for i in range(size):
                expected[("int", base - i)] = ("item", (name, i))
        qs = self._build(**values)
        compiler = qs.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        if "rostra-prepared" in sql or str(_INT_BASE)[1:8] in sql or str(_LIST_BASE)[1:7] in sql or "1901-02-03" in sql:
            raise PrepareError(f"{self.name}: a placeholder was written into the SQL itself (a slice by a value?)")
        if compiler.has_composite_fields([s[0] for s in compiler.select[0 : compiler.col_count]]):
            raise PrepareError(f"{self.name}: composite fields are not supported")
        slots: list[tuple[Any, ...]] = []
        uses: dict[Any, int] = dict.fromkeys(expected.values(), 0)
        for value in params:
            # PostgreSQL's backend wraps ints in psycopg's Int8 and the like: the same wrapper is
            # put around the real value in that slot.
            if isinstance(value, datetime):
                kind = "dt"
            elif isinstance(value, int) and not isinstance(value, bool):
                kind = "int"
            else:
                kind = "str" if isinstance(value, str) else ""
            found = expected.get((kind, value)) if kind else None
            if found is None:
                if (isinstance(value, str) and "1901-02-03" in value) or getattr(value, "year", None) == _DT_BASE.year:
                    # A datetime also used in a derived form (its date, its year...) would be frozen here.
                    raise PrepareError(f"{self.name}: a datetime value reaches the query in a derived form")
                slots.append(("const", value))
            else:
                uses[found] += 1
                wrap = None if type(value) in (int, str, datetime) else type(value)
                slots.append((*found, wrap))
        scalar_uses: dict[str, int] = {}
        for (what, name), n in uses.items():
            if what in ("value", "adapted"):
                scalar_uses[name] = scalar_uses.get(name, 0) + n
        if any(n == 0 for n in scalar_uses.values()):
            raise PrepareError(f"{self.name}: a value is missing from the query's parameters")
        for name in self._lists:
            counts = {n for (what, arg), n in uses.items() if what == "item" and arg[0] == name}
            if 0 in counts or len(counts) > 1:
                raise PrepareError(f"{self.name}: the list {name!r} is not whole in the query's parameters")
        return _Shape(sql, slots, compiler)

    def _shape(self, using: str, values: dict[str, Any]) -> tuple[_Shape, list[Any]]:
        scalars = sorted(((k, v) for k, v in values.items() if k not in self._lists), key=lambda kv: kv[0])
        kinds = tuple((k, _kind(v)) for k, v in scalars)
        for k, kind in kinds:
            if not kind:
                raise TypeError(f"{self.name}: {k} must be an int, a string, an aware datetime or None, not {type(values[k]).__name__}")
        lists = [list(values[name]) for name in self._lists]
        sizes = tuple(_bucket(len(items)) for items in lists)
        key = (using, kinds, sizes)
        shape = self._shapes.get(key)
        if shape is None:
            with self._lock:
                shape = self._shapes.get(key)
                if shape is None:
                    shape = self._compile(using, kinds, sizes)
                    self._shapes[key] = shape
        padded = {name: items + [items[0]] * (size - len(items)) for name, items, size in zip(self._lists, lists, sizes, strict=True)}
        params = []
        for slot in shape.slots:
            if slot[0] == "const":
                params.append(slot[1])
                continue
            kind, arg, wrap = slot
            if kind == "adapted":
                value = connections[using].ops.adapt_datetimefield_value(values[arg])
            else:
                value = values[arg] if kind == "value" else padded[arg[0]][arg[1]]
            params.append(value if wrap is None or value is None else wrap(value))
        return shape, params

    def _fetch(self, using: str, values: dict[str, Any]) -> tuple[_Shape, list[Any]] | None:
        if any(not values[name] for name in self._lists):
            return None  # an empty list matches nothing: no query
        shape, params = self._shape(using, values)
        with connections[using].cursor() as cursor:
            cursor.execute(shape.sql, params)
            return shape, cursor.fetchall()

    def rows(self, using: str = "default", **values: Any) -> list[tuple[Any, ...]]:
        """The rows of a ``values_list`` builder, converted as Django converts them."""
        fetched = self._fetch(using, values)
        if fetched is None:
            return []
        shape, raw = fetched
        return [tuple(row) for row in shape.convert(raw, using)]

    def models(self, using: str = "default", **values: Any) -> list[M]:
        """The model instances of a builder's queryset (with its ``select_related`` objects and
        annotations), as Django's ``ModelIterable`` makes them. Prefetches are not run."""
        fetched = self._fetch(using, values)
        if fetched is None:
            return []
        shape, raw = fetched
        compiler = shape.compiler
        select, klass_info, annotation_col_map = compiler.select, compiler.klass_info, compiler.annotation_col_map
        assert klass_info is not None, f"{self.name}: models() needs a queryset of model instances"
        model_cls = klass_info["model"]
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        init_list = [f[0].target.attname for f in select[start:end]]
        populators = get_related_populators(klass_info, select, using)  # type: ignore[call-arg]  # the stubs follow Django 6
        out: list[M] = []
        for row in shape.convert(raw, using):
            obj = model_cls.from_db(using, init_list, row[start:end])
            for populator in populators:
                populator.populate(row, obj)
            for attr, position in (annotation_col_map or {}).items():
                setattr(obj, attr, row[position])
            out.append(obj)
        return out


def fill_related(instances: Sequence[Model], related_name: str, rows: Sequence[Model], queryset: QuerySet[Any]) -> None:
    """Put ``rows`` (fetched by the caller, ordered as ``queryset`` orders them) into each
    instance's ``related_name`` (a reverse foreign key to its primary key), as ``prefetch_related`` does with a
    ``Prefetch(related_name, queryset=queryset)``: ``instance.<related_name>.all()`` then reads
    them with no query, each row knows its instance, and anything chained on it (``filter``,
    ``update``...) is still a query scoped to that instance, as Django's own prefetch makes it.

    Django's prefetch compiles its query on every call (about 0.1 ms per instance on a page of
    posts); with the rows from a ``Prepared`` query, only the per-instance scoping is left."""
    if not instances:
        return
    manager_field = getattr(type(instances[0]), related_name).field  # the child's foreign key
    cache_name = manager_field.remote_field.cache_name
    by_parent: dict[Any, list[Model]] = {}
    for row in rows:
        by_parent.setdefault(getattr(row, manager_field.attname), []).append(row)
    for instance in instances:
        found = by_parent.get(instance.pk, [])
        for row in found:
            manager_field.set_cached_value(row, instance)
        qs = getattr(instance, related_name)._apply_rel_filters(queryset)
        qs._result_cache = found
        qs._prefetch_done = True
        if not hasattr(instance, "_prefetched_objects_cache"):
            instance._prefetched_objects_cache = {}  # type: ignore[attr-defined]  # Django's own name
        instance._prefetched_objects_cache[cache_name] = qs  # type: ignore[attr-defined]
