"""JsonLogic evaluation speed: our compiler and rule index against other engines.

Generates realistic routing rules (zones, product types via `some`, totals, customer
segments, delivery windows; 2-6 conditions each) and order contexts from a fixed seed,
checks that every engine finds the same matches, then times each one side by side:

- compiled:  `compile_predicate` on every rule, all rules for every order (no index)
- indexed:   `CompiledRuleSet.evaluate` (zone index; same matches, less work)
- apply:     our `jsonlogic.apply` interpreter
- panzi:     PyPI `panzi-json-logic` (module `json_logic`)
- js:        json-logic-js under node (`bench/node`), timed inside node

Speed is evaluations per second: rules x orders / best time of N rounds. A second
scenario, a shop with 1,000 rules, shows how much work the zone index saves.

    .venv/bin/python bench/jsonlogic_bench.py [--orders 1000] [--rules 100] [--repeat 5]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bloomer_ai.routing.engine.compiler import compile_predicate, compile_rule_list
from bloomer_ai.routing.engine.jsonlogic import apply, truthy
from bloomer_ai.routing.engine.rule_index import CompiledRuleSet, RuleSpec

NODE_DIR = Path(__file__).resolve().parent / "node"
COMPILED_LIST = "compiled rule list (all rules)"
COMPILED_EACH = "compiled, a predicate per rule"
CYCLES = 3
ZONES = [
    "north", "south", "east", "west", "centre", "harbour", "old-town", "uptown",
    "riverside", "airport", "university", "hills",
]  # fmt: skip
PRODUCT_TYPES = ["bouquet", "plant", "wreath", "arrangement", "gift-box", "balloon", "vase"]
SEGMENTS = ["new", "regular", "vip", "corporate", "lapsed"]
SOURCES = ["web", "voice", "pos", "marketplace"]
TAGS = ["same-day", "funeral", "wedding", "fragile", "gift", "corporate"]
FIRST_DELIVERY = date(2026, 12, 1)


# --- workload -------------------------------------------------------------------------


def _window(rng: random.Random) -> dict[str, Any]:
    start = rng.choice([8, 9, 10, 12, 14, 16])
    end = start + rng.choice([2, 3, 4])
    return {"<=": [f"{start:02d}:00", {"var": "deliveryTime"}, f"{end:02d}:00"]}


CONDITIONS: list[Callable[[random.Random], dict[str, Any]]] = [
    lambda rng: {
        "some": [{"var": "items"}, {"==": [{"var": "productType"}, rng.choice(PRODUCT_TYPES)]}]
    },
    lambda rng: {
        "some": [
            {"var": "items"},
            {"in": [{"var": "productType"}, rng.sample(PRODUCT_TYPES, 2)]},
        ]
    },
    lambda rng: {">=": [{"var": "total"}, rng.choice([2000, 5000, 10000, 20000])]},
    lambda rng: {"<": [{"var": "total"}, rng.choice([3000, 6000, 15000])]},
    lambda rng: {"==": [{"var": "customer.segment"}, rng.choice(SEGMENTS)]},
    lambda rng: {"in": [{"var": "customer.segment"}, rng.sample(SEGMENTS, 2)]},
    lambda rng: {"==": [{"var": "customer.isNew"}, True]},
    lambda rng: {"!": {"var": "customer.isNew"}},
    lambda rng: {">=": [{"var": "customer.orderCount"}, rng.choice([3, 5, 10])]},
    _window,
    lambda rng: {"in": [{"var": "weekday"}, [6, 7]]},
    lambda rng: {">=": [{"var": "hour"}, rng.choice([12, 15, 17])]},
    lambda rng: {"in": [rng.choice(TAGS), {"var": "tags"}]},
    lambda rng: {"==": [{"var": "source"}, rng.choice(SOURCES)]},
    lambda rng: {"some": [{"var": "items"}, {">=": [{"var": "quantity"}, 10]}]},
    lambda rng: {
        ">": [
            {
                "reduce": [
                    {"var": "items"},
                    {"+": [{"var": "accumulator"}, {"var": "current.quantity"}]},
                    0,
                ]
            },
            rng.choice([4, 6, 10]),
        ]
    },
    lambda rng: {
        "or": [
            {"==": [{"var": "customer.segment"}, "vip"]},
            {">=": [{"var": "total"}, 20000]},
        ]
    },
    lambda rng: {">=": [{"var": "deliveryDate"}, f"2026-12-{rng.randint(10, 24)}"]},
    lambda rng: {"all": [{"var": "items"}, {"!=": [{"var": "productType"}, "plant"]}]},
]


def make_conditions(rng: random.Random, zones: list[str]) -> dict[str, Any]:
    """An `and` of 2-6 conditions; most rules pin a zone, as shops route by area."""
    count = rng.randint(2, 6)
    conditions: list[dict[str, Any]] = []
    if rng.random() < 0.8:
        if rng.random() < 0.7:
            conditions.append({"==": [{"var": "deliveryZone"}, rng.choice(zones)]})
        else:
            conditions.append({"in": [{"var": "deliveryZone"}, rng.sample(zones, 2)]})
    for make in rng.sample(CONDITIONS, count - len(conditions)):
        conditions.append(make(rng))
    if rng.random() < 0.2:
        rng.shuffle(conditions)  # not every author puts the zone first
    return {"and": conditions}


def make_order(rng: random.Random, zones: list[str]) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    total = 590  # delivery fee
    for _ in range(rng.randint(1, 4)):
        product_type = rng.choice(PRODUCT_TYPES)
        quantity = rng.choice([1, 1, 1, 2, 3, 12])
        unit_price = rng.choice([990, 2490, 3990, 5990, 8900])
        total += quantity * unit_price
        items.append(
            {
                "productType": product_type,
                "sku": f"{product_type[:3].upper()}-{rng.randint(1, 99):02d}",
                "quantity": quantity,
                "unitPrice": unit_price,
                "name": f"{product_type.title()} {rng.randint(1, 20)}",
            }
        )
    delivery = FIRST_DELIVERY + timedelta(days=rng.randint(0, 40))
    hour = rng.randint(8, 19)
    order_count = rng.choice([0, 0, 1, 2, 4, 7, 12, 30])
    return {
        "deliveryZone": rng.choice(zones),
        "deliveryDate": delivery.isoformat(),
        "deliveryTime": f"{hour:02d}:{rng.choice([0, 15, 30, 45]):02d}",
        "total": total,
        "currency": "EUR",
        "source": rng.choice(SOURCES),
        "items": items,
        "customer": {
            "segment": "new" if order_count == 0 else rng.choice(SEGMENTS[1:]),
            "orderCount": order_count,
            "isNew": order_count == 0,
        },
        "tags": rng.sample(TAGS, rng.randint(0, 2)),
        "weekday": delivery.isoweekday(),
        "hour": hour,
    }


def make_rules(rng: random.Random, count: int, zones: list[str]) -> list[RuleSpec]:
    created = datetime(2026, 11, 1, tzinfo=UTC)
    return [
        RuleSpec(
            id=f"rule-{index:04d}",
            priority=rng.randint(1, 100),
            created_at=created + timedelta(minutes=index),
            conditions=make_conditions(rng, zones),
            action={"type": "assign", "target": {"kind": "team", "id": f"team-{index % 7}"}},
        )
        for index in range(count)
    ]


# --- timing ---------------------------------------------------------------------------


def best_seconds(run: Callable[[], object], repeat: int) -> float:
    return interleaved_best_seconds({"run": run}, repeat)["run"]


def interleaved_best_seconds(
    rounds: dict[str, Callable[[], object]], repeat: int
) -> dict[str, float]:
    """Best time of `repeat` rounds of each; rounds alternate between the engines so that
    a busy moment on the machine slows them all alike rather than one of them."""
    for run in rounds.values():
        run()  # warm-up
    best = dict.fromkeys(rounds, float("inf"))
    for _ in range(repeat):
        for name, run in rounds.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def matches_per_rule(
    test: Callable[[Any, dict[str, Any]], bool], rules: list[Any], orders: list[Any]
) -> list[int]:
    return [sum(1 for order in orders if test(rule, order)) for rule in rules]


def ensure_node_modules() -> str | None:
    """Installs json-logic-js for the node side; returns why it cannot run, if it can't."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (NODE_DIR / "node_modules" / "json-logic-js").is_dir():
        if shutil.which("npm") is None:
            return "npm is not installed"
        result = subprocess.run(
            ["npm", "install", "--no-package-lock", "--silent"],
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            return f"npm install failed: {result.stderr.strip()[:200]}"
    return None


def run_node(conditions: list[Any], orders: list[Any], repeat: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        workload = Path(folder) / "workload.json"
        workload.write_text(json.dumps({"rules": conditions, "orders": orders, "repeat": repeat}))
        result = subprocess.run(
            ["node", str(NODE_DIR / "jsonlogic_bench.mjs"), str(workload)],
            capture_output=True,
            text=True,
            check=True,
        )
    output: dict[str, Any] = json.loads(result.stdout)
    return output


# --- scenarios ------------------------------------------------------------------------


def engines_scenario(rule_count: int, order_count: int, repeat: int, seed: int) -> bool:
    import json_logic  # panzi-json-logic

    rng = random.Random(seed)
    rules = make_rules(rng, rule_count, ZONES)
    orders = [make_order(rng, ZONES) for _ in range(order_count)]
    conditions = [rule.conditions for rule in rules]
    predicates = [compile_predicate(logic) for logic in conditions]
    rule_list = compile_rule_list(conditions)
    rule_set = CompiledRuleSet(rules)
    # The slow engines are timed on a slice of the orders (the rate is per evaluation),
    # so that a round of each engine takes about as long.
    slow_orders = orders[: max(1, order_count // 10)]

    print(f"workload: {rule_count} rules x {order_count} orders (seed {seed})")
    reference = matches_per_rule(
        lambda logic, order: truthy(apply(logic, order)), conditions, orders
    )
    by_engine: dict[str, list[int]] = {
        "compiled": [sum(1 for order in orders if predicate(order)) for predicate in predicates],
        "panzi": matches_per_rule(
            lambda logic, order: truthy(json_logic.jsonLogic(logic, order)), conditions, orders
        ),
    }
    list_counts = [0] * rule_count
    for order in orders:
        for index in rule_list(order):
            list_counts[index] += 1
    by_engine["rule list"] = list_counts
    indexed_counts = dict.fromkeys((rule.id for rule in rules), 0)
    for order in orders:
        for rule_id in rule_set.evaluate(order).matched_rule_ids:
            indexed_counts[rule_id] += 1
    by_engine["indexed"] = [indexed_counts[rule.id] for rule in rules]

    node_problem = ensure_node_modules()
    node_result: dict[str, Any] | None = None
    if node_problem is None:
        node_result = run_node(conditions, orders, repeat)
        by_engine["js"] = node_result["matchesPerRule"]
    disagreeing = [name for name, counts in by_engine.items() if counts != reference]
    print(
        f"matches: {sum(reference)} of {rule_count * order_count} evaluations; "
        f"engines agree: {'NO: ' + ', '.join(disagreeing) if disagreeing else 'yes'}"
    )
    if disagreeing:
        return False

    def compiled_round() -> int:
        matched = 0
        for order in orders:
            for predicate in predicates:
                if predicate(order):
                    matched += 1
        return matched

    def rule_list_round() -> int:
        return sum(len(rule_list(order)) for order in orders)

    def indexed_round() -> int:
        return sum(len(rule_set.evaluate(order).matched_rule_ids) for order in orders)

    def apply_round() -> int:
        return sum(
            1 for order in slow_orders for logic in conditions if truthy(apply(logic, order))
        )

    def panzi_round() -> int:
        return sum(
            1
            for order in slow_orders
            for logic in conditions
            if truthy(json_logic.jsonLogic(logic, order))
        )

    full = rule_count * order_count
    slow = rule_count * len(slow_orders)
    per_cycle = max(1, -(-repeat // CYCLES))
    panzi_name = f"panzi-json-logic {importlib.metadata.version('panzi-json-logic')}"
    python_rounds: dict[str, Callable[[], object]] = {
        COMPILED_LIST: rule_list_round,
        COMPILED_EACH: compiled_round,
        "indexed rule set": indexed_round,
        "apply (our interpreter)": apply_round,
        panzi_name: panzi_round,
    }
    # Python and node take turns, a few rounds at a time, so that a busy moment on the
    # machine cannot favour one side; each engine keeps its best round.
    seconds = dict.fromkeys(python_rounds, float("inf"))
    node_seconds = node_result["bestSeconds"] if node_result is not None else float("inf")
    for _ in range(CYCLES):
        for name, best in interleaved_best_seconds(python_rounds, per_cycle).items():
            seconds[name] = min(seconds[name], best)
        if node_result is not None:
            node_seconds = min(node_seconds, run_node(conditions, orders, per_cycle)["bestSeconds"])
    rates = {
        name: (slow if name in ("apply (our interpreter)", panzi_name) else full) / best
        for name, best in seconds.items()
    }
    js_rate = None
    if node_result is not None:
        node_version = subprocess.run(
            ["node", "--version"], capture_output=True, text=True, check=True
        ).stdout.strip()
        js_rate = node_result["evaluations"] / node_seconds
        rates[f"json-logic-js {node_result['version']} (node {node_version})"] = js_rate
    else:
        print(f"json-logic-js skipped: {node_problem}")
    panzi_rate = next(rate for name, rate in rates.items() if name.startswith("panzi"))

    print()
    print(f"{'engine':<40} {'evaluations/s':>14} {'x panzi':>9} {'x js':>8}")
    for name, rate in rates.items():
        versus_js = f"{rate / js_rate:8.2f}" if js_rate else f"{'-':>8}"
        print(f"{name:<40} {rate:>14,.0f} {rate / panzi_rate:>9.1f} {versus_js}")
    compiled_rate = rates[COMPILED_LIST]
    print()
    print(f"target compiled >= 25x panzi: {compiled_rate / panzi_rate:.1f}x")
    if js_rate:
        print(f"target compiled >= 3x json-logic-js: {compiled_rate / js_rate:.2f}x")
    return True


def shop_scenario(rule_count: int, order_count: int, repeat: int, seed: int) -> bool:
    """A large shop: many zones, many rules; what the zone index saves per order."""
    rng = random.Random(seed + 1)
    zones = [f"zone-{index:02d}" for index in range(40)]
    rules = make_rules(rng, rule_count, zones)
    orders = [make_order(rng, zones) for _ in range(order_count)]
    rule_set = CompiledRuleSet(rules)
    indexed = [rule_set.evaluate(order) for order in orders]
    unindexed = [rule_set.evaluate(order, use_index=False) for order in orders]
    same = all(
        (a.matched_rule_ids, a.suggested_route, a.evaluated_rules)
        == (b.matched_rule_ids, b.suggested_route, b.evaluated_rules)
        for a, b in zip(indexed, unindexed, strict=True)
    )
    ran_indexed = sum(result.conditions_evaluated for result in indexed) / order_count
    ran_all = sum(result.conditions_evaluated for result in unindexed) / order_count
    seconds_indexed = best_seconds(lambda: [rule_set.evaluate(o) for o in orders], repeat)
    seconds_all = best_seconds(
        lambda: [rule_set.evaluate(o, use_index=False) for o in orders], repeat
    )
    print()
    print(
        f"shop scenario: {rule_count} rules over {len(zones)} zones, {order_count} orders; "
        f"{len(rule_set.indexed_zones)} zones indexed; same results: {'yes' if same else 'NO'}"
    )
    print(f"{'':<12} {'rules run/order':>16} {'orders/s':>10} {'µs/order':>10}")
    for name, ran, seconds in (
        ("unindexed", ran_all, seconds_all),
        ("indexed", ran_indexed, seconds_indexed),
    ):
        print(
            f"{name:<12} {ran:>16.1f} {order_count / seconds:>10,.0f} "
            f"{seconds / order_count * 1e6:>10.1f}"
        )
    print(f"index speed-up: {seconds_all / seconds_indexed:.1f}x")
    return same


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=100)
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--shop-rules", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--seed", type=int, default=20261201)
    args = parser.parse_args()
    started = time.perf_counter()
    ok = engines_scenario(args.rules, args.orders, args.repeat, args.seed)
    ok = shop_scenario(args.shop_rules, args.orders, args.repeat, args.seed) and ok
    print(f"\nbench finished in {time.perf_counter() - started:.1f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
