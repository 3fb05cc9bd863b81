// The official MCP TypeScript SDK against the running service's /api/ai/mcp: list the
// tools, call them, another shop's key sees only its shop, a key without a scope does not
// see the tool. Driven by tests/tools/test_mcp_node.py (it seeds and passes the keys).
import assert from "node:assert/strict";
import { test } from "node:test";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const base = process.env.BLOOMER_BASE_URL;
const url = new URL("/api/ai/mcp", base);

async function connect(key) {
  const client = new Client({ name: "bloomer-node-test", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(url, {
    requestInit: { headers: { Authorization: `Bearer ${key}` } },
  });
  await client.connect(transport);
  return client;
}

test("every tool is listed for a key with every scope", async () => {
  const client = await connect(process.env.BLOOMER_API_KEY);
  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((t) => t.name).sort(), [
    "delivery_info",
    "find_order",
    "opening_hours",
    "place_order",
    "request_handoff",
    "search_products",
    "support_context",
  ]);
  const find = tools.find((t) => t.name === "find_order");
  assert.deepEqual(Object.keys(find.inputSchema.properties).sort(), ["orderNumber", "phone"]);
  await client.close();
});

test("a call finds the shop's own order and not another shop's", async () => {
  const client = await connect(process.env.BLOOMER_API_KEY);
  const mine = await client.callTool({
    name: "find_order",
    arguments: { orderNumber: process.env.BLOOMER_ORDER_NUMBER },
  });
  assert.equal(mine.isError ?? false, false);
  assert.equal(mine.structuredContent.found, true);
  assert.equal(mine.structuredContent.order.number, process.env.BLOOMER_ORDER_NUMBER);
  const theirs = await client.callTool({
    name: "find_order",
    arguments: { orderNumber: process.env.BLOOMER_OTHER_ORDER_NUMBER },
  });
  assert.deepEqual(theirs.structuredContent, { found: false });
  await client.close();
});

test("the other shop's key finds its own order", async () => {
  const client = await connect(process.env.BLOOMER_OTHER_KEY);
  const found = await client.callTool({
    name: "find_order",
    arguments: { orderNumber: process.env.BLOOMER_OTHER_ORDER_NUMBER },
  });
  assert.equal(found.structuredContent.found, true);
  await client.close();
});

test("bad arguments are a tool error", async () => {
  const client = await connect(process.env.BLOOMER_API_KEY);
  const result = await client.callTool({ name: "opening_hours", arguments: { date: "someday" } });
  assert.equal(result.isError, true);
  assert.equal(result.structuredContent.error.code, "invalid_arguments");
  await client.close();
});

test("a key without a scope does not see or call the tool", async () => {
  const client = await connect(process.env.BLOOMER_READER_KEY);
  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((t) => t.name), ["opening_hours", "delivery_info", "search_products"]);
  await assert.rejects(
    client.callTool({ name: "find_order", arguments: { orderNumber: "1" } }),
    /Unknown tool/,
  );
  await client.close();
});

test("a wrong key is refused", async () => {
  await assert.rejects(connect("blm_not_a_key"));
});
