"""Checks a rule before it is stored: known operators, documented fields, bounds.

A rule's `conditions` are JsonLogic, evaluated against a context whose fields the caller
names (`Variables`): routing rules read the *order context* (`ORDER_VARIABLES`, the shape
in `ORDER_CONTEXT_FIELDS`), support automation rules the support event's. Only the
standard JsonLogic operators are accepted, without `log`; every `var` must name a
documented field; nesting depth and size are bounded so one rule cannot make evaluation
slow. Each problem is a `Fault` with the JSON path of
the offending value (`conditions.and[2].==[0].var`), for a `422` that points at it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from bloomer_ai.routing.engine.jsonlogic import STANDARD_OPERATORS

__all__ = [
    "ACTION_TYPES",
    "ASSIGN_TARGET_KINDS",
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_NODES",
    "ITEM_FIELDS",
    "KNOWN_OPERATORS",
    "ORDER_CONTEXT_FIELDS",
    "ORDER_VARIABLES",
    "PRIORITY_LEVELS",
    "Fault",
    "Variables",
    "validate_action",
    "validate_rule",
    "validate_rule_conditions",
]

DEFAULT_MAX_DEPTH: Final = 12
DEFAULT_MAX_NODES: Final = 200
_MAX_TEXT_LENGTH: Final = 500

KNOWN_OPERATORS: Final[frozenset[str]] = STANDARD_OPERATORS - {"log"}
"""Operators a routing rule may use: json-logic-js's standard set, minus `log`."""

ORDER_CONTEXT_FIELDS: Final[Mapping[str, str]] = {
    "deliveryZone": 'Delivery zone name of the shop\'s own zones, a string (e.g. "north").',
    "deliveryDate": 'Delivery date, ISO 8601 string "YYYY-MM-DD"; compares as text.',
    "deliveryTime": 'Delivery time of day, "HH:MM" (24-hour); compares as text.',
    "total": "Order total in minor units of `currency`, an integer (4599 is 45.99).",
    "currency": 'ISO 4217 currency code of the order, e.g. "EUR".',
    "source": 'Where the order came from: "web", "voice", "pos", "phone", ...',
    "items": "Order lines, an array of objects with the fields in ITEM_FIELDS; use it "
    "with some/all/none/filter/map/reduce.",
    "items.length": "Number of order lines.",
    "customer.segment": 'Customer segment, e.g. "new", "regular", "vip", "lapsed".',
    "customer.orderCount": "Number of earlier orders by the customer, an integer.",
    "customer.isNew": "True when this is the customer's first order.",
    "tags": 'Order tags, an array of strings; test with {"in": ["tag", {"var": "tags"}]}.',
    "tags.length": "Number of tags.",
    "weekday": "ISO weekday of the delivery date, 1 = Monday ... 7 = Sunday (of the day "
    "of evaluation in the shop's time zone when there is no delivery date).",
    "hour": "Hour of the delivery time, 0-23 (of the moment of evaluation in the shop's "
    "time zone when there is no delivery time).",
}
"""The `var` paths a rule may read, with what each holds. The order context is a dict
with these camelCase keys; `customer` is a nested object."""

ITEM_FIELDS: Final[Mapping[str, str]] = {
    "productType": 'Product type, e.g. "bouquet", "plant", "wreath".',
    "sku": "Stock-keeping unit, a string.",
    "quantity": "Quantity ordered, a positive integer.",
    "unitPrice": "Unit price in minor units, an integer.",
    "name": "Product name as shown to the customer.",
}
"""Fields of one element of `items`: what `var` reads inside some/all/none/filter/map over
`items` (`""` is the whole item); in `reduce` they are `current.<field>`."""

ACTION_TYPES: Final = ("assign", "prioritize", "flag", "hold")
ASSIGN_TARGET_KINDS: Final = ("team", "location", "courier")
PRIORITY_LEVELS: Final = ("low", "normal", "high", "urgent")

_ACTION_FIELDS: Final[Mapping[str, frozenset[str]]] = {
    "assign": frozenset({"type", "target", "note"}),
    "prioritize": frozenset({"type", "level"}),
    "flag": frozenset({"type", "reason"}),
    "hold": frozenset({"type", "reason", "until"}),
}

