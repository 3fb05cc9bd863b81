"""Rule validation: every kind of fault, with the JSON path that points at it."""

from __future__ import annotations

from typing import Any

import pytest

from bloomer_ai.routing.engine.validation import (
    ITEM_FIELDS,
    KNOWN_OPERATORS,
    ORDER_CONTEXT_FIELDS,
    Fault,
    validate_action,
    validate_rule,
    validate_rule_conditions,
)


def paths(faults: list[Fault]) -> list[str]:
    return [fault.path for fault in faults]


VALID_CONDITIONS: list[Any] = [
    True,
    False,
    {"==": [{"var": "deliveryZone"}, "north"]},
    {
        "and": [
            {"in": [{"var": "deliveryZone"}, ["north", "east"]]},
            {"some": [{"var": "items"}, {"==": [{"var": "productType"}, "wreath"]}]},
            {">=": [{"var": "total"}, 5000]},
            {"<=": ["09:00", {"var": "deliveryTime"}, "12:00"]},
            {"==": [{"var": "customer.segment"}, "vip"]},
            {"!": {"var": "customer.isNew"}},
            {"in": ["same-day", {"var": "tags"}]},
            {"in": [{"var": "weekday"}, [6, 7]]},
            {">=": [{"var": ["hour", 0]}, 17]},
            {">": [{"var": "customer.orderCount"}, 3]},
            {"===": [{"var": "currency"}, "EUR"]},
            {"!=": [{"var": "source"}, "pos"]},
            {">=": [{"var": "deliveryDate"}, "2026-12-20"]},
        ]
    },
    {
        ">": [
            {
                "reduce": [
                    {"var": "items"},
                    {"+": [{"var": "accumulator"}, {"var": "current.quantity"}]},
                    0,
                ]
            },
            10,
        ]
    },
    {"all": [{"filter": [{"var": "items"}, {">": [{"var": "unitPrice"}, 0]}]}, {"var": "sku"}]},
    {"some": [{"var": "tags"}, {"in": [{"var": ""}, ["gift", "wedding"]]}]},
    {"none": [{"map": [{"var": "items"}, {"var": "quantity"}]}, {">": [{"var": ""}, 20]}]},
    {"reduce": [{"var": "tags"}, {"cat": [{"var": "accumulator"}, {"var": "current"}]}, ""]},
    {"if": [{"missing": ["deliveryZone", "deliveryDate"]}, False, True]},
    {"missing_some": [1, ["deliveryTime", "customer.segment"]]},
    {"==": [{"var": "items.0.productType"}, "bouquet"]},
    {">": [{"var": "items.length"}, 2]},
    {"?:": [{"var": "customer.isNew"}, True, {"==": [{"var": "tags.0"}, "vip"]}]},
]


@pytest.mark.parametrize("conditions", VALID_CONDITIONS)
def test_valid_conditions_have_no_faults(conditions: Any) -> None:
    assert validate_rule_conditions(conditions) == []


