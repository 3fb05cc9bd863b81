"""A JsonLogic interpreter with the semantics of the reference implementation.

JsonLogic (jsonlogic.com) is defined by its JavaScript implementation, json-logic-js, so
this module reproduces JavaScript's behaviour rather than Python's: loose `==`
(`"1" == 1`), `+` through `parseFloat`, JavaScript truthiness with JsonLogic's one
exception (an empty array is false), strict `===` where arrays and objects compare by
identity, and the reference implementation's quirks (`{"*": ["2"]}` is the string
`"2"`, `substr` with a negative length, `missing_some`, ...). Quirks are reproduced,
not fixed, so a rule previewed with json-logic-js in the web app means the same here.

Values are JSON-shaped Python values: `dict`, `list`, `str`, `int`, `float`, `bool`,
`None`. JavaScript's `undefined` exists only inside an evaluation (as `UNDEFINED`, for
example the value of `{"and": []}`) and comes out of `apply` as `None`, as
`JSON.stringify` would write it. Integers are JavaScript numbers: above 2**53 they are
rounded to the nearest double, as a JavaScript engine would read them.

Nothing here ever executes rule text as code: every operator is a plain function.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable
from typing import Any, Final

__all__ = [
    "MAX_SAFE_INTEGER",
    "MIN_SAFE_INTEGER",
    "OPERATIONS",
    "SCOPED_OPERATIONS",
    "STANDARD_OPERATORS",
    "UNDEFINED",
    "JsonLogicError",
    "apply",
    "apply_raw",
    "export_value",
    "get_property",
    "is_logic",
    "js_in",
    "js_less",
    "js_less_equal",
    "js_loose_equals",
    "js_strict_equals",
    "js_to_number",
    "js_to_string",
    "resolve_var",
    "truthy",
    "unknown_operator",
]

logger = logging.getLogger(__name__)


class JsonLogicError(ValueError):
    """A rule cannot be evaluated: unknown operator, or an operation JavaScript rejects."""


class _Undefined:
    """JavaScript's `undefined`: distinct from `null` (`None`) inside an evaluation."""

    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Final[Any] = _Undefined()

# Integers in this range are exactly representable as doubles, so Python int arithmetic
# on them gives JavaScript's answers; anything larger is handled as a float.
MAX_SAFE_INTEGER: Final = 2**53
MIN_SAFE_INTEGER: Final = -(2**53)
_NAN: Final = math.nan

Operation = Callable[[Any, list[Any]], Any]
"""An operator body: `(data, evaluated arguments) -> value`, like json-logic-js's."""

ScopedOperation = Callable[[list[Any], Any], Any]
"""An operator that evaluates its own arguments: `(raw arguments, data) -> value`."""


# --- JavaScript value semantics -------------------------------------------------------

# ECMAScript StrWhiteSpaceChar: WhiteSpace and LineTerminator (not Python's str.strip set).
_JS_WHITESPACE: Final = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_DECIMAL_LITERAL: Final = re.compile(
    r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII
)
_PARSE_FLOAT_PREFIX: Final = re.compile(
    r"[+-]?(?:Infinity|(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)", re.ASCII
)
_RADIX_LITERAL: Final = re.compile(r"0(?:[xX]([0-9a-fA-F]+)|[oO]([0-7]+)|[bB]([01]+))", re.ASCII)


def normalize_number(value: float) -> int | float:
    """An integral double as a Python int (so results read `3`, not `3.0`); -0 stays a float."""
    if (
        value.is_integer()
        and MIN_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER
        and (value != 0 or math.copysign(1.0, value) > 0)
    ):
        return int(value)
    return value


def _int_result(value: int) -> int | float:
    return value if MIN_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER else float(value)


def _string_to_number(text: str) -> int | float:
    """ECMAScript StringToNumber: `Number("  12 ")` is 12, `Number("")` is 0, `Number("1x")` NaN."""
    text = text.strip(_JS_WHITESPACE)
    if not text:
        return 0
    if _DECIMAL_LITERAL.fullmatch(text):
        return normalize_number(float(text))
    if text in ("Infinity", "+Infinity"):
        return math.inf
    if text == "-Infinity":
        return -math.inf
    radix = _RADIX_LITERAL.fullmatch(text)
    if radix:
        hex_digits, octal_digits, binary_digits = radix.groups()
        if hex_digits is not None:
            return _int_result(int(hex_digits, 16))
        if octal_digits is not None:
            return _int_result(int(octal_digits, 8))
        return _int_result(int(binary_digits, 2))
    return _NAN


