"""A shop's routing rules, compiled once and indexed by delivery zone.

`CompiledRuleSet` orders the enabled rules by priority (lower number first; ties by
`created_at`, then `id`) and evaluates an order context against them:
`matched_rule_ids` are the matching rules in that order, up to and including the first
match whose `stop_on_match` is set; `suggested_route` is the action of the first match.

Most routing rules pin a field to string values: their top level is an `and` containing
`{"==": [{"var": "deliveryZone"}, "north"]}` (or `===`, or `in` with a list of strings).
Such a rule cannot match an order whose zone is another string, or has no zone, so an
order only runs the rules its own values admit, still in priority order. The indexed
fields are `deliveryZone`, `customer.segment`, `source` and `currency`. JsonLogic's `==`
is loose (`["north"] == "north"` holds), so a value that is neither a string nor absent
filters nothing; an absent value (null) rules out a pinning rule only when its `var`
has no default. The result is identical either way; only the work differs. The rule
list of each combination of those values is made once and kept (a bounded number of
combinations per rule set).

The order context is a dict with camelCase keys (see `validation.ORDER_CONTEXT_FIELDS`):

    {
        "deliveryZone": "north", "deliveryDate": "2026-12-24", "deliveryTime": "14:30",
        "total": 4599, "currency": "EUR", "source": "web",
        "items": [{"productType": "bouquet", "sku": "RB-12", "quantity": 1,
                   "unitPrice": 4599, "name": "Red roses"}],
        "customer": {"segment": "vip", "orderCount": 12, "isNew": False},
        "tags": ["same-day"], "weekday": 4, "hour": 14,
    }
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal, Protocol

from bloomer_ai.routing.engine.compiler import (
    ConditionOutcome,
    ExplainingEvaluator,
    Predicate,
    compile_predicate,
    compile_with_explain,
)
from bloomer_ai.routing.engine.jsonlogic import JsonLogicError

__all__ = [
    "CompiledRuleSet",
    "Evaluation",
    "RuleExplanation",
    "RuleLike",
    "RuleSpec",
    "requirements_of",
    "zones_required_by",
]

logger = logging.getLogger(__name__)

ZONE_FIELD: Final = "deliveryZone"
# Fields a rule may pin, with the type of value for which the pin decides (loose `==`
# between a string and a boolean, say, is not simple membership).
FIELD_TYPES: Final[dict[str, type]] = {
    "deliveryZone": str,
    "customer.segment": str,
    "customer.isNew": bool,
    "source": str,
    "currency": str,
}
# A pseudo-field: the set of the order's item product types, which `some` pins.
PRODUCT_TYPES: Final = "items[].productType"
INDEXED_FIELDS: Final = (*FIELD_TYPES, PRODUCT_TYPES)
_CANDIDATE_LISTS_KEPT: Final = 4096
# An order value that rules nothing out (a number, a list: loose `==` may still hold).
_ANY: Final = object()


class RuleLike(Protocol):
    """What the rule set reads from a rule: a `RuleSpec`, or a stored rule row."""

    @property
    def id(self) -> str: ...
    @property
    def priority(self) -> int: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def conditions(self) -> Any: ...
    @property
    def action(self) -> Mapping[str, Any]: ...
    @property
    def stop_on_match(self) -> bool: ...
    @property
    def enabled(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class RuleSpec:
    id: str
    priority: int
    created_at: datetime
    conditions: Any
    action: Mapping[str, Any]
    stop_on_match: bool = False
    enabled: bool = True


Outcome = Literal["matched", "not_matched", "error", "not_reached", "disabled"]


@dataclass(frozen=True, slots=True)
class RuleExplanation:
    """Why one rule matched or not (`?explain=true`)."""

    rule_id: str
    outcome: Outcome
    decided_by: str | None = None  # e.g. "conditions.and[1]"
    checked: tuple[ConditionOutcome, ...] = ()
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The result of evaluating one order context against a rule set.

    `evaluated_rules` counts the enabled rules considered in priority order, up to the
    rule that stopped evaluation (or all of them); rules the zone index ruled out count
    too, so the number does not depend on the index. `conditions_evaluated` is the work
    actually done: how many rules' conditions ran.
    """

    suggested_route: Mapping[str, Any] | None
    matched_rule_ids: tuple[str, ...]
    evaluated_rules: int
    conditions_evaluated: int
    explain: tuple[RuleExplanation, ...] | None = None


