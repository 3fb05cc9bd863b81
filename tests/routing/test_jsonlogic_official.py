"""The JsonLogic interpreter against the official suite and json-logic-js's own behaviour.

`tests/data/jsonlogic-tests.json` is jsonlogic.com's `tests.json`, unchanged (see
`tests/data/README.md`). Beyond it, quirks of the reference implementation are pinned
with values produced by json-logic-js 2.0.5, and when node and `bench/node`'s
json-logic-js are installed, random rules are checked against it directly.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bloomer_ai.routing.engine import jsonlogic
from bloomer_ai.routing.engine.jsonlogic import JsonLogicError, apply

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "tests" / "data" / "jsonlogic-tests.json"
SUITE_SHA256 = "3f2ef4252eb0285e5e0105b2c2fc14155d6e691519ecf46a4591c6f480587c31"
NODE_PACKAGE = ROOT / "bench" / "node" / "node_modules" / "json-logic-js"


def load_official_cases() -> list[tuple[Any, Any, Any]]:
    entries = json.loads(SUITE.read_text(encoding="utf-8"))
    # Strings between the cases are section comments.
    return [tuple(entry) for entry in entries if not isinstance(entry, str)]


OFFICIAL_CASES = load_official_cases()


def same_json(actual: Any, expected: Any) -> bool:
    """Equal as JSON values: numbers by value, but never a boolean for a number."""
    if isinstance(expected, bool) or expected is None or isinstance(expected, str):
        return type(actual) is type(expected) and actual == expected
    if isinstance(expected, int | float):
        return (
            isinstance(actual, int | float)
            and not isinstance(actual, bool)
            and (actual == expected)
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(same_json(a, e) for a, e in zip(actual, expected, strict=True))
        )
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and actual.keys() == expected.keys()
            and all(same_json(actual[key], expected[key]) for key in expected)
        )
    raise AssertionError(f"unexpected JSON value {expected!r}")


def test_suite_file_is_the_published_one() -> None:
    assert hashlib.sha256(SUITE.read_bytes()).hexdigest() == SUITE_SHA256
    assert len(OFFICIAL_CASES) == 277


@pytest.mark.parametrize(
    ("logic", "data", "expected"),
    OFFICIAL_CASES,
    ids=[f"{index:03d}-{json.dumps(case[0])[:60]}" for index, case in enumerate(OFFICIAL_CASES)],
)
def test_official_case(logic: Any, data: Any, expected: Any) -> None:
    assert same_json(apply(logic, data), expected)


# (logic, data, json-logic-js 2.0.5's result); NaN stands for NaN.
NAN = float("nan")
REFERENCE_QUIRKS: list[tuple[Any, Any, Any]] = [
    ({"*": ["2"]}, None, "2"),  # reduce() without a seed returns a lone argument as is
    ({"+": []}, None, 0),
    ({"*": [2, "3"]}, None, 6),
    ({"==": [[1], "1"]}, None, True),
    ({"==": [[], 0]}, None, True),
    ({"==": [None, 0]}, None, False),
    ({"==": [True, "1"]}, None, True),
    ({"===": [1, 1.0]}, None, True),
    ({"!=": [[], False]}, None, False),
    ({"cat": [1.0, 0.5, None, True, [1, [2, 3]]]}, None, "10.5true1,2,3"),
    ({"cat": [1e21, 1e-7, 123456789.125]}, None, "1e+211e-7123456789.125"),
    ({"in": [1, "a1"]}, None, True),
    ({"in": ["", "abc"]}, None, True),
    ({"in": ["a", ""]}, None, False),
    ({"in": [1, [True, "1", 1]]}, None, True),
    ({"in": [True, [1]]}, None, False),
    ({"substr": ["jsonlogic", 1, "-1"]}, None, ""),
    ({"substr": ["jsonlogic", -100, 3]}, None, "jso"),
    ({"substr": [12345, 1, 2]}, None, "23"),
    ({"-": ["5"]}, None, -5),
    ({"-": [[3], "1"]}, None, 2),
    ({"/": ["6", "3"]}, None, 2),
    ({"%": [-7, 3]}, None, -1),
    ({"+": ["3px", " 4 "]}, None, 7),
    ({"+": [True]}, None, NAN),
    ({"min": ["2", 1, [0]]}, None, 0),
    ({"max": [1, "x"]}, None, NAN),
    ({"merge": [[1, [2]], 3, None]}, None, [1, [2], 3, None]),
    ({"var": "s.length"}, {"s": "héllo"}, 5),
    ({"var": "a.1"}, {"a": "xyz"}, "y"),
    ({"var": "a.01"}, {"a": [1, 2]}, None),
    ({"var": ["a", 5]}, {"a": None}, None),  # a present null is not "missing"
    ({"var": "a.b"}, {"a": [1, 2]}, None),
    ({"<": ["10", "9"]}, None, True),  # two strings compare as text
    ({"<": ["10", 9]}, None, False),
    ({"<": [None, 1]}, None, True),
    ({"<=": [[2], 3, "4"]}, None, True),
    ({">": ["b", "a"]}, None, True),
    ({"!!": [{}]}, None, True),
    ({"!": [[0]]}, None, False),
    ({"if": [[], "a", {}, "b", "c"]}, None, "b"),
    ({"or": []}, None, None),  # undefined, which JSON writes as null
    ({"and": [1, "", 2]}, None, ""),
    ({"missing": [["a", "b"]]}, {"a": 1}, ["b"]),
    ({"missing_some": [1, "ab"]}, {"a": 1}, []),
    ({"reduce": [[1, 2, 3], {"+": [{"var": "accumulator"}, {"var": "current"}]}]}, None, NAN),
    (
        {"map": [{"var": "xs"}, {"cat": [{"var": ""}, "!"]}]},
        {"xs": ["a", 1, None]},
        ["a!", "1!", "!"],
    ),
    ({"filter": [[0, 1, "", "x", [], [0]], {"var": ""}]}, None, [1, "x", [0]]),
    ({"all": [[1, 2], {"var": ""}]}, None, True),
    ({"none": [None, True]}, None, True),
    ({"some": ["abc", True]}, None, False),
    ({"==": [{"var": "n"}, "1e3"]}, {"n": 1000}, True),
    ({"===": [{"var": "x"}, {"var": "x"}]}, {"x": [1]}, True),  # the same array
    ({"===": [[1], [1]]}, None, False),  # two arrays
    ({"==": ["0x10", 16]}, None, True),
    ({"==": [" \n", 0]}, None, True),
    ({"<": ["\U0001f600", "\uffff"]}, None, True),  # UTF-16 code units, not code points
]


@pytest.mark.parametrize(("logic", "data", "expected"), REFERENCE_QUIRKS)
def test_reference_quirk(logic: Any, data: Any, expected: Any) -> None:
    result = apply(logic, data)
    if isinstance(expected, float) and math.isnan(expected):
        assert isinstance(result, float)
        assert math.isnan(result)
    else:
        assert same_json(result, expected)


def test_unary_minus_of_zero_is_negative_zero() -> None:
    result = apply({"-": [0]})
    assert result == 0
    assert math.copysign(1.0, result) == -1.0


@pytest.mark.parametrize(
    "logic",
    [{"nope": [1, 2]}, {"and": [True, {"exec": "print(1)"}]}, {"var.length": ["x"]}],
)
def test_unknown_operator_raises_a_clear_error(logic: Any) -> None:
    with pytest.raises(JsonLogicError, match="Unrecognized operation"):
        apply(logic, {})


def test_unknown_operator_in_a_branch_not_taken_is_not_an_error() -> None:
    assert apply({"if": [True, "yes", {"nope": []}]}) == "yes"


@pytest.mark.parametrize(
    ("logic", "message"),
    [({"*": []}, "at least one"), ({"missing_some": [1, None]}, "array of keys")],
)
def test_operations_that_throw_in_javascript_raise(logic: Any, message: str) -> None:
    with pytest.raises(JsonLogicError, match=message):
        apply(logic)


def test_user_input_is_never_code() -> None:
    payload = "__import__('os').system('echo pwned')"
    assert apply({"cat": [payload]}) == payload
    assert apply({"var": "__class__"}, {"a": 1}) is None  # no attribute access
    assert apply({"var": "__class__.__name__"}, "text") is None
    assert apply({"in": [payload, [payload]]}) is True


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    logic: Any = True
    for _ in range(5000):
        logic = {"!": [logic]}
    with pytest.raises(JsonLogicError, match="nested too deeply"):
        apply(logic)


def test_log_returns_its_argument(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger=jsonlogic.__name__):
        assert apply({"log": "apple"}) == "apple"
    assert "apple" in caplog.text


# --- against json-logic-js itself ----------------------------------------------------------

_LITERALS: list[Any] = [
    0, 1, -1, 2.5, "1", "0", "", "abc", " 12 ", "0x1F", "1e3", "-0", None, True, False,
    [], [1, 2], ["a"], {}, {"a": 1, "b": 2}, "a.b", 1e21, 1e-7, "é\U0001f600",
]  # fmt: skip
_PATHS: list[Any] = ["a", "b", "a.b", "arr", "arr.1", "s.length", "", "x.y", 0, "current", None]
_OPERATORS = sorted(jsonlogic.STANDARD_OPERATORS - {"log"})


def _random_logic(rng: random.Random, depth: int) -> Any:
    if depth <= 0 or rng.random() < 0.3:
        if rng.random() < 0.35:
            return {"var": rng.choice(_PATHS)}
        return json.loads(json.dumps(rng.choice(_LITERALS)))  # a fresh copy
    operator = rng.choice(_OPERATORS)
    if operator in ("filter", "map", "all", "none", "some", "reduce"):
        source = rng.choice([{"var": "arr"}, {"var": "items"}, [1, 2, 3], {"var": "a"}])
        args = [source, _random_logic(rng, depth - 1)]
        if operator == "reduce" and rng.random() < 0.7:
            args.append(_random_logic(rng, depth - 1))
        return {operator: args}
    args = [_random_logic(rng, depth - 1) for _ in range(rng.choice([0, 1, 2, 2, 3]))]
    return {operator: args[0]} if len(args) == 1 and rng.random() < 0.3 else {operator: args}


def _random_data(rng: random.Random) -> Any:
    return {
        "a": json.loads(json.dumps(rng.choice(_LITERALS))),
        "b": rng.choice(["x", 1, None, [2]]),
        "arr": [rng.choice([0, 1, "2", None, "a"]) for _ in range(rng.randint(0, 3))],
        "s": rng.choice(["hello", "", "12"]),
        "items": [{"q": rng.choice([0, 1, "3"]), "t": "x"} for _ in range(rng.randint(0, 2))],
    }


def _encode(value: Any) -> Any:
    """Results as JSON both sides can write: NaN, infinities, -0 and undefined tagged."""
    if value is jsonlogic.UNDEFINED:
        return {"$undefined": True}
    if isinstance(value, float):
        if math.isnan(value):
            return {"$nan": True}
        if math.isinf(value):
            return {"$inf": 1 if value > 0 else -1}
        if value == 0 and math.copysign(1.0, value) < 0:
            return {"$negzero": True}
    if isinstance(value, list):
        return [_encode(item) for item in value]
    if isinstance(value, dict):
        return {"$object": {key: _encode(item) for key, item in value.items()}}
    return value


_NODE_SCRIPT = r"""
const jsonLogic = require(process.argv[1]);
const cases = JSON.parse(require("fs").readFileSync(0, "utf8"));
function encode(v) {
  if (v === undefined) return { $undefined: true };
  if (typeof v === "number") {
    if (Number.isNaN(v)) return { $nan: true };
    if (!Number.isFinite(v)) return { $inf: v > 0 ? 1 : -1 };
    if (Object.is(v, -0)) return { $negzero: true };
    return v;
  }
  if (Array.isArray(v)) return v.map(encode);
  if (v !== null && typeof v === "object") {
    const o = {}; for (const k of Object.keys(v)) o[k] = encode(v[k]); return { $object: o };
  }
  return v;
}
process.stdout.write(JSON.stringify(cases.map(([logic, data]) => {
  try { return { ok: encode(jsonLogic.apply(logic, data)) }; } catch (e) { return { error: true }; }
})));
"""


def test_random_rules_agree_with_json_logic_js() -> None:
    # json-logic-js, the reference implementation, installed by npm on first use (node and
    # npm are part of the machine).
    if not NODE_PACKAGE.is_dir():
        subprocess.run(
            ["npm", "install", "--no-package-lock", "--no-audit", "--no-fund", "--silent"],
            cwd=NODE_PACKAGE.parents[1],
            check=True,
            capture_output=True,
            timeout=600,
        )
    rng = random.Random(20261201)
    cases = [[_random_logic(rng, rng.randint(1, 4)), _random_data(rng)] for _ in range(3000)]
    completed = subprocess.run(
        ["node", "-e", _NODE_SCRIPT, str(NODE_PACKAGE)],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        check=True,
    )
    reference = json.loads(completed.stdout)
    disagreements = []
    for (logic, data), expected in zip(cases, reference, strict=True):
        try:
            ours: dict[str, Any] = {"ok": _encode(jsonlogic.apply_raw(logic, data))}
        except JsonLogicError:
            ours = {"error": True}
        # Round-trip through JSON so that 2 and 2.0 compare equal, as in JavaScript.
        if json.loads(json.dumps(ours), parse_int=float) != json.loads(
            json.dumps(expected), parse_int=float
        ):
            disagreements.append((logic, data, expected, ours))
    assert disagreements == []