# (fewest, most) arguments; None: no upper bound. Stricter than json-logic-js, which
# silently reads a missing argument as undefined: here that is almost always a mistake.
_ARITY: Final[Mapping[str, tuple[int, int | None]]] = {
    "==": (2, 2),
    "===": (2, 2),
    "!=": (2, 2),
    "!==": (2, 2),
    ">": (2, 2),
    ">=": (2, 2),
    "<": (2, 3),
    "<=": (2, 3),
    "!": (1, 1),
    "!!": (1, 1),
    "%": (2, 2),
    "in": (2, 2),
    "cat": (1, None),
    "substr": (2, 3),
    "+": (1, None),
    "*": (1, None),
    "-": (1, 2),
    "/": (2, 2),
    "min": (1, None),
    "max": (1, None),
    "merge": (1, None),
    "var": (1, 2),
    "missing": (1, None),
    "missing_some": (2, 2),
    "if": (2, None),
    "?:": (3, 3),
    "and": (1, None),
    "or": (1, None),
    "filter": (2, 2),
    "map": (2, 2),
    "reduce": (2, 3),
    "all": (2, 2),
    "none": (2, 2),
    "some": (2, 2),
}

_ITERATING_OPERATORS: Final = frozenset({"some", "all", "none", "filter", "map"})
_INDEXED_PATH: Final = re.compile(r"(items|tags)\.(0|[1-9][0-9]{0,3})(?:\.(\w+))?", re.ASCII)


@dataclass(frozen=True, slots=True)
class Variables:
    """What a kind of rule may read: the `var` paths of its context (with what each
    holds), and, for a context with order lines, the fields of one line."""

    fields: Mapping[str, str]
    item_fields: Mapping[str, str]
    item_collection: str | None
    """The field whose elements have `item_fields` (`items`), if any."""
    indexed_paths: bool
    """Whether `items.0.sku` / `tags.0` name one element (routing's order context)."""
    subject: str
    """Who the rules are, for messages ("routing rules")."""
    context: str
    """What the rules read, for messages ("order context")."""


ORDER_VARIABLES: Final = Variables(
    fields=ORDER_CONTEXT_FIELDS,
    item_fields=ITEM_FIELDS,
    item_collection="items",
    indexed_paths=True,
    subject="routing rules",
    context="order context",
)


@dataclass(frozen=True, slots=True)
class Fault:
    """One problem in a rule: the JSON path of the offending value and what is wrong."""

    path: str
    message: str


@dataclass(frozen=True, slots=True)
class _Scope:
    """What `var` reads at a point in the rule.

    `root`: the rule's context (`variables.fields`). `item`: an element of the item
    collection. `value`: a plain value (an element of `tags`, or of a computed array).
    `reduce`: `{current, accumulator}`, where `current` is an element of kind `element`.
    """

    kind: str
    variables: Variables
    element: str = "value"

    def allows(self, path: str) -> bool:
        item_fields = self.variables.item_fields
        if self.kind == "root":
            return path in self.variables.fields or self._allows_indexed(path)
        if self.kind == "item":
            return path == "" or path in item_fields
        if self.kind == "value":
            return path == ""
        if path in ("current", "accumulator"):
            return True
        field = path.removeprefix("current.")
        return self.element == "item" and field != path and field in item_fields

    def _allows_indexed(self, path: str) -> bool:
        # items.0.sku and tags.0 name one element, as json-logic-js resolves them.
        if not self.variables.indexed_paths:
            return False
        match = _INDEXED_PATH.fullmatch(path)
        if match is None:
            return False
        collection, _, field = match.groups()
        if collection == "tags":
            return field is None
        return field is None or field in self.variables.item_fields

    def describe(self) -> str:
        item_fields = self.variables.item_fields
        if self.kind == "root":
            return f"the {self.variables.context} fields: " + ", ".join(self.variables.fields)
        if self.kind == "item":
            return 'item fields ("" for the item itself): ' + ", ".join(item_fields)
        if self.kind == "value":
            return '"" (the current element)'
        fields = ["current", "accumulator"]
        if self.element == "item":
            fields += [f"current.{field}" for field in item_fields]
        return ", ".join(fields)


class _TooLarge(Exception):
    """Stops the walk once the rule has more nodes than allowed."""


