"""The JsonLogic compiler, its explanations, and the zone-indexed rule set.

The compiler must give exactly what `jsonlogic.apply` gives: on the official suite, on
random rules of every operator, and on realistic routing rules whose specialised fast
paths are fed values of every kind. The rule set must give the same answer with and
without its zone index.
"""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bloomer_ai.routing.engine import jsonlogic
from bloomer_ai.routing.engine.compiler import (
    compile_logic,
    compile_predicate,
    compile_rule_list,
    compile_with_explain,
)
from bloomer_ai.routing.engine.jsonlogic import JsonLogicError, apply, truthy
from bloomer_ai.routing.engine.rule_index import (
    CompiledRuleSet,
    RuleSpec,
    requirements_of,
    zones_required_by,
)

SUITE = Path(__file__).resolve().parents[1] / "data" / "jsonlogic-tests.json"
OFFICIAL_CASES = [
    tuple(entry)
    for entry in json.loads(SUITE.read_text(encoding="utf-8"))
    if not isinstance(entry, str)  # section comments
]


def same_json(actual: Any, expected: Any) -> bool:
    """Equal as JSON values: numbers by value, but never a boolean for a number."""
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(same_json(a, e) for a, e in zip(actual, expected, strict=True))
        )
    if isinstance(expected, int | float) and not isinstance(expected, bool):
        return (
            isinstance(actual, int | float)
            and not isinstance(actual, bool)
            and (actual == expected)
        )
    return type(actual) is type(expected) and actual == expected


def comparable(value: Any) -> Any:
    """A value to compare results by: NaN equals NaN, 2 equals 2.0, -0 is not 0."""
    if isinstance(value, float) and math.isnan(value):
        return ("nan",)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return ("number", float(value), math.copysign(1.0, value))
    if isinstance(value, list):
        return [comparable(item) for item in value]
    if isinstance(value, dict):
        return ("object", id(value))  # objects are literals: the very same one
    return (type(value).__name__, value)


def outcome(evaluate: Any) -> tuple[str, Any]:
    """("ok", comparable value) or ("error", None)."""
    try:
        value = evaluate()
    except JsonLogicError:
        return ("error", None)
    return ("ok", comparable(value))


@pytest.mark.parametrize(
    ("logic", "data", "expected"),
    OFFICIAL_CASES,
    ids=[f"{index:03d}" for index in range(len(OFFICIAL_CASES))],
)
def test_compiled_official_case(logic: Any, data: Any, expected: Any) -> None:
    assert same_json(compile_logic(logic)(data), expected)
    assert compile_predicate(logic)(data) is truthy(expected)


# --- random rules ------------------------------------------------------------------------

# Values of every kind, including the awkward ones for loose equality and ordering.
VALUES: list[Any] = [
    "north", "south", "", "1", "0", "10", "09:30", "12:00", "é", "\U0001f600", "vip",
    1, 0, 10, 2.5, -1, 1e21, 2**53 + 1, True, False, None, [], ["north"], ["1"], [1], {},
]  # fmt: skip
LITERALS: list[Any] = [
    "north", "south", "", "1", "0", "10", "09:30", "12:00", "vip", "é",
    1, 0, 10, 2.5, -1, True, False, None, 2**53, 2**53 + 1,
]  # fmt: skip
FIELDS = ["zone", "time", "n", "tags", "customer.segment", "customer.n", "items", "absent"]
ITEM_FIELDS = ["kind", "qty", "", "absent"]
OPERATORS = ["==", "!=", "===", "!==", "<", "<=", ">", ">="]


def random_data(rng: random.Random) -> Any:
    if rng.random() < 0.05:
        return rng.choice([None, [1], "text", 5])
    return {
        "zone": rng.choice(VALUES),
        "time": rng.choice(VALUES),
        "n": rng.choice(VALUES),
        "tags": rng.choice([["vip", "x"], [], "xvipx", None, ["1"], 1]),
        "customer": rng.choice(
            [{"segment": rng.choice(VALUES), "n": rng.choice(VALUES)}, None, "vip", [1]]
        ),
        "items": rng.choice(
            [
                [
                    {"kind": rng.choice(VALUES), "qty": rng.choice([1, 2, "3", None, 2.5, 2**60])}
                    for _ in range(rng.randint(0, 3))
                ],
                None,
                "items",
                [1, None, "a"],
            ]
        ),
    }