@dataclass(slots=True)
class _CompiledRule:
    ordinal: int  # position among the enabled rules, in priority order
    rule_id: str
    conditions: Any
    action: Mapping[str, Any]
    stop_on_match: bool
    matches: Predicate
    explainer: ExplainingEvaluator | None = None
    # Predicates without the pinning conditions an order's index key already decides,
    # by the positions of the conditions left out.
    residuals: dict[tuple[int, ...], Predicate] = field(default_factory=dict)

    def residual(self, key_by_field: Mapping[str, Any]) -> Predicate:
        """This rule's test for orders with these indexed values: the pinning conditions
        those values satisfy are left out (they are true; dropping a true conjunct of an
        `and` changes neither its truthiness nor which other conjuncts run)."""
        parts = _conjuncts(self.conditions)
        dropped = tuple(
            position for position, part in enumerate(parts) if _decided_true(part, key_by_field)
        )
        if not dropped:
            return self.matches
        if len(dropped) == len(parts):
            return _always_true
        found = self.residuals.get(dropped)
        if found is None:
            kept = [part for position, part in enumerate(parts) if position not in dropped]
            found = self.residuals[dropped] = compile_predicate({"and": kept})
        return found

    def explain(self, order: Any) -> RuleExplanation:
        if self.explainer is None:
            self.explainer = compile_with_explain(self.conditions)
        try:
            explanation = self.explainer(order)
        except JsonLogicError as error:
            return RuleExplanation(self.rule_id, "error", error=str(error))
        outcome: Outcome = "matched" if explanation.matched else "not_matched"
        return RuleExplanation(self.rule_id, outcome, explanation.decided_by, explanation.checked)


@dataclass(frozen=True, slots=True)
class Requirement:
    """A field must be one of `values`; with `excludes_absent`, an absent (null) field
    fails too (no `var` default could stand in for it). For `PRODUCT_TYPES`, some item's
    product type must be one of `values`."""

    values: frozenset[str | bool]
    excludes_absent: bool

    def holds_for(self, value: Any) -> bool:
        """Whether a present value the index can decide on (typed, or the set of the
        order's product types) satisfies this requirement."""
        if type(value) is frozenset:
            return not value.isdisjoint(self.values)
        return value in self.values


def _pinned_var(logic: Any) -> tuple[str, bool] | None:
    """(field, has a default) when `logic` reads one of the indexed fields."""
    if type(logic) is not dict or len(logic) != 1 or "var" not in logic:
        return None
    path = logic["var"]
    if type(path) is list:
        if 1 <= len(path) <= 2 and type(path[0]) is str and path[0] in FIELD_TYPES:
            return path[0], len(path) == 2
        return None
    if type(path) is str and path in FIELD_TYPES:
        return path, False
    return None


def _pinned_values(condition: Any, var_is: Any) -> tuple[Any, frozenset[Any]] | None:
    """(the var, the literals) of `var == literal`, `literal == var` or `var in [literals]`."""
    if type(condition) is not dict or len(condition) != 1:
        return None
    ((operator, args),) = condition.items()
    if type(args) is not list or len(args) != 2:
        return None
    left, right = args
    if operator in ("==", "==="):
        for var, literal in ((left, right), (right, left)):
            if var_is(var) and type(literal) in (str, bool):
                return var, frozenset({literal})
    if (
        operator == "in"
        and var_is(left)
        and type(right) is list
        and all(type(item) is str for item in right)
    ):
        return left, frozenset(right)  # `in` on an array is `===` membership
    return None


def _requirement_of_condition(condition: Any) -> tuple[str, Requirement] | None:
    """The field and values a condition pins, when it pins one to literals of its type."""
    found = _pinned_values(condition, lambda var: _pinned_var(var) is not None)
    if found is not None:
        var, values = found
        pinned = _pinned_var(var)
        assert pinned is not None
        field, has_default = pinned
        # With a value of the field's type, loose and strict equality to a literal of that
        # type agree; null equals none of them either way.
        if all(type(value) is FIELD_TYPES[field] for value in values):
            return field, Requirement(values, excludes_absent=not has_default)
        return None
    return _product_types_of_condition(condition)


