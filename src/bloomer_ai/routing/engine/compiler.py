"""Compile a JsonLogic rule once into nested Python closures, then evaluate it many times.

`apply` walks the rule's JSON on every evaluation; routing evaluates the same rules
against every order, so the walk is done once here:

- `var` paths are split ahead of time, and a comparison reads a one- or two-key path
  inline instead of calling a getter;
- literal sub-expressions are folded to constants;
- the operators routing rules use most get closures specialised for a literal operand
  (`==`/`===`/`!=` a string, number or boolean, `in` a literal list, `<`/`<=` a number
  or an "HH:MM" window, `some`/`all`/`none` over `items` testing a field, the `reduce`
  sum idiom), falling back to the exact JsonLogic operation for any other kind of value;
- an `and`/`or` of parts that always yield booleans, cannot fail and have no side
  effect tests them in the order of least expected cost (the result cannot differ), and
  an `and` that starts with a test of a top-level field (`deliveryZone`) runs it inline;
- `compile_rule_list` evaluates many rules at once, reading a field that many rules
  test first (the zone) once per call instead of once per rule.

The compiled function returns what `jsonlogic.apply` returns for the same rule and
data; the tests check this on the official suite and on random rules. An unknown
operator raises `JsonLogicError` when it is reached, as in json-logic-js, so a rule
that names one only in a branch never taken still evaluates. Nothing is ever turned
into source code: every piece is an ordinary closure.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from bloomer_ai.routing.engine.jsonlogic import (
    MAX_SAFE_INTEGER,
    MIN_SAFE_INTEGER,
    OPERATIONS,
    SCOPED_OPERATIONS,
    UNDEFINED,
    JsonLogicError,
    apply_raw,
    export_value,
    get_property,
    is_logic,
    js_in,
    js_less,
    js_less_equal,
    js_loose_equals,
    js_strict_equals,
    js_to_string,
    resolve_var,
    truthy,
    unknown_operator,
)

__all__ = [
    "ConditionOutcome",
    "Evaluator",
    "ExplainingEvaluator",
    "Explanation",
    "Predicate",
    "compile_logic",
    "compile_predicate",
    "compile_rule_list",
    "compile_with_explain",
]

Evaluator = Callable[[Any], Any]
Predicate = Callable[[Any], bool]

# Operators whose value depends on more than their arguments: never folded.
_READS_DATA: Final = frozenset({"var", "missing", "missing_some"})
# Operators that can raise (or log) even on well-formed arguments.
_MAY_FAIL: Final = frozenset({"missing", "missing_some", "log"})
_COLLECTION_OPERATORS: Final = frozenset({"filter", "map", "reduce", "all", "none", "some"})
_ITEM_PASSES: Final = 3  # a collection's body is costed as if run for this many items


@dataclass(slots=True)
class _Node:
    """A compiled sub-expression and what the compiler knows about it."""

    fn: Evaluator
    constant: bool = False
    value: Any = None  # the value, when constant
    boolean: bool = False  # fn always returns True or False
    pure: bool = True  # no `log` inside: may be folded once its inputs are known
    safe: bool = True  # cannot raise: an `and`/`or` may test it in any order
    cost: int = 1  # rough cost of one evaluation, to test cheap parts first
    pass_rate: float = 0.5  # rough chance that it holds, for the same purpose
    # A plain `var` with a literal path: its keys and the value when absent.
    var_keys: tuple[str, ...] | None = None
    var_not_found: Any = None
    # A test of a `var` of one or two keys against a literal, which `and` and loops
    # over items can run inline (see _field_test).
    field_test: _FieldTest | None = None
    # An `and` that starts with such a test of a top-level key: (that test, the rest).
    gate: tuple[_FieldTest, Predicate] | None = None
    # `{"+": [{"var": "accumulator"}, {"var": "current.<path>"}]}`: the <path> keys and
    # whether the accumulator comes first, so `reduce` can sum without building contexts.
    sums_current: tuple[tuple[str, ...], bool] | None = None


Builder = Callable[[list[_Node]], "_Node | None"]
"""Builds an operator's closure from its compiled arguments; None: use the generic one."""


def _fresh(value: list[Any]) -> list[Any]:
    # json-logic-js builds a new array each time it evaluates an array literal; a shared
    # list could be mutated by a caller or compare `===` to an earlier result.
    return [_fresh(item) if type(item) is list else item for item in value]


def _constant(value: Any) -> _Node:
    if type(value) is list:
        return _Node(lambda _data: _fresh(value), constant=True, value=value, cost=0)
    boolean = type(value) is bool
    return _Node(lambda _data: value, constant=True, value=value, boolean=boolean, cost=0)


_UNDEFINED_NODE: Final = _constant(UNDEFINED)


def _operands(nodes: list[_Node], count: int) -> list[_Node] | None:
    """The first `count` operands, a missing one being `undefined` as in JavaScript.

    None when more arguments follow that are not constants: json-logic-js evaluates
    every argument (and may fail on one), so only the generic closure is faithful then.
    """
    if any(not node.constant for node in nodes[count:]):
        return None
    return [nodes[index] if index < len(nodes) else _UNDEFINED_NODE for index in range(count)]


def _first_two(nodes: list[_Node]) -> tuple[_Node, _Node]:
    # Collection operators evaluate only their first two arguments themselves.
    padded = [*nodes[:2], _UNDEFINED_NODE, _UNDEFINED_NODE]
    return padded[0], padded[1]


# --- var --------------------------------------------------------------------------------


