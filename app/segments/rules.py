"""The segment rule language: JSON rules checked and compiled into one SQL condition on users.

Pure (no session, no I/O); docs/segments.md describes the language.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, TypeVar

from sqlalchemy import Boolean, ColumnElement, Select, and_, case, func, not_, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from app.errors import FieldProblem, ValidationFailed
from app.events.models import Event
from app.feedback.models import Feedback, FeedbackStatus
from app.surveys.models import SurveyKind, SurveyResponse
from app.users.models import Tier, User, UserTag

MAX_DEPTH = 10
MAX_NODES = 200  # conditions in one rule, inlined segments included
MAX_VALUES = 100  # items in one in/nin list
MAX_TEXT = 200
MAX_DAYS = 36500
MAX_COUNT = 1_000_000_000
MAX_NUMBER = 1e15  # beyond, SQLite cannot bind an integer

Condition = ColumnElement[bool]
T = TypeVar("T")

COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "neq": operator.ne,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}
ORDERED = ("gt", "gte", "lt", "lte")

TEXT_ATTRIBUTES = {
    "tier": User.tier,
    "channel": User.acquisition_channel,
    "region": User.region,
    "plan": User.plan,
}
TIME_ATTRIBUTES = {"signedUpAt": User.signed_up_at, "lastActiveAt": User.last_active_at}
PROPERTY_PREFIX = "properties."
# Property names reach SQL only as bound JSON paths, but a plain alphabet keeps every
# path well-formed on both databases (a '"' would end SQLite's quoted path segment).
PROPERTY_NAME = re.compile(r"[\w-]{1,64}")
ATTRIBUTE_NAMES = (*TEXT_ATTRIBUTES, "tags", *TIME_ATTRIBUTES, "properties.<name>")

OPS = {
    "text": ("eq", "neq", "in", "nin", "contains", "exists"),
    "time": (*ORDERED, "between", "exists"),
    "tags": ("contains", "in", "nin", "exists"),
    "property": (*COMPARE, "in", "nin", "contains", "between", "exists"),
}
TIERS = tuple(t.value for t in Tier)
NPS_SCORES = {"detractor": (0, 6), "passive": (7, 8), "promoter": (9, 10)}
OPEN_FEEDBACK = (FeedbackStatus.OPEN, FeedbackStatus.IN_PROGRESS)
# Event counts that mean "at least one" and "none": an EXISTS stops at the first event.
ANY_EVENT = {frozenset({(op, n)}) for op, n in (("gte", 1), ("gt", 0), ("neq", 0))}
NO_EVENT = {frozenset({(op, n)}) for op, n in (("eq", 0), ("lt", 1), ("lte", 0))}

# Each kind of condition is told apart by one key; these are all the keys it may carry.
KINDS: dict[str, frozenset[str]] = {
    "all": frozenset({"all"}),
    "any": frozenset({"any"}),
    "not": frozenset({"not"}),
    "attr": frozenset({"attr", "op", "value"}),
    "event": frozenset({"event", "feature", "count", "withinDays"}),
    "inactiveDays": frozenset({"inactiveDays"}),
    "nps": frozenset({"nps"}),
    "hasOpenFeedback": frozenset({"hasOpenFeedback"}),
    "inSegment": frozenset({"inSegment"}),
}


def compile_rule(
    rule: Any,
    *,
    now: datetime,
    segments: Mapping[str, Any] | None = None,
    key: str | None = None,
    path: str = "rule",
    scope: Select[Any] | None = None,
) -> Condition:
    """The rule as a boolean SQL condition on `users` (never NULL, so `not` is an exact
    complement). Raises ValidationFailed listing every problem, each at its node's path.

    `segments` maps the keys `inSegment` may name to their rules; `key` is the segment the
    rule belongs to, so a reference back to it is a cycle. `scope`, a select of user ids
    the condition will only be evaluated for, narrows the event and other subqueries.
    """
    compiler = _Compiler(now=now, segments=segments or {}, key=key, root=path, scope=scope)
    condition = compiler.node(rule, path, 1)
    if compiler.problems:
        raise ValidationFailed.of(compiler.problems)
    assert condition is not None
    return condition


def referenced_segments(rule: Any) -> set[str]:
    """The keys a rule names in `inSegment` (directly, not through the segments named)."""
    found: set[str] = set()
    stack = [rule]
    while stack:  # iterative: an unchecked rule may nest deeper than the recursion limit
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("inSegment"), str):
                found.add(node["inSegment"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


class _Compiler:
    def __init__(
        self,
        *,
        now: datetime,
        segments: Mapping[str, Any],
        key: str | None,
        root: str,
        scope: Select[Any] | None,
    ) -> None:
        self.now = now
        self.segments = segments
        self.chain = [key] if key is not None else []  # segments being inlined, outermost first
        self.root = root
        self.scope = scope
        self.problems: list[FieldProblem] = []
        self.nodes = 0

    def fail(self, path: str, message: str) -> None:
        self.problems.append(FieldProblem(path, message))

    def node(self, rule: Any, path: str, depth: int) -> Condition | None:
        if depth > MAX_DEPTH:
            return self.fail(path, f"rules nest at most {MAX_DEPTH} levels deep")
        self.nodes += 1
        if self.nodes > MAX_NODES:
            if self.nodes == MAX_NODES + 1:
                self.fail(self.root, f"a rule has at most {MAX_NODES} conditions")
            return None
        if not isinstance(rule, dict):
            return self.fail(path, "a condition is a JSON object")
        kinds = [kind for kind in KINDS if kind in rule]
        if len(kinds) != 1:
            return self.fail(path, f"a condition has exactly one of: {', '.join(KINDS)}")
        kind = kinds[0]
        for extra in sorted(rule.keys() - KINDS[kind]):
            self.fail(f"{path}.{_shown(extra, quote=False)}", f"unknown key in a {kind} condition")
        handlers = {
            "all": self._all,
            "any": self._any,
            "not": self._not,
            "attr": self._attr,
            "event": self._event,
            "inactiveDays": self._inactive_days,
            "nps": self._nps,
            "hasOpenFeedback": self._has_open_feedback,
            "inSegment": self._in_segment,
        }
        return handlers[kind](rule, path, depth)

    # Combinators

    def _group(self, rule: dict[str, Any], path: str, depth: int, kind: str) -> Condition | None:
        items, where = rule[kind], f"{path}.{kind}"
        if not isinstance(items, list) or not items:
            return self.fail(where, f"{kind} takes a non-empty list of conditions")
        parts = []
        for i, item in enumerate(items):
            if self.nodes > MAX_NODES:
                break
            parts.append(self.node(item, f"{where}[{i}]", depth + 1))
        if len(parts) < len(items) or any(part is None for part in parts):
            return None
        return and_(*parts) if kind == "all" else or_(*parts)

    def _all(self, rule: dict[str, Any], path: str, depth: int) -> Condition | None:
        return self._group(rule, path, depth, "all")

    def _any(self, rule: dict[str, Any], path: str, depth: int) -> Condition | None:
        return self._group(rule, path, depth, "any")

    def _not(self, rule: dict[str, Any], path: str, depth: int) -> Condition | None:
        inner = self.node(rule["not"], f"{path}.not", depth + 1)
        return None if inner is None else not_(inner)

    # Attributes

    def _attr(self, rule: dict[str, Any], path: str, depth: int) -> Condition | None:
        attr, op = rule["attr"], rule.get("op")
        family = _family(attr)
        if family is None:
            return self.fail(
                f"{path}.attr",
                f"unknown attribute {_shown(attr)}; one of: {', '.join(ATTRIBUTE_NAMES)}",
            )
        if family == "property" and not PROPERTY_NAME.fullmatch(attr[len(PROPERTY_PREFIX) :]):
            return self.fail(
                f"{path}.attr", "a property name is 1 to 64 letters, digits, '_' or '-'"
            )
        if op not in OPS[family]:
            return self.fail(
                f"{path}.op",
                f"op {_shown(op)} does not apply to {attr}; one of: {', '.join(OPS[family])}",
            )
        if op != "exists" and "value" not in rule:
            return self.fail(f"{path}.value", f"op {op!r} needs a value")
        value, where = rule.get("value", True), f"{path}.value"
        if op == "exists":
            return self._exists(attr, family, value, where)
        if family == "text":
            return self._text_attribute(TEXT_ATTRIBUTES[attr], op, value, where, attr == "tier")
        if family == "time":
            return self._time_attribute(TIME_ATTRIBUTES[attr], op, value, where)
        if family == "tags":
            return self._tags(op, value, where)
        return self._property(User.properties[attr[len(PROPERTY_PREFIX) :]], op, value, where)

    def _exists(self, attr: str, family: str, value: Any, where: str) -> Condition | None:
        flag = self._flag(value, where)
        if flag is None:
            return None
        if family == "tags":
            present: Condition = self._has(UserTag.user_id, select(UserTag.user_id))
        elif family == "property":
            present = _IsJsonPresent(User.properties[attr[len(PROPERTY_PREFIX) :]])
        else:
            present = {**TEXT_ATTRIBUTES, **TIME_ATTRIBUTES}[attr].is_not(None)
        return present if flag else not_(present)

    def _text_attribute(
        self, column: Any, op: str, value: Any, where: str, is_tier: bool
    ) -> Condition | None:
        choices = TIERS if is_tier else None
        if op in ("in", "nin"):
            texts = self._list(value, where, lambda v, p: self._text(v, p, choices))
            return None if texts is None else _known(column, column.in_(texts), op == "nin")
        if op == "contains":
            text = self._text(value, where)
            return None if text is None else _known(column, _contains(column, text), False)
        text = self._text(value, where, choices)
        return None if text is None else _known(column, column == text, op == "neq")

    def _time_attribute(self, column: Any, op: str, value: Any, where: str) -> Condition | None:
        if op == "between":
            bounds = self._between(value, where, self._instant)
            return None if bounds is None else _known(column, column.between(*bounds), False)
        instant = self._instant(value, where)
        return None if instant is None else _known(column, COMPARE[op](column, instant), False)

    def _tags(self, op: str, value: Any, where: str) -> Condition | None:
        if op == "contains":
            tag = self._text(value, where)
            tags = None if tag is None else [tag]
        else:
            tags = self._list(value, where, self._text)
        if tags is None:
            return None
        tagged = self._has(UserTag.user_id, select(UserTag.user_id).where(UserTag.tag.in_(tags)))  # type: ignore[attr-defined]
        return not_(tagged) if op == "nin" else tagged

    def _property(self, index: Any, op: str, value: Any, where: str) -> Condition | None:
        if op in ("in", "nin"):
            items = self._list(value, where, lambda v, p: self._scalar(v, p, ("string", "number")))
            if items is None:
                return None
            if len({kind for kind, _ in items}) > 1:
                return self.fail(where, f"{op} takes only strings or only numbers")
            typed = _typed(index, items[0][0])
            return _known(typed, typed.in_([v for _, v in items]), op == "nin")
        if op == "between":
            bounds = self._between(value, where, self._number)
            typed = _typed(index, "number")
            return None if bounds is None else _known(typed, typed.between(*bounds), False)
        if op in ORDERED:
            number = self._number(value, where)
            typed = _typed(index, "number")
            return None if number is None else _known(typed, COMPARE[op](typed, number), False)
        if op == "contains":
            text = self._text(value, where)
            typed = _typed(index, "string")
            return None if text is None else _known(typed, _contains(typed, text), False)
        scalar = self._scalar(value, where, ("string", "number", "boolean"))
        if scalar is None:
            return None
        typed = _typed(index, scalar[0])
        return _known(typed, typed == scalar[1], op == "neq")

    # Behaviour

    def _event(self, rule: dict[str, Any], path: str, depth: int) -> Condition | None:
        name = self._text(rule["event"], f"{path}.event")
        feature = self._text(rule["feature"], f"{path}.feature") if "feature" in rule else None
        bounds = self._comparison(rule.get("count", {"gte": 1}), f"{path}.count", MAX_COUNT)
        within = (
            self._whole(rule["withinDays"], f"{path}.withinDays", 1, MAX_DAYS)
            if "withinDays" in rule
            else None
        )
        if name is None or bounds is None or ("feature" in rule and feature is None):
            return None
        if "withinDays" in rule and within is None:
            return None
        matching = [Event.user_id == User.id, Event.name == name]
        if within is not None:
            matching.append(Event.occurred_at >= self.now - timedelta(days=within))
        if feature is not None:
            matching.append(Event.feature == feature)
        # Correlated to each user, answered from ix_events_user_id_name_occurred_at alone: a
        # page of members stops after `first` of them instead of grouping every matching
        # event first, and a count costs one index probe per user, however many events.
        events = select(Event.id).where(*matching).correlate(User)
        normal = frozenset(bounds)
        if normal in ANY_EVENT:
            return events.exists()
        if normal in NO_EVENT:
            return not_(events.exists())
        count = select(func.count()).where(*matching).correlate(User).scalar_subquery()
        return and_(*(COMPARE[op](count, n) for op, n in bounds))

    def _inactive_days(self, rule: dict[str, Any], path: str, depth: int) -> Condition | None:
        bounds = self._comparison(rule["inactiveDays"], f"{path}.inactiveDays", MAX_DAYS)
        if bounds is None:
            return None
        last = User.last_active_at

        def ago(days: int) -> datetime:
            return self.now - timedelta(days=days)

        # Idle time counts whole days since the last event: "n days" is [n, n + 1) days.
        idle = {
            "eq": lambda n: and_(last <= ago(n), last > ago(n + 1)),
            "neq": lambda n: or_(last > ago(n), last <= ago(n + 1)),
            "gt": lambda n: last <= ago(n + 1),
            "gte": lambda n: last <= ago(n),
            "lt": lambda n: last > ago(n),
            "lte": lambda n: last > ago(n + 1),
        }
        # Users never active have no idle time: they are not matched (see docs/segments.md).
        return and_(last.is_not(None), *(idle[op](n) for op, n in bounds))  # type: ignore[union-attr]

    def _nps(self, rule: dict[str, Any], path: str, depth: int) -> Condition | None:
        category = rule["nps"]
        if not isinstance(category, str) or category not in NPS_SCORES:
            return self.fail(f"{path}.nps", f"nps is one of: {', '.join(NPS_SCORES)}")
        low, high = NPS_SCORES[category]
        answer, newer = SurveyResponse, aliased(SurveyResponse)
        superseded = (
            select(newer.id)
            .where(
                newer.user_id == answer.user_id,
                newer.kind == SurveyKind.NPS,
                or_(
                    newer.responded_at > answer.responded_at,
                    and_(newer.responded_at == answer.responded_at, newer.id > answer.id),  # type: ignore[operator]
                ),
            )
            .exists()
        )
        latest = select(answer.user_id).where(
            answer.kind == SurveyKind.NPS, answer.score.between(low, high), ~superseded
        )
        return self._has(answer.user_id, latest)

    def _has_open_feedback(self, rule: dict[str, Any], path: str, depth: int) -> Condition | None:
        flag = self._flag(rule["hasOpenFeedback"], f"{path}.hasOpenFeedback")
        if flag is None:
            return None
        has_open = self._has(
            Feedback.user_id,
            # NOT IN over a NULL user id would be NULL for everyone: anonymous feedback is out.
            select(Feedback.user_id).where(
                Feedback.status.in_(OPEN_FEEDBACK),  # type: ignore[attr-defined]
                Feedback.user_id.is_not(None),  # type: ignore[union-attr]
            ),
        )
        return has_open if flag else not_(has_open)

    def _in_segment(self, rule: dict[str, Any], path: str, depth: int) -> Condition | None:
        key, where = rule["inSegment"], f"{path}.inSegment"
        if not isinstance(key, str):
            return self.fail(where, "inSegment takes a segment key")
        if key in self.chain:
            return self.fail(where, f"inSegment cycle: {' → '.join([*self.chain, key])}")
        if key not in self.segments:
            return self.fail(where, f"unknown segment {_shown(key)}")
        # The other segment's rule is inlined; its own problems are reported here, as one.
        outer, self.problems = self.problems, []
        self.chain.append(key)
        try:
            condition = self.node(self.segments[key], where, depth + 1)
        finally:
            self.chain.pop()
            inner, self.problems = self.problems, outer
        if inner:
            return self.fail(where, f"segment {key!r} cannot be used here: {inner[0].message}")
        return condition

    # Subqueries

    def _has(self, user_id: Any, user_ids: Select[Any]) -> Condition:
        """`users.id IN (user_ids)`, the subquery narrowed to the scope when there is one."""
        if self.scope is not None:
            # Never correlated: the scope may select from users, as the outer query does.
            user_ids = user_ids.where(user_id.in_(self.scope.correlate(None)))
        return User.id.in_(user_ids)  # type: ignore[union-attr]

    # Values: each returns None after recording a problem

    def _text(self, value: Any, where: str, choices: Sequence[str] | None = None) -> str | None:
        # PostgreSQL rejects NUL in text, so it is refused here rather than failing there.
        if not isinstance(value, str) or not 1 <= len(value) <= MAX_TEXT or "\x00" in value:
            return self.fail(where, f"expected a string of 1 to {MAX_TEXT} characters")
        if choices is not None and value not in choices:
            return self.fail(where, f"unknown value {_shown(value)}; one of: {', '.join(choices)}")
        return value

    def _flag(self, value: Any, where: str) -> bool | None:
        if not isinstance(value, bool):
            return self.fail(where, "expected true or false")
        return value

    def _number(self, value: Any, where: str) -> float | None:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or abs(value) > MAX_NUMBER
        ):
            return self.fail(where, f"expected a number from -{MAX_NUMBER:g} to {MAX_NUMBER:g}")
        return value

    def _whole(self, value: Any, where: str, low: int, high: int) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            return self.fail(where, f"expected a whole number from {low} to {high}")
        return value

    def _scalar(self, value: Any, where: str, kinds: Sequence[str]) -> tuple[str, Any] | None:
        kind = (
            "boolean"
            if isinstance(value, bool)
            else "number"
            if isinstance(value, int | float)
            else "string"
            if isinstance(value, str)
            else None
        )
        if kind not in kinds:
            return self.fail(where, f"expected a {' or a '.join(kinds)}")
        checked = {"boolean": self._flag, "number": self._number, "string": self._text}[kind](
            value, where
        )
        return None if checked is None else (kind, checked)

    def _instant(self, value: Any, where: str) -> datetime | None:
        if isinstance(value, dict) and value.keys() == {"daysAgo"}:
            days = self._whole(value["daysAgo"], f"{where}.daysAgo", 0, MAX_DAYS)
            return None if days is None else self.now - timedelta(days=days)
        if isinstance(value, str) and len(value) <= 40:
            try:
                instant = datetime.fromisoformat(value)
            except ValueError:
                pass
            else:
                return instant if instant.tzinfo else instant.replace(tzinfo=UTC)
        return self.fail(where, 'expected an ISO 8601 timestamp or {"daysAgo": n}')

    def _list(self, value: Any, where: str, item: Callable[[Any, str], T | None]) -> list[T] | None:
        if not isinstance(value, list) or not 1 <= len(value) <= MAX_VALUES:
            return self.fail(where, f"expected a list of 1 to {MAX_VALUES} values")
        items = [item(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return None if any(i is None for i in items) else items  # type: ignore[misc]

    def _between(
        self, value: Any, where: str, item: Callable[[Any, str], T | None]
    ) -> tuple[T, T] | None:
        if not isinstance(value, list) or len(value) != 2:
            return self.fail(where, "between takes two values: [low, high]")
        low, high = item(value[0], f"{where}[0]"), item(value[1], f"{where}[1]")
        if low is None or high is None:
            return None
        if low > high:  # type: ignore[operator]
            return self.fail(where, "between needs low ≤ high")
        return low, high

    def _comparison(self, spec: Any, where: str, limit: int) -> list[tuple[str, int]] | None:
        """`{"gte": 3}` or several bounds at once (`{"gte": 3, "lt": 10}`), all must hold."""
        if not isinstance(spec, dict) or not spec:
            return self.fail(
                where, f'expected an object such as {{"gte": 3}} with ops {", ".join(COMPARE)}'
            )
        bounds = []
        for op, n in spec.items():
            if op not in COMPARE:
                self.fail(f"{where}.{_shown(op, quote=False)}", f"one of: {', '.join(COMPARE)}")
            elif (whole := self._whole(n, f"{where}.{op}", 0, limit)) is not None:
                bounds.append((op, whole))
        return bounds if len(bounds) == len(spec) else None


def _family(attr: Any) -> str | None:
    if not isinstance(attr, str):
        return None
    if attr in TEXT_ATTRIBUTES:
        return "text"
    if attr in TIME_ATTRIBUTES:
        return "time"
    if attr == "tags":
        return "tags"
    return "property" if attr.startswith(PROPERTY_PREFIX) else None


def _known(value: Any, condition: Condition, negated: bool) -> Condition:
    """Two-valued comparisons: a missing value (NULL) fails a positive test and passes a
    negated one (neq, nin), so `not` and the negated ops are exact complements."""
    if negated:
        return or_(value.is_(None), not_(condition))
    return and_(value.is_not(None), condition)


def _contains(value: Any, text: str) -> Condition:
    # Case-insensitive on both databases (SQLite's LIKE ignores ASCII case, PostgreSQL's not).
    return func.lower(value).contains(text.lower(), autoescape=True)


def _shown(value: Any, *, quote: bool = True) -> str:
    """A client's value in a message, cut short: messages must stay small."""
    text = repr(value) if quote else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