def _product_types_of_condition(condition: Any) -> tuple[str, Requirement] | None:
    """`{"some": [{"var": "items"}, <productType == / in string literals>]}`."""
    if type(condition) is not dict or len(condition) != 1 or "some" not in condition:
        return None
    args = condition["some"]
    if type(args) is not list or len(args) != 2 or args[0] != {"var": "items"}:
        return None
    found = _pinned_values(args[1], lambda var: var == {"var": "productType"})
    if found is None or not all(type(value) is str for value in found[1]):
        return None
    # No items (or none of those types): `some` is false, so the rule cannot match.
    return PRODUCT_TYPES, Requirement(found[1], excludes_absent=True)


def _conjuncts(conditions: Any) -> list[Any]:
    """The parts that must all hold: those of a top-level `and`, else the whole."""
    if type(conditions) is dict and len(conditions) == 1 and "and" in conditions:
        parts = conditions["and"]
        return parts if type(parts) is list else [parts]
    return [conditions]


def requirements_of(conditions: Any) -> dict[str, Requirement]:
    """Per indexed field, the values outside which `conditions` cannot hold."""
    found: dict[str, Requirement] = {}
    # Any false part makes the whole `and` falsy, so every pinning part must hold.
    for part in _conjuncts(conditions):
        pinned = _requirement_of_condition(part)
        if pinned is None:
            continue
        field, requirement = pinned
        earlier = found.get(field)
        if earlier is not None and field == PRODUCT_TYPES:
            # Two `some` parts need two different items: keep the narrower (leaving one
            # out only widens the candidates, never changes a result).
            if len(earlier.values) <= len(requirement.values):
                requirement = earlier
        elif earlier is not None:
            requirement = Requirement(
                earlier.values & requirement.values,
                earlier.excludes_absent or requirement.excludes_absent,
            )
        found[field] = requirement
    return found


def zones_required_by(conditions: Any) -> frozenset[str] | None:
    """Zones outside which `conditions` cannot hold (for a string zone), or None."""
    requirement = requirements_of(conditions).get(ZONE_FIELD)
    if requirement is None:
        return None
    return frozenset(str(zone) for zone in requirement.values)  # zones are strings


def _index_value(order: dict[str, Any], field: str) -> Any:
    """The order's value of an indexed field: of the field's type, None when absent, or
    _ANY (a value the index cannot decide on)."""
    if field == PRODUCT_TYPES:
        return _product_types(order.get("items"))
    if field.startswith("customer."):
        customer = order.get("customer")
        if customer is None:
            return None
        if type(customer) is not dict:
            return _ANY
        value = customer.get(field.removeprefix("customer."))
    else:
        value = order.get(field)
    if value is None or type(value) is FIELD_TYPES[field]:
        return value
    return _ANY


def _product_types(items: Any) -> Any:
    if items is None:
        return frozenset()
    if type(items) is not list:
        return _ANY
    types = set()
    for item in items:
        product_type = item.get("productType") if type(item) is dict else None
        if type(product_type) is not str:
            return _ANY
        types.add(product_type)
    return frozenset(types)


def _decided_true(condition: Any, key_by_field: Mapping[str, Any]) -> bool:
    """Whether the order's indexed values make this (pinning) condition true."""
    pinned = _requirement_of_condition(condition)
    if pinned is None:
        return False
    field_name, requirement = pinned
    value = key_by_field.get(field_name, _ANY)
    return value is not _ANY and value is not None and requirement.holds_for(value)


def _always_true(_order: Any) -> bool:
    return True


def _admits(requirements: tuple[tuple[int, Requirement], ...], key: tuple[Any, ...]) -> bool:
    for position, requirement in requirements:
        value = key[position]
        if value is _ANY:
            continue
        if value is None:
            if requirement.excludes_absent:
                return False
        elif not requirement.holds_for(value):
            return False
    return True