def _walk(data: Any, keys: tuple[str, ...], not_found: Any) -> Any:
    for key in keys:
        if data is None or data is UNDEFINED:
            return not_found
        data = get_property(data, key)
        if data is UNDEFINED:
            return not_found
    return data


def _getter(keys: tuple[str, ...], not_found: Any) -> Evaluator:
    # Data objects never hold `undefined` (the compiled `reduce` leaves such a key out),
    # so `dict.get` with the default is exactly json-logic-js's lookup.
    if len(keys) == 1:
        (key,) = keys

        def get_one(data: Any) -> Any:
            if type(data) is dict:
                return data.get(key, not_found)
            return _walk(data, keys, not_found)

        return get_one
    if len(keys) == 2:
        first, second = keys

        def get_two(data: Any) -> Any:
            if type(data) is dict:
                inner = data.get(first)
                if type(inner) is dict:
                    return inner.get(second, not_found)
            return _walk(data, keys, not_found)

        return get_two

    def get_many(data: Any) -> Any:
        return _walk(data, keys, not_found)

    return get_many


def _build_var(nodes: list[_Node]) -> _Node | None:
    operands = _operands(nodes, 2)
    if operands is None:
        return None
    path, default = operands
    if path.constant and default.constant and type(default.value) is not list:
        raw_path = path.value
        not_found = None if default.value is UNDEFINED else default.value
        if raw_path is UNDEFINED or raw_path is None or (type(raw_path) is str and not raw_path):
            return _Node(lambda data: data)  # {"var": ""} is the data itself
        keys = tuple(js_to_string(raw_path).split("."))
        return _Node(_getter(keys, not_found), var_keys=keys, var_not_found=not_found)
    path_fn, default_fn = path.fn, default.fn

    def dynamic_var(data: Any) -> Any:
        return resolve_var(data, path_fn(data), default_fn(data))

    return _Node(dynamic_var)


def _top_key(node: _Node) -> tuple[str, Any] | None:
    """(key, value when absent) for a `var` of one top-level key, which can be read inline."""
    if node.var_keys is not None and len(node.var_keys) == 1:
        return node.var_keys[0], node.var_not_found
    return None


# --- field tests -----------------------------------------------------------------------
#
# Most routing conditions read one field and compare it with a literal: a zone name, a
# total, a segment, a time of day. Such a condition compiles to a *field test*: when the
# value has the literal's own kind, Python's comparison is JavaScript's; any other kind
# of value takes the exact JsonLogic path. `and`, `some`, `all` and `none` read the
# field of a field test inline, saving a call for every rule and every item.


@dataclass(frozen=True, slots=True)
class _FieldTest:
    keys: tuple[str, ...]  # one or two keys
    not_found: Any
    fast_types: tuple[type, type]  # kinds of value `check` answers for
    check: Predicate  # a C-level callable where possible (set lookup, partial compare)
    negate: bool
    slow: Predicate  # the answer for any other kind of value
    members: frozenset[Any] | None  # when `check` is membership: tested inline


def _fast_number(value: Any) -> bool:
    # Below 2**53 a Python comparison with any int or float gives the double's answer.
    kind = type(value)
    return (kind is int or kind is float) and MIN_SAFE_INTEGER < value < MAX_SAFE_INTEGER


def _field_test(
    subject: _Node,
    fast_types: tuple[type, type],
    check: Predicate,
    slow: Predicate,
    *,
    negate: bool = False,
    members: frozenset[Any] | None = None,
    pass_rate: float = 0.5,
) -> _Node:
    """A boolean test of `subject`: `check(value)` (or `value in members`) when the value
    is of `fast_types`, else `slow(value)`. A `var` of one or two keys is read inline."""
    read = subject.fn
    keys, not_found = subject.var_keys, subject.var_not_found
    kind_a, kind_b = fast_types
    test: Predicate
    if keys is not None and len(keys) == 1 and members is not None:
        (key,) = keys

        # The commonest routing condition: {"==": [{"var": "deliveryZone"}, "north"]}.
        def top_key_in(data: Any) -> bool:
            value = data.get(key, not_found) if type(data) is dict else read(data)
            kind = type(value)
            if kind is kind_a or kind is kind_b:
                return (value in members) is not negate
            return slow(value)

        test = top_key_in
    elif keys is not None and len(keys) == 1:
        (key,) = keys

        def top_key_check(data: Any) -> bool:
            value = data.get(key, not_found) if type(data) is dict else read(data)
            kind = type(value)
            if kind is kind_a or kind is kind_b:
                return check(value) is not negate
            return slow(value)

        test = top_key_check
    elif keys is not None and len(keys) == 2:
        first, second = keys

        # {"==": [{"var": "customer.segment"}, "vip"]}
        def nested_key_check(data: Any) -> bool:
            inner = data.get(first) if type(data) is dict else None
            value = inner.get(second, not_found) if type(inner) is dict else read(data)
            kind = type(value)
            if kind is kind_a or kind is kind_b:
                return check(value) is not negate
            return slow(value)

        test = nested_key_check
    else:

        def value_check(data: Any) -> bool:
            value = read(data)
            kind = type(value)
            if kind is kind_a or kind is kind_b:
                return check(value) is not negate
            return slow(value)

        test = value_check
    node = _Node(test, boolean=True, pass_rate=pass_rate)
    if keys is not None and len(keys) <= 2:
        node.field_test = _FieldTest(keys, not_found, fast_types, check, negate, slow, members)
    return node


_TEXT: Final = (str, str)
_NUMBER: Final = (int, float)
_BOOLEAN: Final = (bool, bool)
# `a OP b` is `b SWAPPED a`: a literal on the right of `<` is a literal on the left of `>`.
_SWAPPED: Final = {operator.lt: operator.gt, operator.le: operator.ge}