class _IsJsonKind(FunctionElement[bool]):
    """True when a JSON property holds a value of the kind, false otherwise (never NULL).

    Each database names JSON types its own way; these are our constants, never input.
    """

    name = "is_json_kind"
    type = Boolean()
    inherit_cache = True
    sqlite_types: ClassVar[tuple[str, ...]] = ()
    postgresql_types: ClassVar[tuple[str, ...]] = ()


class _IsJsonString(_IsJsonKind):
    inherit_cache = True
    sqlite_types = ("text",)
    postgresql_types = ("string",)


class _IsJsonNumber(_IsJsonKind):
    inherit_cache = True
    sqlite_types = ("integer", "real")
    postgresql_types = ("number",)


class _IsJsonBoolean(_IsJsonKind):
    inherit_cache = True
    sqlite_types = ("true", "false")
    postgresql_types = ("boolean",)


class _IsJsonPresent(_IsJsonKind):
    inherit_cache = True
    sqlite_types = ("text", "integer", "real", "true", "false", "array", "object")
    postgresql_types = ("string", "number", "boolean", "array", "object")


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(f"'{name}'" for name in names)


@compiles(_IsJsonKind, "sqlite")
def _is_json_kind_sqlite(element: _IsJsonKind, compiler: SQLCompiler, **kw: Any) -> str:
    (index,) = element.clauses.clauses  # users.properties[name]: the column and a bound JSON path
    kind = f"json_type({compiler.process(index.left, **kw)}, {compiler.process(index.right, **kw)})"
    return f"coalesce({kind}, 'null') IN ({_quoted(element.sqlite_types)})"


@compiles(_IsJsonKind, "postgresql")
def _is_json_kind_postgresql(element: _IsJsonKind, compiler: SQLCompiler, **kw: Any) -> str:
    (index,) = element.clauses.clauses
    kind = f"jsonb_typeof({compiler.process(index, **kw)})"
    return f"coalesce({kind}, 'null') IN ({_quoted(element.postgresql_types)})"


_TYPED: dict[str, tuple[type[_IsJsonKind], str]] = {
    "string": (_IsJsonString, "as_string"),
    "number": (_IsJsonNumber, "as_float"),
    "boolean": (_IsJsonBoolean, "as_boolean"),
}


def _typed(index: Any, kind: str) -> Any:
    """The property's value when it is of the kind, else NULL: a number is compared as a
    number, and a string never reaches a numeric cast (which PostgreSQL would reject)."""
    is_kind, cast = _TYPED[kind]
    return case((is_kind(index), getattr(index, cast)()))