def js_to_number(value: Any) -> int | float:
    """ECMAScript ToNumber (`+value`)."""
    kind = type(value)
    if kind is int:
        return _int_result(value)
    if kind is float:
        return value  # type: ignore[no-any-return]
    if kind is bool:
        return 1 if value else 0
    if kind is str:
        return _string_to_number(value)
    if value is None:
        return 0
    if kind is list:
        return _string_to_number(_array_join(value))
    return _NAN  # undefined, objects


def _to_integer_or_infinity(value: Any) -> int | float:
    number = js_to_number(value)
    if number != number:  # NaN
        return 0
    if math.isinf(number):
        return number
    return math.trunc(number)


def _number_to_string(value: int | float) -> str:
    """ECMAScript Number::toString: shortest round-trip digits, JavaScript's layout."""
    if type(value) is int and MIN_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        return str(value)
    number = float(value)
    if number != number:
        return "NaN"
    if number == 0:
        return "0"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    if number < 0:
        return "-" + _number_to_string(-number)
    # Python's repr also yields the shortest round-trip digits; only the layout differs.
    mantissa, _, exponent_text = repr(number).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    point = len(whole) + (int(exponent_text) if exponent_text else 0)
    point -= len(whole + fraction) - len((whole + fraction).lstrip("0"))
    digits = digits.rstrip("0")
    count = len(digits)
    if count <= point <= 21:
        return digits + "0" * (point - count)
    if 0 < point <= 21:
        return digits[:point] + "." + digits[point:]
    if -6 < point <= 0:
        return "0." + "0" * -point + digits
    exponent = point - 1
    sign = "+" if exponent >= 0 else "-"
    head = digits if count == 1 else digits[0] + "." + digits[1:]
    return f"{head}e{sign}{abs(exponent)}"


def _array_join(values: list[Any], separator: str = ",") -> str:
    """Array.prototype.join: null and undefined elements become empty strings."""
    return separator.join(
        "" if item is None or item is UNDEFINED else js_to_string(item) for item in values
    )


def js_to_string(value: Any) -> str:
    """ECMAScript ToString (`String(value)`)."""
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]
    if kind is bool:
        return "true" if value else "false"
    if kind is int or kind is float:
        return _number_to_string(value)
    if value is None:
        return "null"
    if value is UNDEFINED:
        return "undefined"
    if kind is list:
        return _array_join(value)
    return "[object Object]"


def _to_primitive(value: Any) -> Any:
    """ToPrimitive for JSON values: arrays become their join, objects "[object Object]"."""
    kind = type(value)
    if kind is list:
        return _array_join(value)
    if kind is dict:
        return "[object Object]"
    return value


def truthy(value: Any) -> bool:
    """JsonLogic truthiness: JavaScript's, except that an empty array is false."""
    if value is True:
        return True
    if value is False:
        return False
    kind = type(value)
    if kind is str or kind is int or kind is list:
        return bool(value)
    if kind is float:
        return not (value == 0 or value != value)  # 0, -0 and NaN are falsy
    return not (value is None or value is UNDEFINED)  # objects are true, even empty ones


def _utf16_less(left: str, right: str) -> bool:
    """JavaScript orders strings by UTF-16 code units, not by code points."""
    if left.isascii() and right.isascii():
        return left < right
    return left.encode("utf-16-be", "surrogatepass") < right.encode("utf-16-be", "surrogatepass")


def js_less(left: Any, right: Any) -> bool:
    """`left < right` in JavaScript: strings compare as strings, anything else as numbers."""
    left = _to_primitive(left)
    right = _to_primitive(right)
    if type(left) is str and type(right) is str:
        return _utf16_less(left, right)
    return js_to_number(left) < js_to_number(right)


def js_less_equal(left: Any, right: Any) -> bool:
    """`left <= right` in JavaScript, which is not `!(right < left)` when NaN is involved."""
    left = _to_primitive(left)
    right = _to_primitive(right)
    if type(left) is str and type(right) is str:
        return not _utf16_less(right, left)
    return js_to_number(left) <= js_to_number(right)


def _is_number(value: Any) -> bool:
    kind = type(value)
    return kind is int or kind is float


def js_strict_equals(left: Any, right: Any) -> bool:
    """`left === right`: same type and value; arrays and objects only equal themselves."""
    left_kind = type(left)
    right_kind = type(right)
    if _is_number(left) and _is_number(right):
        return js_to_number(left) == js_to_number(right)
    if left_kind is not right_kind:
        return False
    if left_kind is list or left_kind is dict:
        return left is right
    return bool(left == right)