def _membership_rate(members: int, negate: bool) -> float:
    """A guess at how often a value is one of `members` literals: equality is selective."""
    rate = min(0.15 * members, 0.6)
    return 1 - rate if negate else rate


# --- equality --------------------------------------------------------------------------


def _simple_literal(node: _Node) -> bool:
    value = node.value
    return node.constant and (
        type(value) is str or type(value) is bool or value is None or _fast_number(value)
    )


def _equality(loose: bool, negate: bool) -> Builder:
    slow_equals = js_loose_equals if loose else js_strict_equals

    def build(nodes: list[_Node]) -> _Node | None:
        operands = _operands(nodes, 2)
        if operands is None:
            return None
        left, right = operands
        if not (_simple_literal(left) or _simple_literal(right)):
            left_fn, right_fn = left.fn, right.fn
            if negate:
                return _Node(
                    lambda data: not slow_equals(left_fn(data), right_fn(data)), boolean=True
                )
            return _Node(lambda data: slow_equals(left_fn(data), right_fn(data)), boolean=True)
        subject, literal = (left, right.value) if _simple_literal(right) else (right, left.value)
        if literal is None:
            read = subject.fn
            if loose:  # `x == null` holds for null and undefined only
                return _Node(lambda data: (read(data) in _NULLISH) is not negate, boolean=True)
            return _Node(lambda data: (read(data) is None) is not negate, boolean=True)

        def otherwise(value: Any) -> bool:
            # Only a string `===` a string (and so on); `==` converts other kinds.
            return (loose and js_loose_equals(value, literal)) is not negate

        if type(literal) is str:
            members = frozenset({literal})
            return _field_test(
                subject,
                _TEXT,
                members.__contains__,
                otherwise,
                negate=negate,
                members=members,
                pass_rate=_membership_rate(1, negate),
            )
        if type(literal) is bool:
            check = functools.partial(operator.is_, literal)
            return _field_test(subject, _BOOLEAN, check, otherwise, negate=negate)
        check = functools.partial(operator.eq, literal)
        rate = _membership_rate(1, negate)
        return _field_test(subject, _NUMBER, check, otherwise, negate=negate, pass_rate=rate)

    return build


_NULLISH: Final = (None, UNDEFINED)  # `in` on a tuple compares identity first


# --- ordering --------------------------------------------------------------------------


def _orderable_literal(node: _Node) -> bool:
    # Against an ASCII string, Python's code-point order is JavaScript's UTF-16 order.
    value = node.value
    return node.constant and (_fast_number(value) or (type(value) is str and value.isascii()))


def _ordering(strict: bool, swapped: bool) -> Builder:
    """`<`/`<=` (with an optional third operand: "between"); `>`/`>=` swap the operands."""
    python_compare = operator.lt if strict else operator.le
    js_compare = js_less if strict else js_less_equal

    def build(nodes: list[_Node]) -> _Node | None:
        if not swapped and len(nodes) >= 3:
            operands = _operands(nodes, 3)
            if operands is None:
                return None
            first, middle, last = operands
            return _between(first, middle, last, python_compare, js_compare)
        operands = _operands(nodes, 2)
        if operands is None:
            return None
        left, right = reversed(operands) if swapped else operands
        if _orderable_literal(right):
            literal = right.value

            def value_first(value: Any) -> bool:
                return js_compare(value, literal)

            check = functools.partial(_SWAPPED[python_compare], literal)
            kinds = _TEXT if type(literal) is str else _NUMBER
            return _field_test(left, kinds, check, value_first)
        if _orderable_literal(left):
            literal = left.value

            def literal_first(value: Any) -> bool:
                return js_compare(literal, value)

            check = functools.partial(python_compare, literal)
            kinds = _TEXT if type(literal) is str else _NUMBER
            return _field_test(right, kinds, check, literal_first)
        left_fn, right_fn = left.fn, right.fn
        return _Node(lambda data: js_compare(left_fn(data), right_fn(data)), boolean=True)

    return build


def _between(
    first: _Node,
    middle: _Node,
    last: _Node,
    python_compare: Callable[[Any, Any], bool],
    js_compare: Callable[[Any, Any], bool],
) -> _Node:
    first_fn, middle_fn, last_fn = first.fn, middle.fn, last.fn
    if (
        _orderable_literal(first)
        and _orderable_literal(last)
        and (type(first.value) is str) == (type(last.value) is str)
    ):
        low, high = first.value, last.value
        kinds = _TEXT if type(low) is str else _NUMBER

        # {"<=": ["09:00", {"var": "deliveryTime"}, "12:00"]}: a delivery window.
        def within(value: Any) -> bool:
            return python_compare(low, value) and python_compare(value, high)

        def within_js(value: Any) -> bool:
            return js_compare(low, value) and js_compare(value, high)

        return _field_test(middle, kinds, within, within_js, pass_rate=0.3)

    def between(data: Any) -> bool:
        low, value, high = first_fn(data), middle_fn(data), last_fn(data)
        if high is UNDEFINED:  # json-logic-js looks at the third value, not the arity
            return js_compare(low, value)
        return js_compare(low, value) and js_compare(value, high)

    return _Node(between, boolean=True)


# --- in --------------------------------------------------------------------------------


def _set_member(value: Any) -> bool:
    """A literal that `===` compares by value, so that a set lookup finds its matches."""
    return type(value) is str or type(value) is bool or value is None or _fast_number(value)