class CompiledRuleSet:
    """Enabled rules compiled and ordered once; evaluate many orders against them."""

    def __init__(self, rules: Iterable[RuleLike]) -> None:
        ordered = sorted(rules, key=lambda rule: (rule.priority, rule.created_at, rule.id))
        self._rules: tuple[_CompiledRule, ...] = tuple(
            _CompiledRule(
                ordinal,
                rule.id,
                rule.conditions,
                rule.action,
                rule.stop_on_match,
                compile_predicate(rule.conditions),
            )
            for ordinal, rule in enumerate(rule for rule in ordered if rule.enabled)
        )
        # Every rule in priority order, disabled ones as their id alone (for explain).
        enabled = iter(self._rules)
        self._all_rules: tuple[_CompiledRule | str, ...] = tuple(
            next(enabled) if rule.enabled else rule.id for rule in ordered
        )
        requirements = [requirements_of(compiled.conditions) for compiled in self._rules]
        # Only the fields some rule pins make up an order's key.
        self._fields = tuple(
            field for field in INDEXED_FIELDS if any(field in found for found in requirements)
        )
        self._requirements = tuple(
            tuple(
                (position, found[field])
                for position, field in enumerate(self._fields)
                if field in found
            )
            for found in requirements
        )
        self._zones = frozenset(
            str(zone)
            for found in requirements
            if ZONE_FIELD in found
            for zone in found[ZONE_FIELD].values
        )
        self._every_rule = tuple((rule, rule.matches) for rule in self._rules)
        self._candidates: dict[tuple[Any, ...], tuple[tuple[_CompiledRule, Predicate], ...]] = {}

    def __len__(self) -> int:
        return len(self._rules)

    @property
    def indexed_zones(self) -> frozenset[str]:
        return self._zones

    def candidates(self, order: Any) -> tuple[tuple[_CompiledRule, Predicate], ...]:
        """The rules that can match `order`, in priority order, each with its test."""
        if type(order) is not dict or not self._fields:
            return self._every_rule
        key = tuple(_index_value(order, field_name) for field_name in self._fields)
        found = self._candidates.get(key)
        if found is None:
            key_by_field = dict(zip(self._fields, key, strict=True))
            found = tuple(
                (rule, rule.residual(key_by_field))
                for rule, requirements in zip(self._rules, self._requirements, strict=True)
                if _admits(requirements, key)
            )
            if len(self._candidates) >= _CANDIDATE_LISTS_KEPT:
                self._candidates.clear()  # bounded: orders may bring any values
            self._candidates[key] = found
        return found

    def evaluate(
        self, order: Mapping[str, Any], *, explain: bool = False, use_index: bool = True
    ) -> Evaluation:
        """Match `order` (an order context) against the rules.

        A rule whose evaluation fails (say `*` with no arguments, which json-logic-js
        throws on) does not match. With `explain`, every rule's conditions run without
        the index, and the result says what decided each rule.
        """
        if explain:
            return self._evaluate_explained(order)
        candidates = self.candidates(order) if use_index else self._every_rule
        matched: list[str] = []
        suggested: Mapping[str, Any] | None = None
        evaluated = len(self._rules)
        ran = 0
        for rule, matches in candidates:
            ran += 1
            try:
                hit = matches(order)
            except JsonLogicError as error:
                logger.warning("routing rule %s failed to evaluate: %s", rule.rule_id, error)
                continue
            if hit:
                matched.append(rule.rule_id)
                if suggested is None:
                    suggested = rule.action
                if rule.stop_on_match:
                    evaluated = rule.ordinal + 1
                    break
        return Evaluation(suggested, tuple(matched), evaluated, ran)

    def _evaluate_explained(self, order: Mapping[str, Any]) -> Evaluation:
        explanations: list[RuleExplanation] = []
        matched: list[str] = []
        suggested: Mapping[str, Any] | None = None
        evaluated = len(self._rules)
        stopped = False
        for rule in self._all_rules:
            if isinstance(rule, str):
                explanations.append(RuleExplanation(rule, "disabled"))
                continue
            if stopped:
                explanations.append(RuleExplanation(rule.rule_id, "not_reached"))
                continue
            explanation = rule.explain(order)
            explanations.append(explanation)
            if explanation.outcome == "matched":
                matched.append(rule.rule_id)
                if suggested is None:
                    suggested = rule.action
                if rule.stop_on_match:
                    evaluated = rule.ordinal + 1
                    stopped = True
        return Evaluation(suggested, tuple(matched), evaluated, evaluated, tuple(explanations))