def js_loose_equals(left: Any, right: Any) -> bool:
    """`left == right`: ECMAScript's Abstract Equality Comparison for JSON values."""
    while True:
        left_kind = type(left)
        right_kind = type(right)
        if left_kind is right_kind or (_is_number(left) and _is_number(right)):
            return js_strict_equals(left, right)
        left_nullish = left is None or left is UNDEFINED
        right_nullish = right is None or right is UNDEFINED
        if left_nullish or right_nullish:
            return left_nullish and right_nullish
        if left_kind is bool:
            left = 1 if left else 0
        elif right_kind is bool:
            right = 1 if right else 0
        elif _is_number(left) and right_kind is str:
            return js_to_number(left) == _string_to_number(right)
        elif left_kind is str and _is_number(right):
            return _string_to_number(left) == js_to_number(right)
        elif left_kind is list or left_kind is dict:
            if not (right_kind is str or _is_number(right)):
                return False
            left = _to_primitive(left)
        elif right_kind is list or right_kind is dict:
            if not (left_kind is str or _is_number(left)):
                return False
            right = _to_primitive(right)
        else:
            return False


def _parse_float(value: Any) -> int | float:
    """JavaScript's parseFloat: the longest numeric prefix of String(value), else NaN."""
    kind = type(value)
    if kind is int:
        return _int_result(value)
    if kind is float:
        return 0 if value == 0 else value  # parseFloat(-0) is 0: "-0" has no sign left
    text = js_to_string(value).lstrip(_JS_WHITESPACE)
    match = _PARSE_FLOAT_PREFIX.match(text)
    if match is None:
        return _NAN
    literal = match.group()
    if literal.endswith("Infinity"):
        return -math.inf if literal.startswith("-") else math.inf
    return normalize_number(float(literal))


def js_add_numbers(left: int | float, right: int | float) -> int | float:
    if type(left) is int and type(right) is int:
        return _int_result(left + right)
    return normalize_number(float(left) + float(right))


def _subtract(left: int | float, right: int | float) -> int | float:
    if type(left) is int and type(right) is int:
        return _int_result(left - right)
    return normalize_number(float(left) - float(right))


def _multiply(left: int | float, right: int | float) -> int | float:
    if type(left) is int and type(right) is int:
        product = left * right
        if product == 0 and (left < 0 or right < 0):
            return -0.0
        return _int_result(product)
    return normalize_number(float(left) * float(right))


def _divide(left: int | float, right: int | float) -> int | float:
    if right == 0:
        if left == 0 or left != left:
            return _NAN
        sign = math.copysign(1.0, float(left)) * math.copysign(1.0, float(right))
        return math.copysign(math.inf, sign)
    return normalize_number(float(left) / float(right))


def _remainder(left: int | float, right: int | float) -> int | float:
    if right == 0 or math.isinf(left) or left != left or right != right:
        return _NAN
    if math.isinf(right):
        return left
    return normalize_number(math.fmod(float(left), float(right)))


def _js_plus(left: Any, right: Any) -> Any:
    """JavaScript's binary `+`: concatenation when either side is (or becomes) a string."""
    left = _to_primitive(left)
    right = _to_primitive(right)
    if type(left) is str or type(right) is str:
        return js_to_string(left) + js_to_string(right)
    return js_add_numbers(js_to_number(left), js_to_number(right))


def _utf16_units(text: str) -> int:
    if text.isascii() or max(text) <= "\uffff":
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _utf16_slice(text: str, start: int, end: int) -> str:
    if text.isascii() or max(text) <= "\uffff":
        return text[start:end]
    encoded = text.encode("utf-16-le", "surrogatepass")
    return encoded[2 * start : 2 * end].decode("utf-16-le", "surrogatepass")


def _js_substr(text: str, start: Any, length: Any) -> str:
    """String.prototype.substr (Annex B), counting UTF-16 code units as JavaScript does."""
    size = _utf16_units(text)
    first = _to_integer_or_infinity(start)
    if first == -math.inf:
        first = 0
    elif first < 0:
        first = max(size + first, 0)
    else:
        first = min(first, size)
    count = size if length is UNDEFINED else _to_integer_or_infinity(length)
    count = min(max(count, 0), size)
    last = min(first + count, size)
    if first >= last:
        return ""
    return _utf16_slice(text, int(first), int(last))