def _build_in(nodes: list[_Node]) -> _Node | None:
    operands = _operands(nodes, 2)
    if operands is None:
        return None
    needle, haystack = operands
    needle_fn, haystack_fn = needle.fn, haystack.fn
    members = haystack.value
    if haystack.constant and type(members) is list and all(map(_set_member, members)):
        return _in_literal_list(needle, members)
    if haystack.constant and type(members) is str and members:
        text = members

        def in_text(data: Any) -> bool:
            value = needle_fn(data)
            if type(value) is str:
                return value in text
            return js_in(value, text)

        return _Node(in_text, boolean=True)
    if needle.constant and type(needle.value) is str:
        return _Node(_contains_word(haystack, needle.value), boolean=True, pass_rate=0.3)
    return _Node(lambda data: js_in(needle_fn(data), haystack_fn(data)), boolean=True)


def _in_literal_list(needle: _Node, members: list[Any]) -> _Node:
    # `in` on an array is `indexOf`, i.e. `===`: a value can only equal its own kind.
    texts = frozenset(member for member in members if type(member) is str)
    numbers = frozenset(member for member in members if type(member) in (int, float))
    booleans = frozenset(member for member in members if type(member) is bool)
    has_null = None in members

    def other_kinds(value: Any) -> bool:
        kind = type(value)
        if kind is str:
            return value in texts
        if kind is int or kind is float:
            return value in numbers
        if kind is bool:
            return value in booleans
        return value is None and has_null

    if len(texts) == len(members) or not numbers:
        # {"in": [{"var": "deliveryZone"}, ["north", "east"]]}
        rate = _membership_rate(len(texts), False)
        return _field_test(
            needle, _TEXT, texts.__contains__, other_kinds, members=texts, pass_rate=rate
        )
    # {"in": [{"var": "weekday"}, [6, 7]]}
    rate = _membership_rate(len(numbers), False)
    return _field_test(needle, _NUMBER, numbers.__contains__, other_kinds, pass_rate=rate)


def _contains_word(haystack: _Node, word: str) -> Predicate:
    """{"in": ["vip", {"var": "tags"}]}: a member of a list, or a substring of a string."""
    read = haystack.fn
    top = _top_key(haystack)
    key, not_found = top if top is not None else ("", None)

    def contains_word(data: Any) -> bool:
        container: Any
        if top is not None and type(data) is dict:
            container = data.get(key, not_found)
        else:
            container = read(data)
        kind = type(container)
        if kind is list:
            return word in container  # for a string needle Python's == is JS's ===
        if kind is str:
            return container != "" and word in container
        return False

    return contains_word


# --- logic -----------------------------------------------------------------------------


def _is_falsy(value: Any) -> bool:
    return value is False or (value is not True and not truthy(value))


def _best_order(nodes: list[_Node], stop_when: bool) -> list[_Node]:
    """Parts of an `and` (stop at a false one) or `or` (stop at a true one) in test order.

    When every part yields a boolean, cannot fail and has no side effect, the result is
    the same in any order, so the parts go by expected cost, a query planner's rule: cost
    over the chance of stopping there. A stable sort keeps the author's order among
    equals. Otherwise the author's order is the semantics.
    """
    if not all(node.boolean and node.safe and node.pure for node in nodes):
        return nodes

    def expected_cost(node: _Node) -> float:
        stops = node.pass_rate if stop_when else 1 - node.pass_rate
        return node.cost / max(stops, 0.01)

    return sorted(nodes, key=expected_cost)


def _chain_all(fns: tuple[Predicate, ...]) -> Predicate:
    if len(fns) == 1:
        return fns[0]
    if len(fns) == 2:
        first, second = fns
        return lambda data: first(data) and second(data)
    if len(fns) == 3:
        first, second, third = fns
        return lambda data: first(data) and second(data) and third(data)

    def all_true(data: Any) -> bool:
        for fn in fns:  # noqa: SIM110 (a plain loop beats a generator here)
            if not fn(data):
                return False
        return True

    return all_true


def _gated(gate: _FieldTest, fallback: Predicate, rest: Predicate) -> Predicate:
    """An `and` that starts with a field test of a top-level key, run inline."""
    (key,) = gate.keys
    not_found, negate, check, members = gate.not_found, gate.negate, gate.check, gate.members
    kind_a, kind_b = gate.fast_types
    if members is not None:
        # {"and": [{"==": [{"var": "deliveryZone"}, "north"]}, ...]}: most orders stop here.
        def gated_membership(data: Any) -> bool:
            if type(data) is dict:
                value = data.get(key, not_found)
                kind = type(value)
                if kind is kind_a or kind is kind_b:
                    return (value in members) is not negate and rest(data)
            return fallback(data) and rest(data)

        return gated_membership

    def gated(data: Any) -> bool:
        if type(data) is dict:
            value = data.get(key, not_found)
            kind = type(value)
            if kind is kind_a or kind is kind_b:
                return check(value) is not negate and rest(data)
        return fallback(data) and rest(data)

    return gated


def _build_and(nodes: list[_Node]) -> _Node:
    if nodes and all(node.boolean for node in nodes):
        # Every part yields a bool, so Python's `and` returns the deciding value as well.
        ordered = _best_order(nodes, stop_when=False)
        rate = math.prod(node.pass_rate for node in nodes)
        gate = ordered[0].field_test
        if len(ordered) >= 2 and gate is not None:
            rest = _chain_all(tuple(node.fn for node in ordered[1:]))
            if len(gate.keys) == 1:
                test = _gated(gate, ordered[0].fn, rest)
            else:
                test = _chain_all((ordered[0].fn, rest))
            return _Node(test, boolean=True, gate=(gate, rest), pass_rate=rate)
        chain = _chain_all(tuple(node.fn for node in ordered))
        return _Node(chain, boolean=True, pass_rate=rate)
    fns = tuple(node.fn for node in nodes)

    def first_falsy_or_last(data: Any) -> Any:
        current = UNDEFINED
        for fn in fns:
            current = fn(data)
            if _is_falsy(current):
                return current
        return current

    return _Node(first_falsy_or_last)