def random_condition(rng: random.Random, depth: int, in_item: bool = False) -> Any:
    """Routing-like conditions: a field against a literal, membership, windows, loops."""
    path = rng.choice(ITEM_FIELDS if in_item else FIELDS)
    field: Any = {"var": path} if rng.random() > 0.1 else {"var": [path, rng.choice(LITERALS)]}
    literal = rng.choice(LITERALS)
    roll = rng.random()
    if roll < 0.05:  # parts that can fail or have no fast path
        return rng.choice(
            [
                {"*": []},
                {"missing_some": [1, {"var": "absent"}]},
                {"nope": [1]},
                {"missing": ["zone"]},
            ]
        )
    if depth > 0 and roll < 0.25:
        operator = rng.choice(["and", "or", "!", "!!", "if"])
        parts = [random_condition(rng, depth - 1, in_item) for _ in range(rng.randint(0, 4))]
        if operator in ("!", "!!"):
            return {operator: parts[0] if parts else field}
        return {operator: parts}
    if depth > 0 and not in_item and roll < 0.4:
        source = {"var": rng.choice(["items", "tags", "zone"])}
        if rng.random() < 0.2:
            return {
                rng.choice([">", "<="]): [
                    {
                        "reduce": [
                            source,
                            {"+": [{"var": "accumulator"}, {"var": "current.qty"}]},
                            rng.choice([0, None, "1", 2**53]),
                        ]
                    },
                    rng.choice([2, 4]),
                ]
            }
        return {rng.choice(["some", "all", "none"]): [source, random_condition(rng, 1, True)]}
    if roll < 0.5:
        members = rng.choice([["north", "south"], ["1", "vip"], [1, 10, None], [True], []])
        return {"in": [field, members]}
    if roll < 0.55:
        return {"in": [rng.choice(["vip", "1", ""]), field]}
    if roll < 0.62:
        low, high = rng.choice([(1, 10), ("09:00", "12:00"), ("1", 5), (0, "é")])
        return {rng.choice(["<", "<="]): [low, field, high]}
    operands = [field, literal] if rng.random() < 0.6 else [literal, field]
    return {rng.choice(OPERATORS): operands}


def random_rule(rng: random.Random) -> Any:
    parts = [random_condition(rng, 2) for _ in range(rng.randint(1, 5))]
    return {"and": parts} if rng.random() < 0.8 else parts[0]


def test_compiled_routing_rules_match_the_interpreter() -> None:
    rng = random.Random(401)
    for _ in range(3000):
        logic = random_rule(rng)
        compiled, predicate = compile_logic(logic), compile_predicate(logic)
        for _ in range(4):
            data = random_data(rng)
            expected = outcome(lambda: apply(logic, data))  # noqa: B023
            assert outcome(lambda: compiled(data)) == expected, (logic, data)  # noqa: B023
            truth = outcome(lambda: predicate(data))  # noqa: B023
            if expected[0] == "ok":
                assert truth == ("ok", comparable(truthy(apply(logic, data)))), (logic, data)
            else:
                assert truth == expected, (logic, data)


def random_logic(rng: random.Random, depth: int) -> Any:
    """Any operator with any arguments, for the generic paths and constant folding."""
    if depth <= 0 or rng.random() < 0.3:
        if rng.random() < 0.3:
            return {"var": rng.choice(["a", "b.c", "", 0, "xs.1", "current", "accumulator"])}
        return json.loads(json.dumps(rng.choice([*VALUES, [1, [2]], {"a": 1, "b": 2}])))
    operator = rng.choice(sorted(jsonlogic.STANDARD_OPERATORS - {"log"}))
    arity = rng.choice([0, 1, 2, 2, 3, 4])
    args = [random_logic(rng, depth - 1) for _ in range(arity)]
    return {operator: args[0]} if arity == 1 and rng.random() < 0.3 else {operator: args}


def test_compiled_random_logic_matches_the_interpreter() -> None:
    rng = random.Random(402)
    for _ in range(4000):
        logic = random_logic(rng, rng.randint(1, 4))
        data = {
            "a": rng.choice(VALUES),
            "b": {"c": rng.choice(VALUES)},
            "xs": [rng.choice(VALUES) for _ in range(rng.randint(0, 3))],
        }
        expected = outcome(lambda: apply(logic, data))  # noqa: B023
        assert outcome(lambda: compile_logic(logic)(data)) == expected, (logic, data)  # noqa: B023