def get_property(container: Any, key: str) -> Any:
    """`container[key]` for JSON values; UNDEFINED when there is no such own property."""
    kind = type(container)
    if kind is dict:
        return container.get(key, UNDEFINED)
    if kind is list or kind is str:
        if key.isdigit() and key.isascii() and (key == "0" or key[0] != "0"):
            index = int(key)
            if kind is str:
                return _utf16_slice(container, index, index + 1) or UNDEFINED
            return container[index] if index < len(container) else UNDEFINED
        if key == "length":
            return _utf16_units(container) if kind is str else len(container)
    return UNDEFINED


def _arg(args: list[Any], index: int) -> Any:
    return args[index] if index < len(args) else UNDEFINED


def resolve_var(data: Any, path: Any, default: Any = UNDEFINED) -> Any:
    """The `var` operator: a dotted path into `data`, `null` (or `default`) when absent."""
    not_found = None if default is UNDEFINED else default
    if path is UNDEFINED or path is None or (type(path) is str and path == ""):
        return data
    for key in js_to_string(path).split("."):
        if data is None or data is UNDEFINED:
            return not_found
        data = get_property(data, key)
        if data is UNDEFINED:
            return not_found
    return data


def export_value(value: Any) -> Any:
    """JSON view of a result: `undefined` becomes `None`, as `JSON.stringify` writes it."""
    if value is UNDEFINED:
        return None
    if type(value) is list:
        return [export_value(item) for item in value]
    return value


# --- operators that take evaluated arguments -----------------------------------------


def _op_var(data: Any, args: list[Any]) -> Any:
    return resolve_var(data, _arg(args, 0), _arg(args, 1))


def _op_missing(data: Any, args: list[Any]) -> list[Any]:
    # One array argument is the list of keys (typically from `merge`/`if`), else each arg.
    keys = args[0] if args and type(args[0]) is list else args
    missing = []
    for key in keys:
        # The reference implementation re-applies {"var": key}, so a key is logic too.
        value = _apply({"var": key}, data)
        if value is None or (type(value) is str and value == ""):
            missing.append(key)
    return missing


def _js_length(value: Any) -> Any:
    kind = type(value)
    if kind is list:
        return len(value)
    if kind is str:
        return _utf16_units(value)
    if value is None or value is UNDEFINED:
        raise JsonLogicError("missing_some needs an array of keys as its second argument")
    return UNDEFINED


def _op_missing_some(data: Any, args: list[Any]) -> list[Any]:
    need_count = _arg(args, 0)
    options = _arg(args, 1)
    are_missing = _apply({"missing": options}, data)
    length = _js_length(options)
    present = _subtract(js_to_number(length), len(are_missing))
    if js_less_equal(need_count, present):
        return []
    return are_missing  # type: ignore[no-any-return]


def _op_equals(data: Any, args: list[Any]) -> bool:
    return js_loose_equals(_arg(args, 0), _arg(args, 1))


def _op_strict_equals(data: Any, args: list[Any]) -> bool:
    return js_strict_equals(_arg(args, 0), _arg(args, 1))


def _op_not_equals(data: Any, args: list[Any]) -> bool:
    return not js_loose_equals(_arg(args, 0), _arg(args, 1))


def _op_strict_not_equals(data: Any, args: list[Any]) -> bool:
    return not js_strict_equals(_arg(args, 0), _arg(args, 1))


def _op_greater(data: Any, args: list[Any]) -> bool:
    return js_less(_arg(args, 1), _arg(args, 0))


def _op_greater_equal(data: Any, args: list[Any]) -> bool:
    return js_less_equal(_arg(args, 1), _arg(args, 0))


def _op_less(data: Any, args: list[Any]) -> bool:
    first, second, third = _arg(args, 0), _arg(args, 1), _arg(args, 2)
    if third is UNDEFINED:
        return js_less(first, second)
    return js_less(first, second) and js_less(second, third)  # "between", exclusive


def _op_less_equal(data: Any, args: list[Any]) -> bool:
    first, second, third = _arg(args, 0), _arg(args, 1), _arg(args, 2)
    if third is UNDEFINED:
        return js_less_equal(first, second)
    return js_less_equal(first, second) and js_less_equal(second, third)


def _op_double_not(data: Any, args: list[Any]) -> bool:
    return truthy(_arg(args, 0))


def _op_not(data: Any, args: list[Any]) -> bool:
    return not truthy(_arg(args, 0))


