"""A shop's routing rules, compiled once and indexed by delivery zone.

`CompiledRuleSet` orders the enabled rules by priority (lower number first; ties by
`created_at`, then `id`) and evaluates an order context against them:
`matched_rule_ids` are the matching rules in that order, up to and including the first
match whose `stop_on_match` is set; `suggested_route` is the action of the first match.

Most routing rules pin a zone: their top level is an `and` containing
`{"==": [{"var": "deliveryZone"}, "north"]}` (or `===`, or `in` with a list of zone
names). Such a rule cannot match an order whose zone is another string, so an order
only runs the rules of its own zone plus the rules that pin none, still in priority
order. JsonLogic's `==` is loose (`["north"] == "north"` holds), so the index is used
only when the order's zone is a string; any other zone value runs every rule. The
result is identical either way; only the work differs.

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
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal, Protocol

from bloomer_ai.routing.compiler import (
    ConditionOutcome,
    ExplainingEvaluator,
    Predicate,
    compile_predicate,
    compile_with_explain,
)
from bloomer_ai.routing.jsonlogic import JsonLogicError

__all__ = [
    "CompiledRuleSet",
    "Evaluation",
    "RuleExplanation",
    "RuleLike",
    "RuleSpec",
    "zones_required_by",
]

logger = logging.getLogger(__name__)

ZONE_FIELD: Final = "deliveryZone"


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

    def explain(self, order: Any) -> RuleExplanation:
        if self.explainer is None:
            self.explainer = compile_with_explain(self.conditions)
        try:
            explanation = self.explainer(order)
        except JsonLogicError as error:
            return RuleExplanation(self.rule_id, "error", error=str(error))
        outcome: Outcome = "matched" if explanation.matched else "not_matched"
        return RuleExplanation(self.rule_id, outcome, explanation.decided_by, explanation.checked)


def _is_zone_var(logic: Any) -> bool:
    if type(logic) is not dict or len(logic) != 1 or "var" not in logic:
        return False
    path = logic["var"]
    if type(path) is list:
        # A default does not matter: the index is only used when the zone is present.
        return 1 <= len(path) <= 2 and path[0] == ZONE_FIELD
    return path == ZONE_FIELD and type(path) is str


def _zones_of_condition(condition: Any) -> frozenset[str] | None:
    """The zones a condition allows, when it pins the zone to string literals."""
    if type(condition) is not dict or len(condition) != 1:
        return None
    ((operator, args),) = condition.items()
    if type(args) is not list or len(args) != 2:
        return None
    left, right = args
    if operator in ("==", "==="):
        # With a string zone, loose and strict equality to a string literal agree.
        if _is_zone_var(left) and type(right) is str:
            return frozenset({right})
        if _is_zone_var(right) and type(left) is str:
            return frozenset({left})
    if (
        operator == "in"
        and _is_zone_var(left)
        and type(right) is list
        and all(type(zone) is str for zone in right)
    ):
        return frozenset(right)  # `in` on an array is `===` membership
    return None


def zones_required_by(conditions: Any) -> frozenset[str] | None:
    """Zones outside which `conditions` cannot hold (for a string zone), or None."""
    direct = _zones_of_condition(conditions)
    if direct is not None:
        return direct
    if type(conditions) is not dict or len(conditions) != 1 or "and" not in conditions:
        return None
    parts = conditions["and"]
    zones: frozenset[str] | None = None
    # Any false part makes the whole `and` falsy, so every zone condition must hold.
    for part in parts if type(parts) is list else [parts]:
        allowed = _zones_of_condition(part)
        if allowed is not None:
            zones = allowed if zones is None else zones & allowed
    return zones


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
        zoned: dict[str, list[_CompiledRule]] = {}
        unzoned: list[_CompiledRule] = []
        for compiled in self._rules:
            zones = zones_required_by(compiled.conditions)
            if zones is None:
                unzoned.append(compiled)
                continue
            for zone in zones:
                zoned.setdefault(zone, []).append(compiled)
        self._unzoned = tuple(unzoned)
        # One ready list per zone, already in priority order, so evaluation merges nothing.
        self._by_zone = {
            zone: tuple(sorted([*rules, *unzoned], key=lambda rule: rule.ordinal))
            for zone, rules in zoned.items()
        }

    def __len__(self) -> int:
        return len(self._rules)

    @property
    def indexed_zones(self) -> frozenset[str]:
        return frozenset(self._by_zone)

    def candidates(self, order: Any) -> tuple[_CompiledRule, ...]:
        """The rules that can match `order`, in priority order."""
        zone = order.get(ZONE_FIELD) if type(order) is dict else None
        if type(zone) is not str:
            return self._rules
        return self._by_zone.get(zone, self._unzoned)

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
        candidates = self.candidates(order) if use_index else self._rules
        matched: list[str] = []
        suggested: Mapping[str, Any] | None = None
        evaluated = len(self._rules)
        ran = 0
        for rule in candidates:
            ran += 1
            try:
                hit = rule.matches(order)
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