def test_rule_list_matches_rule_by_rule_evaluation() -> None:
    rng = random.Random(403)
    for _ in range(200):
        rules = [random_rule(rng) for _ in range(rng.randint(1, 30))]
        matching_rules = compile_rule_list(rules)
        for _ in range(15):
            data = random_data(rng)
            expected = []
            for index, logic in enumerate(rules):
                try:
                    if truthy(apply(logic, data)):
                        expected.append(index)
                except JsonLogicError:
                    pass  # a failing rule does not match
            assert matching_rules(data) == expected, (rules, data)


# --- compiler specifics --------------------------------------------------------------------


def test_array_literals_are_fresh_on_every_evaluation() -> None:
    evaluate = compile_logic({"merge": [[1, 2]]})
    first = evaluate(None)
    first.append(3)
    assert evaluate(None) == [1, 2]
    literal = compile_logic([1, [2]])
    assert literal(None) is not literal(None)


def test_unknown_operator_fails_only_when_reached() -> None:
    evaluate = compile_logic({"if": [{"var": "x"}, {"nope": []}, "fine"]})
    assert evaluate({"x": False}) == "fine"
    with pytest.raises(JsonLogicError, match="Unrecognized operation 'nope'"):
        evaluate({"x": True})


def test_deeply_nested_rule_is_an_error() -> None:
    logic: Any = True
    for _ in range(5000):
        logic = {"!": [logic]}
    with pytest.raises(JsonLogicError, match="nested too deeply"):
        compile_logic(logic)


def test_and_keeps_the_authors_order_when_a_part_can_fail() -> None:
    # With a part that may throw, reordering could turn an error into a result.
    logic = {"and": [{"some": [{"var": "items"}, True]}, {"*": []}]}
    assert compile_logic(logic)({"items": []}) is False
    with pytest.raises(JsonLogicError):
        compile_logic(logic)({"items": [1]})


def test_big_integers_compare_as_doubles() -> None:
    data = {"n": 2**53 + 1}
    for logic in (
        {"==": [{"var": "n"}, 2**53]},
        {"<": [{"var": "n"}, 2**53]},
        {"in": [{"var": "n"}, [2**53]]},
        {"==": [{"reduce": [[2**53, 1], {"+": [{"var": "accumulator"}, {"var": "current"}]}, 0]},
                2**53]},
    ):  # fmt: skip
        assert compile_logic(logic)(data) == apply(logic, data), logic


def test_nan_and_negative_zero_survive_compilation() -> None:
    assert math.isnan(compile_logic({"/": [0, {"var": "z"}]})({"z": 0}))
    negative = compile_logic({"-": [{"var": "z"}]})({"z": 0})
    assert negative == 0
    assert math.copysign(1.0, negative) == -1.0


# --- explain -----------------------------------------------------------------------------


ZONE_RULE = {
    "and": [
        {"==": [{"var": "deliveryZone"}, "north"]},
        {">=": [{"var": "total"}, 5000]},
        {"some": [{"var": "items"}, {"==": [{"var": "productType"}, "wreath"]}]},
    ]
}


def test_explain_and_names_the_first_failing_condition() -> None:
    explain = compile_with_explain(ZONE_RULE)
    result = explain({"deliveryZone": "north", "total": 1200, "items": []})
    assert result.matched is False
    assert result.decided_by == "conditions.and[1]"
    assert [(c.path, c.held) for c in result.checked] == [
        ("conditions.and[0]", True),
        ("conditions.and[1]", False),
    ]


def test_explain_and_that_holds_names_the_last_condition() -> None:
    order = {"deliveryZone": "north", "total": 9000, "items": [{"productType": "wreath"}]}
    result = compile_with_explain(ZONE_RULE)(order)
    assert result.matched is True
    assert result.value is True
    assert result.decided_by == "conditions.and[2]"
    assert len(result.checked) == 3