def _build_or(nodes: list[_Node]) -> _Node:
    if nodes and all(node.boolean for node in nodes):
        fns = tuple(node.fn for node in _best_order(nodes, stop_when=True))
        rate = 1 - math.prod(1 - node.pass_rate for node in nodes)
        if len(fns) == 1:
            return _Node(fns[0], boolean=True, pass_rate=rate)
        if len(fns) == 2:
            first, second = fns
            return _Node(lambda data: first(data) or second(data), boolean=True, pass_rate=rate)

        def any_true(data: Any) -> bool:
            for fn in fns:  # noqa: SIM110 (a plain loop beats a generator here)
                if fn(data):
                    return True
            return False

        return _Node(any_true, boolean=True, pass_rate=rate)
    fns = tuple(node.fn for node in nodes)

    def first_truthy_or_last(data: Any) -> Any:
        current = UNDEFINED
        for fn in fns:
            current = fn(data)
            if not _is_falsy(current):
                return current
        return current

    return _Node(first_truthy_or_last)


def _build_if(nodes: list[_Node]) -> _Node:
    fns = tuple(node.fn for node in nodes)
    # Boolean when every possible result is: each consequent and a final else.
    boolean = len(nodes) % 2 == 1 and all(node.boolean for node in [*nodes[1::2], nodes[-1]])
    if len(nodes) == 3 and nodes[0].boolean:
        condition, then, otherwise = fns
        return _Node(
            lambda data: then(data) if condition(data) else otherwise(data), boolean=boolean
        )

    def choose(data: Any) -> Any:
        index = 0
        while index < len(fns) - 1:
            if not _is_falsy(fns[index](data)):
                return fns[index + 1](data)
            index += 2
        if len(fns) == index + 1:
            return fns[index](data)
        return None

    return _Node(choose, boolean=boolean)


def _build_not(nodes: list[_Node]) -> _Node | None:
    operands = _operands(nodes, 1)
    if operands is None:
        return None
    (operand,) = operands
    fn = operand.fn
    if operand.var_keys is not None:
        # {"!": {"var": "customer.isNew"}}
        return _field_test(operand, _BOOLEAN, operator.not_, lambda value: not truthy(value))
    if operand.boolean:
        return _Node(lambda data: not fn(data), boolean=True)
    return _Node(lambda data: not truthy(fn(data)), boolean=True)


def _build_double_not(nodes: list[_Node]) -> _Node | None:
    operands = _operands(nodes, 1)
    if operands is None:
        return None
    (operand,) = operands
    fn = operand.fn
    if operand.var_keys is not None:
        return _field_test(operand, _BOOLEAN, bool, truthy)
    if operand.boolean:
        return _Node(fn, boolean=True)
    return _Node(lambda data: truthy(fn(data)), boolean=True)


# --- collections -----------------------------------------------------------------------


def _source(node: _Node) -> tuple[str | None, Any, Evaluator]:
    """How a collection is read: (top-level key to read inline or None, default, reader)."""
    top = _top_key(node)
    if top is None:
        return None, None, node.fn
    return top[0], top[1], node.fn


def _item_test(node: _Node) -> Predicate:
    if node.boolean:
        return node.fn
    fn = node.fn
    return lambda item: truthy(fn(item))


def _any_item(source_node: _Node, body: _Node) -> Predicate:
    """`some`: whether the body holds for an item; a field test runs without a call."""
    source_key, source_default, read_source = _source(source_node)
    test = _item_test(body)
    field = body.field_test
    if field is None or len(field.keys) != 1:

        def some(data: Any) -> bool:
            if source_key is not None and type(data) is dict:
                items = data.get(source_key, source_default)
            else:
                items = read_source(data)
            return type(items) is list and any(map(test, items))

        return some
    (key,) = field.keys
    not_found, check, negate = field.not_found, field.check, field.negate
    kind_a, kind_b = field.fast_types

    # {"some": [{"var": "items"}, {"==": [{"var": "productType"}, "wreath"]}]}
    def some_item_field(data: Any) -> bool:
        if source_key is not None and type(data) is dict:
            items = data.get(source_key, source_default)
        else:
            items = read_source(data)
        if type(items) is not list:
            return False
        for item in items:
            if type(item) is dict:
                value = item.get(key, not_found)
                kind = type(value)
                if kind is kind_a or kind is kind_b:
                    if check(value) is not negate:
                        return True
                    continue
            if test(item):
                return True
        return False

    return some_item_field


def _every_item(source_node: _Node, body: _Node) -> Predicate:
    """`all`: false for an empty array, as JsonLogic defines it."""
    source_key, source_default, read_source = _source(source_node)
    test = _item_test(body)
    field = body.field_test
    if field is None or len(field.keys) != 1:

        def every(data: Any) -> bool:
            if source_key is not None and type(data) is dict:
                items = data.get(source_key, source_default)
            else:
                items = read_source(data)
            return type(items) is list and len(items) > 0 and all(map(test, items))

        return every
    (key,) = field.keys
    not_found, check, negate = field.not_found, field.check, field.negate
    kind_a, kind_b = field.fast_types

    def every_item_field(data: Any) -> bool:
        if source_key is not None and type(data) is dict:
            items = data.get(source_key, source_default)
        else:
            items = read_source(data)
        if type(items) is not list or not items:
            return False
        for item in items:
            if type(item) is dict:
                value = item.get(key, not_found)
                kind = type(value)
                if kind is kind_a or kind is kind_b:
                    if check(value) is negate:
                        return False
                    continue
            if not test(item):
                return False
        return True

    return every_item_field


