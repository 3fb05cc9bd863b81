// Times json-logic-js on the rules and orders written by bench/jsonlogic_bench.py.
//
// usage: node jsonlogic_bench.mjs WORKLOAD.json
// WORKLOAD.json: {"rules": [conditions, ...], "orders": [context, ...], "repeat": N}
// Prints JSON: {"version", "matchesPerRule", "bestSeconds", "evaluations"}; timing is
// done here with process.hrtime so that starting node is not counted.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const jsonLogic = require("json-logic-js");
const { version } = require("json-logic-js/package.json");

const workload = JSON.parse(readFileSync(process.argv[2], "utf8"));
const { rules, orders } = workload;
const repeat = workload.repeat ?? 5;

function matchesPerRule() {
  const counts = new Array(rules.length).fill(0);
  for (const order of orders) {
    for (let index = 0; index < rules.length; index += 1) {
      if (jsonLogic.truthy(jsonLogic.apply(rules[index], order))) counts[index] += 1;
    }
  }
  return counts;
}

function evaluateAll() {
  let matches = 0;
  for (const order of orders) {
    for (const rule of rules) {
      if (jsonLogic.truthy(jsonLogic.apply(rule, order))) matches += 1;
    }
  }
  return matches;
}

const counts = matchesPerRule();
evaluateAll(); // warm-up: let V8 optimise before timing, as a long-lived server would
let best = Infinity;
for (let round = 0; round < repeat; round += 1) {
  const start = process.hrtime.bigint();
  evaluateAll();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  best = Math.min(best, seconds);
}

process.stdout.write(
  JSON.stringify({
    version,
    matchesPerRule: counts,
    bestSeconds: best,
    evaluations: rules.length * orders.length,
  }),
);