class _RuleChecker:
    def __init__(self, max_depth: int, max_nodes: int) -> None:
        self.max_depth = max_depth
        self.max_nodes = max_nodes
        self.nodes = 0
        self.faults: list[Fault] = []

    def fault(self, path: str, message: str) -> None:
        self.faults.append(Fault(path, message))

    def check(self, value: Any, path: str, depth: int, scope: _Scope) -> None:
        self.nodes += 1
        if self.nodes > self.max_nodes:
            raise _TooLarge
        if depth > self.max_depth:
            self.fault(path, f"nested deeper than {self.max_depth} levels")
            return
        if isinstance(value, list):
            for index, item in enumerate(value):
                self.check(item, f"{path}[{index}]", depth + 1, scope)
        elif isinstance(value, dict):
            self.check_operation(value, path, depth, scope)
        elif not (value is None or isinstance(value, str | int | float | bool)):
            self.fault(path, "must be a JSON value")

    def check_operation(self, logic: dict[Any, Any], path: str, depth: int, scope: _Scope) -> None:
        if len(logic) != 1:
            self.fault(path, "an operation is an object with exactly one key, the operator")
            return
        ((operator, raw_args),) = logic.items()
        op_path = f"{path}.{operator}"
        if operator == "log":
            self.fault(op_path, f"'log' is not allowed in {scope.variables.subject}")
            return
        if operator not in KNOWN_OPERATORS:
            self.fault(op_path, f"unknown operator {operator!r}")
            return
        # A lone argument may be given bare ({"var": "x"}); its path has no index then.
        args = raw_args if isinstance(raw_args, list) else [raw_args]

        def arg_path(index: int) -> str:
            return f"{op_path}[{index}]" if isinstance(raw_args, list) else op_path

        fewest, most = _ARITY[operator]
        if len(args) < fewest or (most is not None and len(args) > most):
            self.fault(op_path, f"{operator!r} takes {_count(fewest, most)}, got {len(args)}")
            return
        if operator == "var":
            self.check_var(args, arg_path, depth, scope)
        elif operator in ("missing", "missing_some"):
            self.check_missing(operator, args, arg_path, scope)
        elif operator in _ITERATING_OPERATORS or operator == "reduce":
            self.check_iteration(operator, args, arg_path, depth, scope)
        else:
            for index, arg in enumerate(args):
                self.check(arg, arg_path(index), depth + 1, scope)

    def check_var(
        self, args: list[Any], arg_path: Callable[[int], str], depth: int, scope: _Scope
    ) -> None:
        field = args[0]
        if not isinstance(field, str):
            self.fault(arg_path(0), "a var path must be a literal string")
        elif not scope.allows(field):
            self.fault(arg_path(0), f"unknown field {field!r}; use {scope.describe()}")
        if len(args) == 2:  # the default value
            self.check(args[1], arg_path(1), depth + 1, scope)

    def check_missing(
        self, operator: str, args: list[Any], arg_path: Callable[[int], str], scope: _Scope
    ) -> None:
        if operator == "missing_some":
            if not isinstance(args[0], int) or isinstance(args[0], bool) or args[0] < 0:
                self.fault(arg_path(0), "must be a whole number of fields that must be present")
            fields, fields_path = args[1], arg_path(1)
            if not isinstance(fields, list):
                self.fault(fields_path, "must be an array of field names")
                return
            named = [(f"{fields_path}[{index}]", field) for index, field in enumerate(fields)]
        elif len(args) == 1 and isinstance(args[0], list):
            named = [(f"{arg_path(0)}[{index}]", field) for index, field in enumerate(args[0])]
        else:
            named = [(arg_path(index), field) for index, field in enumerate(args)]
        for path, field in named:
            self.nodes += 1
            if self.nodes > self.max_nodes:
                raise _TooLarge
            if not isinstance(field, str):
                self.fault(path, "a field name must be a literal string")
            elif not scope.allows(field):
                self.fault(path, f"unknown field {field!r}; use {scope.describe()}")

    def check_iteration(
        self,
        operator: str,
        args: list[Any],
        arg_path: Callable[[int], str],
        depth: int,
        scope: _Scope,
    ) -> None:
        source = args[0]
        self.check(source, arg_path(0), depth + 1, scope)
        element = _element_kind(source, scope)
        variables = scope.variables
        inner = (
            _Scope("reduce", variables, element)
            if operator == "reduce"
            else _Scope(element, variables)
        )
        self.check(args[1], arg_path(1), depth + 1, inner)
        if len(args) == 3:  # reduce's initial value is evaluated outside the loop
            self.check(args[2], arg_path(2), depth + 1, scope)


def _count(fewest: int, most: int | None) -> str:
    if most is None:
        return f"at least {fewest} argument" + ("s" if fewest != 1 else "")
    if fewest == most:
        return f"{fewest} argument" + ("s" if fewest != 1 else "")
    return f"{fewest} to {most} arguments"