def _op_remainder(data: Any, args: list[Any]) -> int | float:
    return _remainder(js_to_number(_arg(args, 0)), js_to_number(_arg(args, 1)))


def _op_log(data: Any, args: list[Any]) -> Any:
    value = _arg(args, 0)
    logger.info("jsonlogic log: %r", export_value(value))
    return value


def js_in(needle: Any, haystack: Any) -> bool:
    """The `in` operator: substring of a string, or strict (`===`) member of an array."""
    kind = type(haystack)
    if kind is list:
        if type(needle) is str or needle is None:
            return needle in haystack  # Python's == is already strict for these
        return any(js_strict_equals(item, needle) for item in haystack)
    if kind is str:
        return haystack != "" and js_to_string(needle) in haystack
    return False  # numbers, objects, null: no indexOf


def _op_in(data: Any, args: list[Any]) -> bool:
    return js_in(_arg(args, 0), _arg(args, 1))


def _op_cat(data: Any, args: list[Any]) -> str:
    return _array_join(args, "")


def _op_substr(data: Any, args: list[Any]) -> str:
    source, start, length = _arg(args, 0), _arg(args, 1), _arg(args, 2)
    if js_less(length, 0):
        # A negative length drops that many characters from the end (PHP's behaviour).
        rest = _js_substr(js_to_string(source), start, UNDEFINED)
        return _js_substr(rest, 0, _js_plus(_utf16_units(rest), length))
    return _js_substr(js_to_string(source), start, length)


def _op_add(data: Any, args: list[Any]) -> int | float:
    total: int | float = 0
    for value in args:
        total = js_add_numbers(_parse_float(total), _parse_float(value))
    return total


def _op_multiply(data: Any, args: list[Any]) -> Any:
    if not args:
        raise JsonLogicError("'*' needs at least one argument")
    # Array.reduce without a seed: a single argument comes back as it is, unparsed.
    product = args[0]
    for value in args[1:]:
        product = _multiply(_parse_float(product), _parse_float(value))
    return product


def _op_subtract(data: Any, args: list[Any]) -> int | float:
    first, second = _arg(args, 0), _arg(args, 1)
    if second is UNDEFINED:
        number = js_to_number(first)
        return -float(number) if number == 0 else -number  # -(0) is -0 in JavaScript
    return _subtract(js_to_number(first), js_to_number(second))


def _op_divide(data: Any, args: list[Any]) -> int | float:
    return _divide(js_to_number(_arg(args, 0)), js_to_number(_arg(args, 1)))


def _op_min(data: Any, args: list[Any]) -> int | float:
    numbers = [js_to_number(value) for value in args]
    if not numbers:
        return math.inf
    if any(number != number for number in numbers):
        return _NAN
    smallest = min(numbers)
    if smallest == 0 and any(math.copysign(1.0, number) < 0 for number in numbers if number == 0):
        return -0.0
    return smallest


def _op_max(data: Any, args: list[Any]) -> int | float:
    numbers = [js_to_number(value) for value in args]
    if not numbers:
        return -math.inf
    if any(number != number for number in numbers):
        return _NAN
    largest = max(numbers)
    if largest == 0 and any(math.copysign(1.0, number) > 0 for number in numbers if number == 0):
        return 0
    return largest


def _op_merge(data: Any, args: list[Any]) -> list[Any]:
    merged: list[Any] = []
    for value in args:
        if type(value) is list:
            merged.extend(value)
        else:
            merged.append(value)
    return merged


OPERATIONS: Final[dict[str, Operation]] = {
    "==": _op_equals,
    "===": _op_strict_equals,
    "!=": _op_not_equals,
    "!==": _op_strict_not_equals,
    ">": _op_greater,
    ">=": _op_greater_equal,
    "<": _op_less,
    "<=": _op_less_equal,
    "!!": _op_double_not,
    "!": _op_not,
    "%": _op_remainder,
    "log": _op_log,
    "in": _op_in,
    "cat": _op_cat,
    "substr": _op_substr,
    "+": _op_add,
    "*": _op_multiply,
    "-": _op_subtract,
    "/": _op_divide,
    "min": _op_min,
    "max": _op_max,
    "merge": _op_merge,
    "var": _op_var,
    "missing": _op_missing,
    "missing_some": _op_missing_some,
}


# --- operators that control the evaluation of their own arguments --------------------


