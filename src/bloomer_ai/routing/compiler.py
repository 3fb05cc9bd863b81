"""Compile a JsonLogic rule once into nested Python closures, then evaluate it many times.

`apply` walks the rule's JSON on every evaluation; routing evaluates the same rules
against every order, so the walk is done once here:

- `var` paths are split ahead of time, and a comparison reads a one- or two-key path
  inline instead of calling a getter;
- literal sub-expressions are folded to constants;
- the operators routing rules use most get closures specialised for a literal operand
  (`==`/`===`/`!=` a string, `in` a literal list, `<`/`<=` a number or an "HH:MM"
  window, `some`/`all`/`none` over `items` testing a field, the `reduce` sum idiom),
  falling back to the exact JsonLogic operation for any other kind of value;
- an `and`/`or` of parts that always yield booleans, cannot fail and have no side
  effect tests its cheapest parts first (the result cannot differ), and an `and` that
  starts with a string test on a top-level field (`deliveryZone`) runs it inline.

The compiled function returns what `jsonlogic.apply` returns for the same rule and
data; the tests check this on the official suite and on random rules. An unknown
operator raises `JsonLogicError` when it is reached, as in json-logic-js, so a rule
that names one only in a branch never taken still evaluates. Nothing is ever turned
into source code: every piece is an ordinary closure.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from bloomer_ai.routing.jsonlogic import (
    MAX_SAFE_INTEGER,
    OPERATIONS,
    SCOPED_OPERATIONS,
    UNDEFINED,
    JsonLogicError,
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
from bloomer_ai.routing.jsonlogic import _apply as interpret

__all__ = [
    "ConditionOutcome",
    "Evaluator",
    "ExplainingEvaluator",
    "Explanation",
    "Predicate",
    "compile_logic",
    "compile_predicate",
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
    # A plain `var` with a literal path: its keys and the value when absent.
    var_keys: tuple[str, ...] | None = None
    var_not_found: Any = None
    # "Is this `var` (one or two keys) a string in `members`" (negated: not in); `fn`
    # answers whenever the value is not a string. Lets `and` and loops test it inline.
    text_match: tuple[tuple[str, ...], Any, frozenset[str], bool] | None = None
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


# --- equality --------------------------------------------------------------------------


def _fast_number(value: Any) -> bool:
    # Below 2**53 a Python comparison with any int or float gives the double's answer.
    kind = type(value)
    return (kind is int or kind is float) and -MAX_SAFE_INTEGER < value < MAX_SAFE_INTEGER


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
        if type(literal) is str:
            text = literal

            def loosely_equals(value: Any) -> bool:
                return js_loose_equals(value, text)

            # Only a string `===` a string; `==` also converts other kinds of value.
            return _text_test(subject, frozenset({text}), loosely_equals if loose else None, negate)
        test = _equals_literal(subject.fn, literal, loose)
        if negate:
            return _Node(lambda data: not test(data), boolean=True)
        return _Node(test, boolean=True)

    return build


def _equals_literal(read: Evaluator, literal: Any, loose: bool) -> Predicate:
    """`value == literal` (or `===`) for a number, boolean or null literal."""
    if type(literal) is bool:

        def is_boolean(data: Any) -> bool:
            value = read(data)
            if type(value) is bool:
                return value is literal
            return loose and js_loose_equals(value, literal)

        return is_boolean
    if literal is None:
        if loose:  # `x == null` holds for null and undefined only
            return lambda data: read(data) in _NULLISH
        return lambda data: read(data) is None

    def is_number(data: Any) -> bool:
        value = read(data)
        kind = type(value)
        if kind is int or kind is float:
            return bool(value == literal)
        return loose and js_loose_equals(value, literal)

    return is_number


_NULLISH: Final = (None, UNDEFINED)  # `in` on a tuple compares identity first


def _text_test(
    subject: _Node,
    members: frozenset[str],
    slow: Predicate | None,
    negate: bool,
) -> _Node:
    """`subject` is a string in `members` (`==`/`===` a string, `in` a list of strings).

    A value that is not a string goes to `slow` (loose equality), or is no member.
    """
    read = subject.fn
    keys, not_found = subject.var_keys, subject.var_not_found

    def otherwise(value: Any) -> bool:
        return (slow is not None and slow(value)) is not negate

    test: Predicate
    if keys is not None and len(keys) == 1:
        (key,) = keys

        # The commonest routing condition: {"==": [{"var": "deliveryZone"}, "north"]}.
        def top_key_is_member(data: Any) -> bool:
            value = data.get(key, not_found) if type(data) is dict else read(data)
            if type(value) is str:
                return (value in members) is not negate
            return otherwise(value)

        test = top_key_is_member
    elif keys is not None and len(keys) == 2:
        first, second = keys

        def nested_key_is_member(data: Any) -> bool:
            inner = data.get(first) if type(data) is dict else None
            value = inner.get(second, not_found) if type(inner) is dict else read(data)
            if type(value) is str:
                return (value in members) is not negate
            return otherwise(value)

        test = nested_key_is_member
    else:

        def is_member(data: Any) -> bool:
            value = read(data)
            if type(value) is str:
                return (value in members) is not negate
            return otherwise(value)

        test = is_member
    node = _Node(test, boolean=True)
    if keys is not None and len(keys) <= 2:
        node.text_match = (keys, not_found, members, negate)
    return node


# --- ordering --------------------------------------------------------------------------


def _orderable_literal(node: _Node) -> bool:
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
            test = _compare_with_literal(left.fn, right.value, python_compare, js_compare, False)
            return _Node(test, boolean=True)
        if _orderable_literal(left):
            test = _compare_with_literal(right.fn, left.value, python_compare, js_compare, True)
            return _Node(test, boolean=True)
        left_fn, right_fn = left.fn, right.fn
        return _Node(lambda data: js_compare(left_fn(data), right_fn(data)), boolean=True)

    return build


def _compare_with_literal(
    read: Evaluator,
    literal: Any,
    python_compare: Callable[[Any, Any], bool],
    js_compare: Callable[[Any, Any], bool],
    literal_first: bool,
) -> Predicate:
    """`value < literal` (or `literal < value`), by Python's comparison when types allow.

    Two numbers, or two ASCII strings, order the same in Python and in JavaScript.
    """
    if type(literal) is str:
        if literal_first:

            def text_after(data: Any) -> bool:
                value = read(data)
                if type(value) is str and value.isascii():
                    return python_compare(literal, value)
                return js_compare(literal, value)

            return text_after

        def text_before(data: Any) -> bool:
            value = read(data)
            if type(value) is str and value.isascii():
                return python_compare(value, literal)
            return js_compare(value, literal)

        return text_before
    if literal_first:

        def number_after(data: Any) -> bool:
            value = read(data)
            kind = type(value)
            if kind is int or kind is float:
                return python_compare(literal, value)
            return js_compare(literal, value)

        return number_after

    def number_before(data: Any) -> bool:
        value = read(data)
        kind = type(value)
        if kind is int or kind is float:
            return python_compare(value, literal)
        return js_compare(value, literal)

    return number_before


def _between(
    first: _Node,
    middle: _Node,
    last: _Node,
    python_compare: Callable[[Any, Any], bool],
    js_compare: Callable[[Any, Any], bool],
) -> _Node:
    first_fn, middle_fn, last_fn = first.fn, middle.fn, last.fn
    if _orderable_literal(first) and _orderable_literal(last):
        low, high = first.value, last.value
        texts = type(low) is str and type(high) is str
        numbers = type(low) is not str and type(high) is not str

        # {"<=": ["09:00", {"var": "deliveryTime"}, "12:00"]}: a delivery window.
        def within(data: Any) -> bool:
            value = middle_fn(data)
            kind = type(value)
            if (texts and kind is str and value.isascii()) or (
                numbers and (kind is int or kind is float)
            ):
                return python_compare(low, value) and python_compare(value, high)
            return js_compare(low, value) and js_compare(value, high)

        return _Node(within, boolean=True)

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
        if all(type(member) is str for member in members):
            # `in` on an array is `indexOf`, i.e. `===`: only a string equals a string.
            return _text_test(needle, frozenset(members), None, False)
        return _Node(_in_members(needle_fn, members), boolean=True)
    if haystack.constant and type(members) is str and members:
        text = members

        def in_text(data: Any) -> bool:
            value = needle_fn(data)
            if type(value) is str:
                return value in text
            return js_in(value, text)

        return _Node(in_text, boolean=True)
    if needle.constant and type(needle.value) is str:
        word = needle.value

        # {"in": ["vip", {"var": "tags"}]}: a list member, or a substring of a string.
        def contains_word(data: Any) -> bool:
            container = haystack_fn(data)
            kind = type(container)
            if kind is list:
                return word in container  # for a string needle Python's == is JS's ===
            if kind is str:
                return container != "" and word in container
            return False

        return _Node(contains_word, boolean=True)
    return _Node(lambda data: js_in(needle_fn(data), haystack_fn(data)), boolean=True)


def _in_members(read: Evaluator, members: list[Any]) -> Predicate:
    # {"in": [{"var": "weekday"}, [6, 7]]}: strict membership, by the needle's type.
    texts = frozenset(member for member in members if type(member) is str)
    numbers = frozenset(member for member in members if type(member) in (int, float))
    booleans = frozenset(member for member in members if type(member) is bool)
    has_null = None in members

    def is_member(data: Any) -> bool:
        value = read(data)
        kind = type(value)
        if kind is int or kind is float:
            return value in numbers
        if kind is str:
            return value in texts
        if kind is bool:
            return value in booleans
        return value is None and has_null

    return is_member


# --- logic -----------------------------------------------------------------------------


def _is_falsy(value: Any) -> bool:
    return value is False or (value is not True and not truthy(value))


def _cheapest_first(nodes: list[_Node]) -> list[_Node]:
    """Parts of an `and`/`or` in the order to test them.

    When every part yields a boolean, cannot fail and has no side effect, the result is
    the same in any order, so the cheap ones go first (a stable sort keeps the author's
    order among equals). Otherwise the author's order is the semantics.
    """
    if all(node.boolean and node.safe and node.pure for node in nodes):
        return sorted(nodes, key=lambda node: node.cost)
    return nodes


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


def _gated(
    text_match: tuple[tuple[str, ...], Any, frozenset[str], bool],
    fallback: Predicate,
    rest: Predicate,
) -> Predicate:
    """An `and` whose first part is a string test of a top-level key, run inline."""
    (key,), not_found, members, negate = text_match

    # {"and": [{"==": [{"var": "deliveryZone"}, "north"]}, ...]}: most orders stop here.
    def gated(data: Any) -> bool:
        if type(data) is dict:
            value = data.get(key, not_found)
            if type(value) is str:
                return (value in members) is not negate and rest(data)
        return fallback(data) and rest(data)

    return gated


def _build_and(nodes: list[_Node]) -> _Node:
    if nodes and all(node.boolean for node in nodes):
        # Every part yields a bool, so Python's `and` returns the deciding value as well.
        ordered = _cheapest_first(nodes)
        gate = ordered[0].text_match
        if len(ordered) >= 2 and gate is not None and len(gate[0]) == 1:
            rest = _chain_all(tuple(node.fn for node in ordered[1:]))
            return _Node(_gated(gate, ordered[0].fn, rest), boolean=True)
        return _Node(_chain_all(tuple(node.fn for node in ordered)), boolean=True)
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
        fns = tuple(node.fn for node in _cheapest_first(nodes))
        if len(fns) == 1:
            return _Node(fns[0], boolean=True)
        if len(fns) == 2:
            first, second = fns
            return _Node(lambda data: first(data) or second(data), boolean=True)

        def any_true(data: Any) -> bool:
            for fn in fns:  # noqa: SIM110 (a plain loop beats a generator here)
                if fn(data):
                    return True
            return False

        return _Node(any_true, boolean=True)
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
    if operand.boolean:
        return _Node(lambda data: not fn(data), boolean=True)
    return _Node(lambda data: not truthy(fn(data)), boolean=True)


def _build_double_not(nodes: list[_Node]) -> _Node | None:
    operands = _operands(nodes, 1)
    if operands is None:
        return None
    (operand,) = operands
    fn = operand.fn
    if operand.boolean:
        return _Node(fn, boolean=True)
    return _Node(lambda data: truthy(fn(data)), boolean=True)


# --- collections -----------------------------------------------------------------------


def _source(node: _Node) -> Evaluator:
    """Reads the collection; a top-level `var` (say `items`) is read inline."""
    top = _top_key(node)
    if top is None:
        return node.fn
    key, not_found = top
    read = node.fn

    def read_top_key(data: Any) -> Any:
        return data.get(key, not_found) if type(data) is dict else read(data)

    return read_top_key


def _item_test(node: _Node) -> Predicate:
    if node.boolean:
        return node.fn
    fn = node.fn
    return lambda item: truthy(fn(item))


def _some_item_field_in(
    source: Evaluator, test: Predicate, text_match: tuple[Any, Any, frozenset[str], bool]
) -> Predicate:
    """`some` over items testing one field against strings, without a call per item."""
    (key,), not_found, members, negate = text_match

    # {"some": [{"var": "items"}, {"==": [{"var": "productType"}, "wreath"]}]}
    def some_item_field_in(data: Any) -> bool:
        items = source(data)
        if type(items) is not list:
            return False
        for item in items:
            if type(item) is dict:
                value = item.get(key, not_found)
                if type(value) is str:
                    if (value in members) is not negate:
                        return True
                    continue
            if test(item):
                return True
        return False

    return some_item_field_in


def _every_item_field_in(
    source: Evaluator, test: Predicate, text_match: tuple[Any, Any, frozenset[str], bool]
) -> Predicate:
    """`all` over items testing one field against strings, without a call per item."""
    (key,), not_found, members, negate = text_match

    def every_item_field_in(data: Any) -> bool:
        items = source(data)
        if type(items) is not list or not items:
            return False  # all() of an empty array is false in JsonLogic
        for item in items:
            if type(item) is dict:
                value = item.get(key, not_found)
                if type(value) is str:
                    if (value in members) is negate:
                        return False
                    continue
            if not test(item):
                return False
        return True

    return every_item_field_in


def _build_collection(kind: str) -> Builder:
    def build(nodes: list[_Node]) -> _Node:
        source_node, body = _first_two(nodes)
        source = _source(source_node)
        test = _item_test(body)
        one_field = body.text_match if body.text_match and len(body.text_match[0]) == 1 else None
        if kind == "some":
            if one_field is not None:
                return _Node(_some_item_field_in(source, test, one_field), boolean=True)

            def some(data: Any) -> bool:
                items = source(data)
                return type(items) is list and any(map(test, items))

            return _Node(some, boolean=True)
        if kind == "all":
            if one_field is not None:
                return _Node(_every_item_field_in(source, test, one_field), boolean=True)

            def every(data: Any) -> bool:
                items = source(data)  # all() of an empty array is false in JsonLogic
                return type(items) is list and len(items) > 0 and all(map(test, items))

            return _Node(every, boolean=True)
        if kind == "none":
            if one_field is not None:
                any_item = _some_item_field_in(source, test, one_field)
                return _Node(lambda data: not any_item(data), boolean=True)

            def none(data: Any) -> bool:
                items = source(data)
                return type(items) is not list or not any(map(test, items))

            return _Node(none, boolean=True)
        if kind == "filter":

            def keep(data: Any) -> list[Any]:
                items = source(data)
                return [item for item in items if test(item)] if type(items) is list else []

            return _Node(keep)
        transform = body.fn

        def transform_each(data: Any) -> list[Any]:
            items = source(data)
            return [transform(item) for item in items] if type(items) is list else []

        return _Node(transform_each)

    return build


def _build_reduce(nodes: list[_Node]) -> _Node:
    source_node, body = _first_two(nodes)
    initial = nodes[2] if len(nodes) > 2 else _constant(None)
    source, step, initial_fn = _source(source_node), body.fn, initial.fn
    if body.sums_current is not None:
        return _Node(_reduce_sum(source, initial_fn, *body.sums_current))

    def reduce(data: Any) -> Any:
        items = source(data)
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


def _reduce_sum(
    source: Evaluator, initial_fn: Evaluator, keys: tuple[str, ...], accumulator_first: bool
) -> Evaluator:
    """`reduce` adding a field of each item to the accumulator: a plain loop."""
    add = OPERATIONS["+"]
    read_field = _getter(keys, None)

    # {"reduce": [{"var": "items"}, {"+": [{"var": "accumulator"},
    #                                      {"var": "current.quantity"}]}, 0]}
    def reduce_sum(data: Any) -> Any:
        items = source(data)
        accumulator = initial_fn(data)
        if type(items) is not list:
            return accumulator
        for item in items:
            value = read_field(item)
            if (
                type(accumulator) is int
                and type(value) is int
                and -MAX_SAFE_INTEGER <= accumulator <= MAX_SAFE_INTEGER
                and -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER
            ):
                accumulator += value
                if not -MAX_SAFE_INTEGER <= accumulator <= MAX_SAFE_INTEGER:
                    accumulator = float(accumulator)
                continue
            # {"var": "accumulator"} reads an undefined accumulator as null.
            previous = None if accumulator is UNDEFINED else accumulator
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
            and -MAX_SAFE_INTEGER <= first <= MAX_SAFE_INTEGER
            and -MAX_SAFE_INTEGER <= second <= MAX_SAFE_INTEGER
        ):
            total = first + second
            return total if -MAX_SAFE_INTEGER <= total <= MAX_SAFE_INTEGER else float(total)
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
            return _constant(interpret({operator_name: values}, None))
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
    fn = node.fn
    return lambda data: truthy(fn(data))


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