@pytest.mark.parametrize(
    ("conditions", "path", "message"),
    [
        # The top level must be an operation (or true/false).
        ("north", "conditions", "JsonLogic operation"),
        ([{"var": "total"}], "conditions", "JsonLogic operation"),
        (1, "conditions", "JsonLogic operation"),
        # Objects with other than one key are not operations.
        ({"and": [{}]}, "conditions.and[0]", "exactly one key"),
        ({"and": [True, {"==": [1, 1], "!=": [1, 2]}]}, "conditions.and[1]", "exactly one key"),
        # Operators.
        ({"and": [True, {"eval": "x"}]}, "conditions.and[1].eval", "unknown operator 'eval'"),
        ({"or": [{"log": "x"}]}, "conditions.or[0].log", "'log' is not allowed"),
        ({"var.length": ["items"]}, "conditions.var.length", "unknown operator"),
        # Arity.
        ({"==": [{"var": "total"}]}, "conditions.==", "takes 2 arguments, got 1"),
        ({"<": [1, {"var": "total"}, 3, 4]}, "conditions.<", "takes 2 to 3 arguments"),
        ({"!": [True, False]}, "conditions.!", "takes 1 argument, got 2"),
        ({"some": [{"var": "items"}]}, "conditions.some", "takes 2 arguments"),
        ({"and": []}, "conditions.and", "at least 1"),
        ({"var": ["total", 0, 1]}, "conditions.var", "takes 1 to 2 arguments"),
        # var paths.
        (
            {"and": [True, True, {"==": [{"var": "totl"}, 1]}]},
            "conditions.and[2].==[0].var",
            "unknown field 'totl'",
        ),
        ({"==": [{"var": ["secret", 1]}, 1]}, "conditions.==[0].var[0]", "unknown field"),
        ({"==": [{"var": {"cat": ["to", "tal"]}}, 1]}, "conditions.==[0].var", "literal string"),
        ({"==": [{"var": 1}, 1]}, "conditions.==[0].var", "literal string"),
        ({"!!": {"var": ""}}, "conditions.!!.var", "unknown field ''"),
        ({"!!": {"var": "customer"}}, "conditions.!!.var", "unknown field 'customer'"),
        ({"==": [{"var": "productType"}, "x"]}, "conditions.==[0].var", "unknown field"),
        ({"==": [{"var": "items.0.colour"}, "x"]}, "conditions.==[0].var", "unknown field"),
        ({"==": [{"var": "tags.0.name"}, "x"]}, "conditions.==[0].var", "unknown field"),
        ({">": [{"var": ["total", {"var": "nope"}]}, 1]}, "conditions.>[0].var[1].var", "unknown"),
        # Inside loops `var` reads the element.
        (
            {"some": [{"var": "items"}, {"==": [{"var": "deliveryZone"}, "x"]}]},
            "conditions.some[1].==[0].var",
            "item fields",
        ),
        (
            {"some": [{"var": "tags"}, {"==": [{"var": "productType"}, "x"]}]},
            "conditions.some[1].==[0].var",
            "current element",
        ),
        (
            {"reduce": [{"var": "items"}, {"+": [{"var": "accumulator"}, {"var": "quantity"}]}]},
            "conditions.reduce[1].+[1].var",
            "current.quantity",
        ),
        (
            {"reduce": [{"var": "tags"}, {"cat": [{"var": "current.sku"}]}, ""]},
            "conditions.reduce[1].cat[0].var",
            "unknown field",
        ),
        (
            {"reduce": [{"var": "items"}, {"var": "current"}, {"var": "accumulator"}]},
            "conditions.reduce[2].var",
            "order context",
        ),
        # missing / missing_some name fields too.
        ({"missing": ["deliveryZone", "bogus"]}, "conditions.missing[1]", "unknown field"),
        ({"missing": [["total", 3]]}, "conditions.missing[0][1]", "literal string"),
        ({"missing": "bogus"}, "conditions.missing", "unknown field"),
        ({"missing_some": ["1", ["total"]]}, "conditions.missing_some[0]", "whole number"),
        ({"missing_some": [1, "total"]}, "conditions.missing_some[1]", "array of field names"),
        ({"missing_some": [1, ["total", "x"]]}, "conditions.missing_some[1][1]", "unknown"),
        # Literal arrays are walked as well.
        (
            {"in": [{"var": "deliveryZone"}, ["a", {"nope": 1}]]},
            "conditions.in[1][1].nope",
            "unknown",
        ),
    ],
)
def test_condition_fault(conditions: Any, path: str, message: str) -> None:
    faults = validate_rule_conditions(conditions)
    assert path in paths(faults), faults
    assert any(message in fault.message for fault in faults if fault.path == path), faults


def test_every_fault_is_reported() -> None:
    faults = validate_rule_conditions(
        {"and": [{"==": [{"var": "a"}, 1]}, {"nope": []}, {"==": [{"var": "b"}, 1]}]}
    )
    assert paths(faults) == ["conditions.and[0].==[0].var", "conditions.and[1].nope",
                             "conditions.and[2].==[0].var"]  # fmt: skip


def test_a_value_that_is_not_json_is_a_fault() -> None:
    faults = validate_rule_conditions({"==": [{"var": "total"}, object()]})
    assert faults == [Fault("conditions.==[1]", "must be a JSON value")]


def nested(depth: int) -> Any:
    logic: Any = {"var": "total"}
    for _ in range(depth - 1):
        logic = {"!": [logic]}
    return logic


def test_depth_is_bounded() -> None:
    assert validate_rule_conditions(nested(12)) == []
    faults = validate_rule_conditions(nested(13))
    assert len(faults) == 1
    assert faults[0].path == "conditions" + ".![0]" * 12
    assert "deeper than 12" in faults[0].message
    assert validate_rule_conditions(nested(5), max_depth=4) != []
    # A hostile rule is rejected quickly, without recursing all the way down.
    assert "deeper than 12" in validate_rule_conditions(nested(5000))[0].message


def test_size_is_bounded() -> None:
    small = {"in": [{"var": "deliveryZone"}, [f"zone-{i}" for i in range(150)]]}
    assert validate_rule_conditions(small) == []
    large = {"in": [{"var": "deliveryZone"}, [f"zone-{i}" for i in range(250)]]}
    assert validate_rule_conditions(large) == [Fault("conditions", "rule has more than 200 nodes")]
    assert validate_rule_conditions(small, max_nodes=100) != []
    fields = {"missing": [f"zone-{i}" for i in range(300)]}
    assert Fault("conditions", "rule has more than 200 nodes") in validate_rule_conditions(fields)