def _build_collection(kind: str) -> Builder:
    def build(nodes: list[_Node]) -> _Node:
        source_node, body = _first_two(nodes)
        if kind == "some":
            return _Node(_any_item(source_node, body), boolean=True)
        if kind == "all":
            return _Node(_every_item(source_node, body), boolean=True)
        if kind == "none":
            any_item = _any_item(source_node, body)
            return _Node(lambda data: not any_item(data), boolean=True)
        read_source = source_node.fn
        if kind == "filter":
            test = _item_test(body)

            def keep(data: Any) -> list[Any]:
                items = read_source(data)
                return [item for item in items if test(item)] if type(items) is list else []

            return _Node(keep)
        transform = body.fn

        def transform_each(data: Any) -> list[Any]:
            items = read_source(data)
            return [transform(item) for item in items] if type(items) is list else []

        return _Node(transform_each)

    return build


def _build_reduce(nodes: list[_Node]) -> _Node:
    source_node, body = _first_two(nodes)
    initial = nodes[2] if len(nodes) > 2 else _constant(None)
    if body.sums_current is not None:
        return _Node(_reduce_sum(source_node, initial, *body.sums_current))
    read_source, step, initial_fn = source_node.fn, body.fn, initial.fn

    def reduce(data: Any) -> Any:
        items = read_source(data)
        accumulator = initial_fn(data)
        if type(items) is not list:
            return accumulator
        for item in items:
            # An undefined accumulator reads exactly like an absent key, so leave it out.
            context = (
                {"current": item}
                if accumulator is UNDEFINED
                else {"current": item, "accumulator": accumulator}
            )
            accumulator = step(context)
        return accumulator

    return _Node(reduce)


# Sums of ints this small are exact in a double too, so Python's int addition is
# JavaScript's; anything larger takes the exact `+` operation, step by step. The bounds
# are single-digit Python ints: comparing with 2**53 itself costs a big-int compare.
_SMALL_MAX: Final = (1 << 30) - 1
_SMALL_MIN: Final = -_SMALL_MAX
_QUICK_START_MAX: Final = 1 << 52
_QUICK_START_MIN: Final = -_QUICK_START_MAX
_QUICK_ITEMS: Final = 1 << 21


def _reduce_sum(
    source_node: _Node, initial: _Node, keys: tuple[str, ...], accumulator_first: bool
) -> Evaluator:
    """`reduce` adding a field of each item to the accumulator: a plain loop."""
    add = OPERATIONS["+"]
    read_field = _getter(keys, None)
    source_key, source_default, read_source = _source(source_node)
    field_key = keys[0] if len(keys) == 1 else None
    initial_fn = initial.fn

    # {"reduce": [{"var": "items"},
    #             {"+": [{"var": "accumulator"}, {"var": "current.quantity"}]}, 0]}
    def reduce_sum(data: Any) -> Any:
        if source_key is not None and type(data) is dict:
            items = data.get(source_key, source_default)
        else:
            items = read_source(data)
        accumulator = initial_fn(data)
        if type(items) is not list:
            return accumulator
        done = 0
        if (
            type(accumulator) is int
            and _QUICK_START_MIN < accumulator < _QUICK_START_MAX
            and len(items) < _QUICK_ITEMS
        ):
            for item in items:
                if field_key is not None and type(item) is dict:
                    value = item.get(field_key)
                else:
                    value = read_field(item)
                if type(value) is not int or not _SMALL_MIN <= value <= _SMALL_MAX:
                    break
                accumulator += value
                done += 1
        for item in items[done:] if done < len(items) else ():
            # {"var": "accumulator"} reads an undefined accumulator as null.
            previous = None if accumulator is UNDEFINED else accumulator
            value = read_field(item)
            accumulator = add(data, [previous, value] if accumulator_first else [value, previous])
        return accumulator

    return reduce_sum


# --- arithmetic and everything else ----------------------------------------------------


def _build_plus(nodes: list[_Node]) -> _Node | None:
    if len(nodes) != 2:
        return None
    left, right = nodes
    left_fn, right_fn = left.fn, right.fn
    add = OPERATIONS["+"]

    def plus(data: Any) -> Any:
        first, second = left_fn(data), right_fn(data)
        if (
            type(first) is int
            and type(second) is int
            and _SMALL_MIN <= first <= _SMALL_MAX
            and _SMALL_MIN <= second <= _SMALL_MAX
        ):
            return first + second
        return add(data, [first, second])

    node = _Node(plus)
    for accumulator, current, accumulator_first in ((left, right, True), (right, left, False)):
        if (
            accumulator.var_keys == ("accumulator",)
            and accumulator.var_not_found is None
            and current.var_keys is not None
            and len(current.var_keys) >= 2
            and current.var_keys[0] == "current"
            and current.var_not_found is None
        ):
            node.sums_current = (current.var_keys[1:], accumulator_first)
    return node