def test_explain_or_names_the_first_true_condition() -> None:
    logic = {"or": [{"==": [{"var": "source"}, "voice"]}, {"in": ["vip", {"var": "tags"}]}]}
    result = compile_with_explain(logic, root="rule")({"source": "web", "tags": ["vip"]})
    assert (result.matched, result.decided_by) == (True, "rule.or[1]")


def test_explain_if_names_the_condition_that_chose_the_branch() -> None:
    logic = {"if": [{"var": "a"}, False, {"var": "b"}, True, False]}
    explain = compile_with_explain(logic)
    assert explain({"a": 0, "b": 1}).decided_by == "conditions.if[2]"
    assert explain({"a": 1}).decided_by == "conditions.if[0]"
    assert explain({}).decided_by == "conditions.if[4]"  # the else branch
    assert compile_with_explain({"if": [False, 1]})(None).decided_by is None


def test_explain_other_operators_are_decided_as_a_whole() -> None:
    result = compile_with_explain({"in": [{"var": "z"}, ["north"]]})({"z": "north"})
    assert (result.matched, result.decided_by, result.checked) == (True, "conditions", ())
    assert compile_with_explain(True)(None).matched is True


def test_explanations_agree_with_the_interpreter() -> None:
    rng = random.Random(404)
    for _ in range(1500):
        logic = {rng.choice(["and", "or", "if"]): [random_condition(rng, 1) for _ in range(4)]}
        explain = compile_with_explain(logic)
        data = random_data(rng)
        expected = outcome(lambda: apply(logic, data))  # noqa: B023
        got = outcome(lambda: explain(data).value)  # noqa: B023
        assert got == expected, (logic, data)
        if expected[0] == "ok":
            assert explain(data).matched is truthy(apply(logic, data))


# --- rule set ------------------------------------------------------------------------------

START = datetime(2026, 12, 1, tzinfo=UTC)


def rule(
    rule_id: str,
    conditions: Any,
    *,
    priority: int = 10,
    minutes: int = 0,
    stop: bool = False,
    enabled: bool = True,
) -> RuleSpec:
    return RuleSpec(
        id=rule_id,
        priority=priority,
        created_at=START + timedelta(minutes=minutes),
        conditions=conditions,
        action={"type": "assign", "target": {"kind": "team", "id": f"team-{rule_id}"}},
        stop_on_match=stop,
        enabled=enabled,
    )


def zone_is(zone: str) -> dict[str, Any]:
    return {"==": [{"var": "deliveryZone"}, zone]}


def test_rules_are_ordered_by_priority_then_creation_then_id() -> None:
    rules = CompiledRuleSet(
        [
            rule("c", True, priority=5, minutes=2),
            rule("b", True, priority=5, minutes=1),
            rule("a", True, priority=5, minutes=1),
            rule("z", True, priority=1, minutes=9),
            rule("late", True, priority=50),
        ]
    )
    result = rules.evaluate({"deliveryZone": "north"})
    assert result.matched_rule_ids == ("z", "a", "b", "c", "late")
    assert result.suggested_route == {"type": "assign", "target": {"kind": "team", "id": "team-z"}}
    assert result.evaluated_rules == 5


def test_stop_on_match_ends_evaluation_at_that_rule() -> None:
    rules = CompiledRuleSet(
        [
            rule("miss", zone_is("south"), priority=1),
            rule("first", zone_is("north"), priority=2),
            rule(
                "stopper",
                {"in": [{"var": "deliveryZone"}, ["north", "east"]]},
                priority=3,
                stop=True,
            ),
            rule("never", True, priority=4),
        ]
    )
    result = rules.evaluate({"deliveryZone": "north"})
    assert result.matched_rule_ids == ("first", "stopper")
    assert result.suggested_route is not None
    assert result.suggested_route["target"]["id"] == "team-first"
    assert result.evaluated_rules == 3  # "never" was not reached
    assert result.conditions_evaluated == 2  # "miss" was ruled out by the zone index
    south = rules.evaluate({"deliveryZone": "south"})
    assert south.matched_rule_ids == ("miss", "never")
    assert south.evaluated_rules == 4


def test_no_match_suggests_nothing() -> None:
    result = CompiledRuleSet([rule("r", zone_is("north"))]).evaluate({"deliveryZone": "west"})
    assert (result.suggested_route, result.matched_rule_ids, result.evaluated_rules) == (
        None,
        (),
        1,
    )