def test_the_documented_order_context() -> None:
    for field in (
        "deliveryZone", "deliveryDate", "deliveryTime", "total", "currency", "source",
        "items", "customer.segment", "customer.orderCount", "customer.isNew", "tags",
        "weekday", "hour",
    ):  # fmt: skip
        assert ORDER_CONTEXT_FIELDS[field]
        assert validate_rule_conditions({"!!": {"var": field}}) == []
    assert set(ITEM_FIELDS) == {"productType", "sku", "quantity", "unitPrice", "name"}
    assert "log" not in KNOWN_OPERATORS
    assert {"==", "in", "some", "reduce", "missing_some", "?:"} <= KNOWN_OPERATORS


# --- actions -----------------------------------------------------------------------------

VALID_ACTIONS: list[Any] = [
    {"type": "assign", "target": {"kind": "team", "id": "team-north"}},
    {"type": "assign", "target": {"kind": "courier", "id": "c1"}, "note": "fragile"},
    {"type": "assign", "target": {"kind": "location", "id": "shop-2"}, "note": ""},
    {"type": "prioritize", "level": "urgent"},
    {"type": "flag", "reason": "large order"},
    {"type": "hold", "reason": "await payment"},
    {"type": "hold", "reason": "closed", "until": "2026-12-27T08:00:00+01:00"},
    {"type": "hold", "reason": "closed", "until": "2026-12-27T07:00:00Z"},
]


@pytest.mark.parametrize("action", VALID_ACTIONS)
def test_valid_actions_have_no_faults(action: Any) -> None:
    assert validate_action(action) == []


@pytest.mark.parametrize(
    ("action", "path", "message"),
    [
        ("assign", "action", "must be an object"),
        ({}, "action.type", "one of assign, prioritize, flag, hold"),
        ({"type": "route"}, "action.type", "one of assign"),
        ({"type": ["assign"]}, "action.type", "one of assign"),
        ({"type": "assign"}, "action.target", "object with kind and id"),
        ({"type": "assign", "target": "team-1"}, "action.target", "object with kind and id"),
        (
            {"type": "assign", "target": {"id": "x"}},
            "action.target.kind",
            "team, location, courier",
        ),
        ({"type": "assign", "target": {"kind": "van", "id": "x"}}, "action.target.kind", "team"),
        ({"type": "assign", "target": {"kind": "team"}}, "action.target.id", "must be a string"),
        ({"type": "assign", "target": {"kind": "team", "id": " "}}, "action.target.id", "empty"),
        ({"type": "assign", "target": {"kind": "team", "id": 7}}, "action.target.id", "string"),
        (
            {"type": "assign", "target": {"kind": "team", "id": "x" * 201}},
            "action.target.id",
            "at most 200",
        ),
        (
            {"type": "assign", "target": {"kind": "team", "id": "x", "shop": "s"}},
            "action.target.shop",
            "unknown field for a target",
        ),
        (
            {"type": "assign", "target": {"kind": "team", "id": "x"}, "note": 3},
            "action.note",
            "must be a string",
        ),
        (
            {"type": "assign", "target": {"kind": "team", "id": "x"}, "level": "high"},
            "action.level",
            "unknown field for a 'assign' action",
        ),
        ({"type": "prioritize"}, "action.level", "one of low, normal, high, urgent"),
        ({"type": "prioritize", "level": "asap"}, "action.level", "one of low"),
        ({"type": "flag"}, "action.reason", "must be a string"),
        ({"type": "flag", "reason": ""}, "action.reason", "must not be empty"),
        ({"type": "flag", "reason": "x" * 501}, "action.reason", "at most 500"),
        (
            {"type": "flag", "reason": "x", "until": "2026-12-27T08:00:00Z"},
            "action.until",
            "unknown",
        ),
        ({"type": "hold", "reason": "x", "until": "tomorrow"}, "action.until", "ISO 8601"),
        ({"type": "hold", "reason": "x", "until": "2026-12-27"}, "action.until", "ISO 8601"),
        ({"type": "hold", "reason": "x", "until": "2026-12-27T08:00:00"}, "action.until", "offset"),
        ({"type": "hold", "reason": "x", "until": 1767000000}, "action.until", "ISO 8601"),
    ],
)
def test_action_fault(action: Any, path: str, message: str) -> None:
    faults = validate_action(action)
    assert path in paths(faults), faults
    assert any(message in fault.message for fault in faults if fault.path == path), faults


def test_validate_rule_reports_conditions_then_action() -> None:
    faults = validate_rule({"==": [{"var": "nope"}, 1]}, {"type": "flag"})
    assert paths(faults) == ["conditions.==[0].var", "action.reason"]