def _scoped_if(values: list[Any], data: Any) -> Any:
    # Pairs of (condition, consequent), then an optional else; no branch matched: null.
    index = 0
    while index < len(values) - 1:
        if truthy(_apply(values[index], data)):
            return _apply(values[index + 1], data)
        index += 2
    if len(values) == index + 1:
        return _apply(values[index], data)
    return None


def _scoped_and(values: list[Any], data: Any) -> Any:
    current = UNDEFINED
    for value in values:
        current = _apply(value, data)
        if not truthy(current):
            return current
    return current


def _scoped_or(values: list[Any], data: Any) -> Any:
    current = UNDEFINED
    for value in values:
        current = _apply(value, data)
        if truthy(current):
            return current
    return current


def _scoped_filter(values: list[Any], data: Any) -> list[Any]:
    items = _apply(_arg(values, 0), data)
    logic = _arg(values, 1)
    if type(items) is not list:
        return []
    return [item for item in items if truthy(_apply(logic, item))]


def _scoped_map(values: list[Any], data: Any) -> list[Any]:
    items = _apply(_arg(values, 0), data)
    logic = _arg(values, 1)
    if type(items) is not list:
        return []
    return [_apply(logic, item) for item in items]


def _scoped_reduce(values: list[Any], data: Any) -> Any:
    items = _apply(_arg(values, 0), data)
    logic = _arg(values, 1)
    initial = _apply(values[2], data) if len(values) > 2 else None
    if type(items) is not list:
        return initial
    accumulator = initial
    for item in items:
        accumulator = _apply(logic, {"current": item, "accumulator": accumulator})
    return accumulator


def _scoped_all(values: list[Any], data: Any) -> bool:
    items = _apply(_arg(values, 0), data)
    logic = _arg(values, 1)
    if type(items) is not list or not items:
        return False  # all() of an empty set is false in JsonLogic
    return all(truthy(_apply(logic, item)) for item in items)


def _scoped_none(values: list[Any], data: Any) -> bool:
    items = _apply(_arg(values, 0), data)
    logic = _arg(values, 1)
    if type(items) is not list or not items:
        return True
    return not any(truthy(_apply(logic, item)) for item in items)


def _scoped_some(values: list[Any], data: Any) -> bool:
    items = _apply(_arg(values, 0), data)
    logic = _arg(values, 1)
    if type(items) is not list or not items:
        return False
    return any(truthy(_apply(logic, item)) for item in items)


SCOPED_OPERATIONS: Final[dict[str, ScopedOperation]] = {
    "if": _scoped_if,
    "?:": _scoped_if,
    "and": _scoped_and,
    "or": _scoped_or,
    "filter": _scoped_filter,
    "map": _scoped_map,
    "reduce": _scoped_reduce,
    "all": _scoped_all,
    "none": _scoped_none,
    "some": _scoped_some,
}

STANDARD_OPERATORS: Final[frozenset[str]] = frozenset(OPERATIONS) | frozenset(SCOPED_OPERATIONS)
"""Every operator json-logic-js knows out of the box."""


def is_logic(value: Any) -> bool:
    """An operation is an object with exactly one key; any other object is a literal."""
    return type(value) is dict and len(value) == 1


def unknown_operator(operator: str) -> JsonLogicError:
    return JsonLogicError(f"Unrecognized operation {operator!r}")


def _apply(logic: Any, data: Any) -> Any:
    kind = type(logic)
    if kind is list:
        return [_apply(item, data) for item in logic]
    if kind is not dict or len(logic) != 1:
        return logic  # a literal
    ((operator, values),) = logic.items()
    if type(values) is not list:
        values = [values]  # {"var": "x"} is short for {"var": ["x"]}
    scoped = SCOPED_OPERATIONS.get(operator)
    if scoped is not None:
        return scoped(values, data)
    args = [_apply(value, data) for value in values]
    operation = OPERATIONS.get(operator)
    if operation is None:
        raise unknown_operator(operator)
    return operation(data, args)


def apply_raw(logic: Any, data: Any = None) -> Any:
    """`apply` without the JSON view: JavaScript's `undefined` stays `UNDEFINED`."""
    return _apply(logic, data)


def apply(logic: Any, data: Any = None) -> Any:
    """Evaluate a JsonLogic rule against `data`, as json-logic-js's `jsonLogic.apply` does.

    Raises `JsonLogicError` for an unknown operator, an operation that would throw in
    JavaScript, or a rule nested too deeply to evaluate.
    """
    try:
        return export_value(_apply(logic, data))
    except RecursionError as error:
        raise JsonLogicError("rule is nested too deeply to evaluate") from error