def test_disabled_rules_are_skipped_and_explained() -> None:
    rules = CompiledRuleSet([rule("off", True, enabled=False, priority=1), rule("on", True)])
    assert rules.evaluate({}).matched_rule_ids == ("on",)
    explained = rules.evaluate({}, explain=True)
    assert explained.explain is not None
    assert [(e.rule_id, e.outcome) for e in explained.explain] == [
        ("off", "disabled"),
        ("on", "matched"),
    ]


def test_a_rule_that_fails_does_not_match() -> None:
    rules = CompiledRuleSet([rule("broken", {"*": []}, priority=1), rule("ok", True)])
    assert rules.evaluate({}).matched_rule_ids == ("ok",)
    explained = rules.evaluate({}, explain=True).explain
    assert explained is not None
    assert explained[0].outcome == "error"
    assert explained[0].error is not None


def test_explain_says_why_each_rule_matched_or_not() -> None:
    rules = CompiledRuleSet(
        [
            rule("zone", ZONE_RULE, priority=1),
            rule("stop", zone_is("north"), priority=2, stop=True),
            rule("after", True, priority=3),
        ]
    )
    result = rules.evaluate({"deliveryZone": "north", "total": 100}, explain=True)
    assert result.explain is not None
    by_id = {entry.rule_id: entry for entry in result.explain}
    assert by_id["zone"].outcome == "not_matched"
    assert by_id["zone"].decided_by == "conditions.and[1]"
    assert by_id["stop"].outcome == "matched"
    assert by_id["after"].outcome == "not_reached"
    assert result.matched_rule_ids == ("stop",)
    plain = rules.evaluate({"deliveryZone": "north", "total": 100})
    assert (plain.matched_rule_ids, plain.evaluated_rules) == (("stop",), 2)


@pytest.mark.parametrize(
    ("conditions", "zones"),
    [
        (zone_is("north"), {"north"}),
        ({"and": [zone_is("north"), {">": [{"var": "total"}, 1]}]}, {"north"}),
        ({"and": [{"===": ["east", {"var": ["deliveryZone"]}]}]}, {"east"}),
        ({"and": [{"in": [{"var": "deliveryZone"}, ["a", "b"]]}, zone_is("b")]}, {"b"}),
        ({"and": [{"in": [{"var": "deliveryZone"}, []]}]}, set()),
        ({"and": [{"==": [{"var": ["deliveryZone", "north"]}, "north"]}]}, {"north"}),
        ({"and": {"==": [{"var": "deliveryZone"}, "solo"]}}, {"solo"}),
        # Not indexable: a number literal, a substring test, an `or`, another field.
        ({"and": [{"==": [{"var": "deliveryZone"}, 1]}]}, None),
        ({"and": [{"in": [{"var": "deliveryZone"}, "north-east"]}]}, None),
        ({"in": [{"var": "deliveryZone"}, ["a", 1]]}, None),
        ({"or": [zone_is("north"), zone_is("south")]}, None),
        ({"and": [{"==": [{"var": "source"}, "web"]}]}, None),  # indexed, but not the zone
        ({"!": zone_is("north")}, None),
        (True, None),
    ],
)
def test_zones_required_by(conditions: Any, zones: set[str] | None) -> None:
    assert zones_required_by(conditions) == (None if zones is None else frozenset(zones))


def test_a_zone_that_is_not_a_string_runs_every_rule() -> None:
    # JsonLogic's == is loose: the array ["north"] equals the string "north".
    rules = CompiledRuleSet([rule("north", zone_is("north")), rule("one", zone_is("1"))])
    assert rules.evaluate({"deliveryZone": ["north"]}).matched_rule_ids == ("north",)
    assert rules.evaluate({"deliveryZone": 1}).matched_rule_ids == ("one",)
    assert rules.evaluate({"deliveryZone": 1}).conditions_evaluated == 2
    assert rules.evaluate({"deliveryZone": "north"}).conditions_evaluated == 1


ZONES = ["north", "south", "east", "west", "centre"]