def _build_generic(operator_name: str, nodes: list[_Node]) -> _Node:
    fns = tuple(node.fn for node in nodes)
    operation = OPERATIONS.get(operator_name)
    if operation is None:

        def unknown(data: Any) -> Any:
            for fn in fns:  # json-logic-js evaluates the arguments before it gives up
                fn(data)
            raise unknown_operator(operator_name)

        return _Node(unknown)
    if len(fns) == 1:
        (only,) = fns
        return _Node(lambda data: operation(data, [only(data)]))
    if len(fns) == 2:
        first, second = fns
        return _Node(lambda data: operation(data, [first(data), second(data)]))
    return _Node(lambda data: operation(data, [fn(data) for fn in fns]))


_BUILDERS: Final[dict[str, Builder]] = {
    "var": _build_var,
    "==": _equality(loose=True, negate=False),
    "!=": _equality(loose=True, negate=True),
    "===": _equality(loose=False, negate=False),
    "!==": _equality(loose=False, negate=True),
    "<": _ordering(strict=True, swapped=False),
    "<=": _ordering(strict=False, swapped=False),
    ">": _ordering(strict=True, swapped=True),
    ">=": _ordering(strict=False, swapped=True),
    "in": _build_in,
    "+": _build_plus,
    "and": _build_and,
    "or": _build_or,
    "if": _build_if,
    "?:": _build_if,
    "!": _build_not,
    "!!": _build_double_not,
    "some": _build_collection("some"),
    "all": _build_collection("all"),
    "none": _build_collection("none"),
    "filter": _build_collection("filter"),
    "map": _build_collection("map"),
    "reduce": _build_reduce,
}


def _describe(node: _Node, operator_name: str, nodes: list[_Node]) -> None:
    """Sets what the compiler knows about an operation from its operator and arguments."""
    known = operator_name in OPERATIONS or operator_name in SCOPED_OPERATIONS
    node.pure = operator_name != "log" and all(arg.pure for arg in nodes)
    node.safe = (
        known
        and operator_name not in _MAY_FAIL
        and not (operator_name == "*" and not nodes)  # reduce() of nothing throws
        and all(arg.safe for arg in nodes)
    )
    if operator_name in _COLLECTION_OPERATORS:
        body = nodes[1].cost if len(nodes) > 1 else 0
        others = sum(arg.cost for arg in nodes) - body
        node.cost = 4 + others + _ITEM_PASSES * body
    else:
        node.cost = 1 + sum(arg.cost for arg in nodes)


def _foldable(operator_name: str, node: _Node, nodes: list[_Node]) -> bool:
    """Whether the operation's value is known now: pure, reads no data, constant inputs."""
    if operator_name in _READS_DATA or not node.pure:
        return False
    if operator_name not in OPERATIONS and operator_name not in SCOPED_OPERATIONS:
        return False  # an unknown operator must fail when evaluated, not now
    if operator_name in _COLLECTION_OPERATORS:
        # The body only ever sees the items, so constant items make a constant result.
        outer = nodes[:1] + (nodes[2:3] if operator_name == "reduce" else [])
        return all(arg.constant for arg in outer)
    return all(arg.constant for arg in nodes)


def _compile(logic: Any) -> _Node:
    kind = type(logic)
    if kind is list:
        items = [_compile(item) for item in logic]
        if all(item.constant for item in items):
            return _constant([item.value for item in items])
        fns = tuple(item.fn for item in items)
        return _Node(
            lambda data: [fn(data) for fn in fns],
            pure=all(item.pure for item in items),
            safe=all(item.safe for item in items),
            cost=1 + sum(item.cost for item in items),
        )
    if not is_logic(logic):
        return _constant(logic)
    ((operator_name, values),) = logic.items()
    if type(values) is not list:
        values = [values]  # {"var": "x"} is short for {"var": ["x"]}
    nodes = [_compile(value) for value in values]
    builder = _BUILDERS.get(operator_name)
    node = builder(nodes) if builder is not None else None
    if node is None:
        node = _build_generic(operator_name, nodes)
    _describe(node, operator_name, nodes)
    if _foldable(operator_name, node, nodes):
        try:
            return _constant(apply_raw({operator_name: values}, None))
        except JsonLogicError:
            pass  # keep the closure: the error belongs to evaluation time
    return node


def _compile_root(logic: Any) -> _Node:
    try:
        return _compile(logic)
    except RecursionError as error:
        raise JsonLogicError("rule is nested too deeply to compile") from error


def compile_logic(logic: Any) -> Evaluator:
    """Compile `logic`; the result evaluates it like `jsonlogic.apply(logic, data)`."""
    fn = _compile_root(logic).fn

    def evaluate(data: Any = None) -> Any:
        return export_value(fn(data))

    return evaluate


def compile_predicate(logic: Any) -> Predicate:
    """Compile `logic` to a test: the JsonLogic truthiness of its result for `data`."""
    node = _compile_root(logic)
    if node.boolean:
        return node.fn
    return _truthy_of(node.fn)


def _always(_data: Any) -> bool:
    return True


_GateGroupKey = tuple[tuple[str, ...], type, Any, type, type, bool]
_GateEntry = tuple[int, Any, bool, Predicate, Predicate]