def _element_kind(source: Any, scope: _Scope) -> str:
    """What one element of a collection is: an order line (`item`) or a plain value."""
    if isinstance(source, dict) and len(source) == 1:
        ((operator, args),) = source.items()
        field = args[0] if isinstance(args, list) and args else args
        collection = scope.variables.item_collection
        if operator == "var" and scope.kind == "root" and collection and field == collection:
            return "item"
        if operator == "filter" and isinstance(args, list) and args:
            return _element_kind(args[0], scope)  # filter keeps the elements as they are
    return "value"


def validate_rule_conditions(
    logic: Any,
    *,
    variables: Variables = ORDER_VARIABLES,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_nodes: int = DEFAULT_MAX_NODES,
    path: str = "conditions",
) -> list[Fault]:
    """Faults in a rule's JsonLogic `conditions`, reading only `variables`; an empty
    list means it is acceptable.

    `true`/`false` are accepted (a rule that always/never matches); any other top-level
    literal is refused as a likely mistake.
    """
    if not isinstance(logic, dict | bool):
        return [Fault(path, "conditions must be a JsonLogic operation, or true or false")]
    checker = _RuleChecker(max_depth, max_nodes)
    try:
        checker.check(logic, path, 1, _Scope("root", variables))
    except _TooLarge:
        checker.fault(path, f"rule has more than {max_nodes} nodes")
    return checker.faults


def _check_text(
    value: Any, path: str, faults: list[Fault], *, required: bool = True, max_length: int
) -> None:
    if not isinstance(value, str):
        faults.append(Fault(path, "must be a string"))
    elif required and not value.strip():
        faults.append(Fault(path, "must not be empty"))
    elif len(value) > max_length:
        faults.append(Fault(path, f"must be at most {max_length} characters"))


def _check_choice(value: Any, path: str, choices: tuple[str, ...], faults: list[Fault]) -> None:
    if value not in choices or not isinstance(value, str):
        faults.append(Fault(path, "must be one of " + ", ".join(choices)))


def validate_action(action: Any, *, path: str = "action") -> list[Fault]:
    """Faults in a rule's `action`; an empty list means it is acceptable.

    - `assign`: `target: {kind: team|location|courier, id}`, optional `note`
    - `prioritize`: `level: low|normal|high|urgent`
    - `flag`: `reason`
    - `hold`: `reason`, optional `until` (ISO 8601 date-time with a UTC offset)
    """
    if not isinstance(action, dict):
        return [Fault(path, "must be an object")]
    action_type = action.get("type")
    if action_type not in ACTION_TYPES or not isinstance(action_type, str):
        return [Fault(f"{path}.type", "must be one of " + ", ".join(ACTION_TYPES))]
    faults: list[Fault] = []
    allowed = _ACTION_FIELDS[action_type]
    for key in action:
        if key not in allowed:
            faults.append(Fault(f"{path}.{key}", f"unknown field for a {action_type!r} action"))
    if action_type == "assign":
        _check_target(action.get("target"), f"{path}.target", faults)
        if "note" in action:
            _check_text(
                action["note"], f"{path}.note", faults, required=False, max_length=_MAX_TEXT_LENGTH
            )
    elif action_type == "prioritize":
        _check_choice(action.get("level"), f"{path}.level", PRIORITY_LEVELS, faults)
    else:
        _check_text(action.get("reason"), f"{path}.reason", faults, max_length=_MAX_TEXT_LENGTH)
        if action_type == "hold" and "until" in action:
            _check_instant(action["until"], f"{path}.until", faults)
    return faults


def _check_target(target: Any, path: str, faults: list[Fault]) -> None:
    if not isinstance(target, dict):
        faults.append(Fault(path, "must be an object with kind and id"))
        return
    for key in target:
        if key not in ("kind", "id"):
            faults.append(Fault(f"{path}.{key}", "unknown field for a target"))
    _check_choice(target.get("kind"), f"{path}.kind", ASSIGN_TARGET_KINDS, faults)
    _check_text(target.get("id"), f"{path}.id", faults, max_length=200)


def _check_instant(value: Any, path: str, faults: list[Fault]) -> None:
    message = "must be an ISO 8601 date-time with a UTC offset, e.g. 2026-12-24T09:00:00+01:00"
    if not isinstance(value, str) or "T" not in value.upper():
        faults.append(Fault(path, message))
        return
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        faults.append(Fault(path, message))
        return
    if instant.tzinfo is None:
        faults.append(Fault(path, message))


def validate_rule(conditions: Any, action: Any) -> list[Fault]:
    """Faults in a whole rule: its conditions, then its action."""
    return validate_rule_conditions(conditions) + validate_action(action)