def random_routing_rule(rng: random.Random, index: int) -> RuleSpec:
    parts = [random_condition(rng, 1) for _ in range(rng.randint(1, 3))]
    roll = rng.random()
    if roll < 0.5:
        parts.insert(rng.randint(0, len(parts)), zone_is(rng.choice(ZONES)))
    elif roll < 0.7:
        zones = rng.sample(ZONES, rng.randint(0, 3))
        parts.insert(rng.randint(0, len(parts)), {"in": [{"var": "deliveryZone"}, zones]})
    elif roll < 0.8:
        parts.append({"==": [rng.choice(ZONES), {"var": "deliveryZone"}]})
    # Other indexed fields, sometimes read with a default (which stands in for null).
    for field, values in (
        ("source", SOURCES),
        ("customer.segment", SEGMENTS),
        ("currency", CURRENCIES),
    ):
        if rng.random() < 0.3:
            var: Any = (
                {"var": [field, rng.choice(values)]} if rng.random() < 0.3 else {"var": field}
            )
            if rng.random() < 0.5:
                parts.insert(rng.randint(0, len(parts)), {"==": [var, rng.choice(values)]})
            else:
                parts.append({"in": [var, rng.sample(values, rng.randint(0, 2))]})
    if rng.random() < 0.2:
        literal = rng.choice([True, False, "true", 1])  # only booleans pin a boolean
        parts.append({rng.choice(["==", "==="]): [{"var": "customer.isNew"}, literal]})
    if rng.random() < 0.3:
        inner: Any = (
            {"==": [{"var": "productType"}, rng.choice(PRODUCT_TYPES)]}
            if rng.random() < 0.6
            else {"in": [{"var": "productType"}, rng.sample(PRODUCT_TYPES, 2)]}
        )
        parts.insert(rng.randint(0, len(parts)), {"some": [{"var": "items"}, inner]})
    return RuleSpec(
        id=f"r{index:03d}",
        priority=rng.randint(1, 5),
        created_at=START + timedelta(minutes=rng.randint(0, 3)),
        conditions={"and": parts} if rng.random() < 0.9 else parts[0],
        action={"type": "flag", "reason": f"rule {index}"},
        stop_on_match=rng.random() < 0.1,
        enabled=rng.random() < 0.9,
    )


SOURCES = ["web", "voice", "pos"]
PRODUCT_TYPES = ["bouquet", "plant", "wreath"]
SEGMENTS = ["new", "regular", "vip"]
CURRENCIES = ["EUR", "USD"]


def random_order(rng: random.Random) -> dict[str, Any]:
    order = random_data(rng)
    if not isinstance(order, dict):
        order = {}
    order["deliveryZone"] = rng.choice([*ZONES, *ZONES, "elsewhere", ["north"], 1, None, ""])
    if rng.random() < 0.05:
        del order["deliveryZone"]
    order["source"] = rng.choice([*SOURCES, ["web"], 0, None])
    order["currency"] = rng.choice([*CURRENCIES, True, None])
    order["customer"] = rng.choice(
        [
            None,
            {
                "segment": rng.choice([*SEGMENTS, None, ["vip"], 1]),
                "isNew": rng.choice([True, False, None, 1, "true"]),
            },
            {"orderCount": 3},
            ["vip"],
            "vip",
        ]
    )
    order["items"] = rng.choice(
        [
            None,
            [],
            [{"productType": rng.choice(PRODUCT_TYPES)} for _ in range(rng.randint(1, 3))],
            [{"productType": "bouquet"}, {"sku": "no type"}],
            [{"productType": ["plant"]}],
            "bouquet",
        ]
    )
    for field in ("source", "currency", "customer", "items"):
        if rng.random() < 0.05:
            del order[field]
    return order