def compile_rule_list(rules: list[Any]) -> Callable[[Any], list[int]]:
    """Compile many rules into one function: the indexes of the rules `data` satisfies.

    Every rule is evaluated on every call, as with one `compile_predicate` per rule;
    what is shared is work common to many rules. Rules whose first test reads the same
    field (`deliveryZone`, `customer.segment`, `total`, ...) have that field read once,
    and their tests run in one tight loop instead of a call per rule. A rule that fails
    to evaluate does not match. The indexes come in ascending order.
    """
    groups: dict[_GateGroupKey, list[_GateEntry]] = {}
    others: list[tuple[int, Predicate]] = []
    for index, logic in enumerate(rules):
        node = _compile_root(logic)
        gate = node.gate
        if gate is None and node.field_test is not None:
            gate = (node.field_test, _always)
        predicate = node.fn if node.boolean else _truthy_of(node.fn)
        if gate is None or not isinstance(gate[0].not_found, str | int | float | bool | None):
            others.append((index, predicate))
            continue
        test, rest = gate
        kind_a, kind_b = test.fast_types
        membership = test.members is not None
        group_key = (test.keys, type(test.not_found), test.not_found, kind_a, kind_b, membership)
        tester = test.members if membership else test.check
        groups.setdefault(group_key, []).append((index, tester, test.negate, rest, predicate))
    plan = tuple((key, tuple(entries)) for key, entries in groups.items())

    def matching_rules(data: Any) -> list[int]:
        matched: list[int] = []
        is_object = type(data) is dict
        for (keys, _kind, not_found, kind_a, kind_b, membership), entries in plan:
            # The field is read once for the whole group, the way the tests would read it.
            value: Any = UNDEFINED
            if is_object:
                if len(keys) == 1:
                    value = data.get(keys[0], not_found)
                else:
                    inner = data.get(keys[0])
                    if type(inner) is dict:
                        value = inner.get(keys[1], not_found)
            kind = type(value)
            if kind is not kind_a and kind is not kind_b:
                _run_predicates(entries, data, matched)  # each test takes its exact path
                continue
            try:
                if membership:
                    for index, members, negate, rest, _predicate in entries:
                        if (value in members) is not negate and rest(data):
                            matched.append(index)
                else:
                    for index, check, negate, rest, _predicate in entries:
                        if check(value) is not negate and rest(data):
                            matched.append(index)
            except JsonLogicError:
                # A rule that cannot be evaluated does not match: redo this group one
                # rule at a time to leave that one out.
                del matched[len(matched) - _count_from(matched, entries) :]
                _run_predicates(entries, data, matched)
        for index, predicate in others:
            try:
                if predicate(data):
                    matched.append(index)
            except JsonLogicError:
                continue
        matched.sort()
        return matched

    return matching_rules


def _count_from(matched: list[int], entries: tuple[Any, ...]) -> int:
    """How many of the last `matched` indexes belong to `entries` (added just now)."""
    indexes = {entry[0] for entry in entries}
    count = 0
    for index in reversed(matched):
        if index not in indexes:
            break
        count += 1
    return count


def _truthy_of(fn: Evaluator) -> Predicate:
    return lambda data: truthy(fn(data))


def _run_predicates(entries: tuple[_GateEntry, ...], data: Any, matched: list[int]) -> None:
    for index, _tester, _negate, _rest, predicate in entries:
        try:
            if predicate(data):
                matched.append(index)
        except JsonLogicError:
            continue


# --- explain ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConditionOutcome:
    """One sub-condition as it was evaluated: its path, its value and whether it held."""

    path: str
    value: Any
    held: bool


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a rule's conditions came out as they did.

    `decided_by` is the path of the sub-condition that settled the outcome: the first
    false one under `and` (or the last when all held), the first true one under `or`,
    the condition that chose a branch under `if` (or the else branch). For any other
    top-level operator the whole condition decided, and `decided_by` is the root path.
    `checked` lists the sub-conditions evaluated, in order.
    """

    value: Any
    matched: bool
    decided_by: str | None
    checked: tuple[ConditionOutcome, ...]


ExplainingEvaluator = Callable[[Any], Explanation]


def compile_with_explain(logic: Any, *, root: str = "conditions") -> ExplainingEvaluator:
    """Compile `logic` into a function that also says which sub-condition decided."""
    if not is_logic(logic):
        plain = compile_logic(logic)

        def explain_literal(data: Any) -> Explanation:
            value = plain(data)
            return Explanation(value, truthy(value), root, ())

        return explain_literal
    ((operator_name, values),) = logic.items()
    if type(values) is not list:
        values = [values]
    if operator_name not in ("and", "or", "if", "?:"):
        whole = compile_logic(logic)

        def explain_whole(data: Any) -> Explanation:
            value = whole(data)
            return Explanation(value, truthy(value), root, ())

        return explain_whole
    parts = tuple(
        (f"{root}.{operator_name}[{index}]", _compile_root(value).fn)
        for index, value in enumerate(values)
    )
    if operator_name in ("and", "or"):
        stop_when = operator_name == "or"  # `and` stops at the first falsy, `or` at truthy

        def explain_chain(data: Any) -> Explanation:
            checked: list[ConditionOutcome] = []
            value: Any = UNDEFINED
            decided_by = None
            for path, fn in parts:
                value = fn(data)
                held = truthy(value)
                checked.append(ConditionOutcome(path, export_value(value), held))
                decided_by = path
                if held is stop_when:
                    break
            value = export_value(value)
            return Explanation(value, truthy(value), decided_by, tuple(checked))

        return explain_chain

    def explain_if(data: Any) -> Explanation:
        checked: list[ConditionOutcome] = []
        index = 0
        while index < len(parts) - 1:
            path, condition = parts[index]
            value = condition(data)
            held = truthy(value)
            checked.append(ConditionOutcome(path, export_value(value), held))
            if held:
                result = export_value(parts[index + 1][1](data))
                return Explanation(result, truthy(result), path, tuple(checked))
            index += 2
        if len(parts) == index + 1:
            path, otherwise = parts[index]
            result = export_value(otherwise(data))
            return Explanation(result, truthy(result), path, tuple(checked))
        return Explanation(None, False, None, tuple(checked))

    return explain_if