def test_indexed_evaluation_equals_evaluating_every_rule() -> None:
    rng = random.Random(405)
    for _ in range(40):
        specs = [random_routing_rule(rng, index) for index in range(rng.randint(1, 60))]
        rules = CompiledRuleSet(specs)
        for _ in range(100):
            order = random_order(rng)
            indexed = rules.evaluate(order)
            everything = rules.evaluate(order, use_index=False)
            explained = rules.evaluate(order, explain=True)
            for other in (everything, explained):
                assert (
                    indexed.matched_rule_ids,
                    indexed.suggested_route,
                    indexed.evaluated_rules,
                ) == (other.matched_rule_ids, other.suggested_route, other.evaluated_rules)
            assert indexed.conditions_evaluated <= everything.conditions_evaluated
            # And both equal the plain interpreter, rule by rule in priority order.
            expected = []
            for spec in sorted(specs, key=lambda s: (s.priority, s.created_at, s.id)):
                if not spec.enabled:
                    continue
                try:
                    hit = truthy(apply(spec.conditions, order))
                except JsonLogicError:
                    hit = False
                if hit:
                    expected.append(spec.id)
                    if spec.stop_on_match:
                        break
            assert list(indexed.matched_rule_ids) == expected


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ({"==": [{"var": "source"}, "web"]}, {"source": ({"web"}, True)}),
        (
            {"and": [{"in": [{"var": "customer.segment"}, ["vip", "new"]]}, zone_is("north")]},
            {"customer.segment": ({"vip", "new"}, True), "deliveryZone": ({"north"}, True)},
        ),
        # A default stands in for null: an absent value no longer rules the rule out.
        ({"==": [{"var": ["currency", "EUR"]}, "EUR"]}, {"currency": ({"EUR"}, False)}),
        (
            {
                "and": [
                    {"==": [{"var": "source"}, "web"]},
                    {"in": [{"var": "source"}, ["web", "pos"]]},
                ]
            },
            {"source": ({"web"}, True)},
        ),
        ({"==": [{"var": "customer.orderCount"}, "3"]}, {}),  # not an indexed field
        ({"===": [{"var": "customer.isNew"}, True]}, {"customer.isNew": ({True}, True)}),
        ({"==": [{"var": "customer.isNew"}, "true"]}, {}),  # loose: "1" == true holds
        (
            {"some": [{"var": "items"}, {"in": [{"var": "productType"}, ["rose", "tulip"]]}]},
            {"items[].productType": ({"rose", "tulip"}, True)},
        ),
        ({"some": [{"var": "items"}, {">": [{"var": "quantity"}, 3]}]}, {}),
        ({"or": [{"==": [{"var": "source"}, "web"]}]}, {}),
    ],
)
def test_requirements_of(conditions: Any, expected: dict[str, tuple[set[str], bool]]) -> None:
    found = requirements_of(conditions)
    assert {
        field: (set(requirement.values), requirement.excludes_absent)
        for field, requirement in found.items()
    } == expected


def test_an_absent_value_rules_out_the_rules_that_pin_it() -> None:
    rules = CompiledRuleSet(
        [
            rule("vip", {"==": [{"var": "customer.segment"}, "vip"]}),
            rule("vip-by-default", {"==": [{"var": ["customer.segment", "vip"]}, "vip"]}),
        ]
    )
    result = rules.evaluate({"customer": None})
    assert result.matched_rule_ids == ("vip-by-default",)
    assert result.conditions_evaluated == 1
    assert rules.evaluate({"customer": {"segment": "vip"}}).matched_rule_ids == (
        "vip",
        "vip-by-default",
    )


def _some_type(condition: dict[str, Any]) -> dict[str, Any]:
    return {"some": [{"var": "items"}, condition]}


def test_every_pinning_condition_still_holds_when_two_pin_the_product_types() -> None:
    # The index admits on the narrower `some`; the other must still be tested.
    rules = CompiledRuleSet(
        [
            rule(
                "both",
                {
                    "and": [
                        _some_type({"==": [{"var": "productType"}, "rose"]}),
                        _some_type({"in": [{"var": "productType"}, ["tulip", "lily", "iris"]]}),
                    ]
                },
            )
        ]
    )
    only_roses = {"items": [{"productType": "rose"}]}
    assert rules.evaluate(only_roses).matched_rule_ids == ()
    mixed = {"items": [{"productType": "rose"}, {"productType": "iris"}]}
    assert rules.evaluate(mixed).matched_rule_ids == ("both",)


def test_a_pinned_field_read_with_a_default_is_still_tested_when_absent() -> None:
    rules = CompiledRuleSet(
        [
            rule(
                "web",
                {
                    "and": [
                        {"==": [{"var": ["source", "pos"]}, "web"]},
                        {">": [{"var": "total"}, 1]},
                    ]
                },
            )
        ]
    )
    assert rules.evaluate({"total": 5}).matched_rule_ids == ()  # the default, "pos", is not "web"
    assert rules.evaluate({"total": 5, "source": "web"}).matched_rule_ids == ("web",)
