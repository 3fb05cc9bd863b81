// Drives the running service through the built client (dist/), as the web app would.
// tests/test_typescript_client.py starts the service and passes:
//   BLOOMER_BASE_URL, BLOOMER_SESSION_TOKEN (a NextAuth token minted by next-auth),
//   BLOOMER_API_KEY, BLOOMER_ORDER_NUMBER, BLOOMER_SHOP_ID
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";

import { createBloomerClient, isApiError } from "../dist/index.js";

const env = (name) => {
  const value = process.env[name];
  assert.ok(value, `${name} is set`);
  return value;
};
const baseUrl = env("BLOOMER_BASE_URL");
const web = createBloomerClient({ baseUrl, sessionToken: env("BLOOMER_SESSION_TOKEN") });
const lilli = createBloomerClient({ baseUrl, apiKey: env("BLOOMER_API_KEY") });

test("a NextAuth session signs in: who am I", async () => {
  const { data, error, response } = await web.GET("/api/ai/me");
  assert.equal(response.status, 200, JSON.stringify(error));
  assert.equal(data.shop.id, env("BLOOMER_SHOP_ID"));
  assert.equal(data.role, "owner");
});

test("list orders, filtered and paged", async () => {
  const number = env("BLOOMER_ORDER_NUMBER");
  const { data, response } = await web.GET("/api/ai/orders", {
    params: { query: { number, limit: 5 } },
  });
  assert.equal(response.status, 200);
  assert.deepEqual(
    data.items.map((order) => order.number),
    [number],
  );
  assert.equal(data.nextCursor, null);
});

test("create a routing rule, then evaluate an order against it", async () => {
  const created = await web.POST("/api/ai/routing/rules", {
    body: {
      name: `web orders ${randomUUID().slice(0, 8)}`,
      priority: 1,
      conditions: { "==": [{ var: "source" }, "web"] },
      action: { type: "assign", target: { kind: "team", id: "web-desk" } },
    },
  });
  assert.equal(created.response.status, 201, JSON.stringify(created.error));
  const evaluated = await lilli.POST("/api/ai/routing/evaluate", {
    body: { orderNumber: env("BLOOMER_ORDER_NUMBER") },
  });
  assert.equal(evaluated.response.status, 200, JSON.stringify(evaluated.error));
  assert.ok(evaluated.data.matchedRuleIds.includes(created.data.id));
});

test("chat with the agent", async () => {
  const { data, response, error } = await lilli.POST("/api/ai/agent", {
    body: { message: "Hello! When are you open?" },
  });
  assert.equal(response.status, 200, JSON.stringify(error));
  assert.equal(typeof data.reply, "string");
  assert.ok(data.reply.length > 0);
  assert.ok(data.conversationId);
});

test("errors are typed: code, message, details", async () => {
  const missing = await web.GET("/api/ai/orders/{order_id}", {
    params: { path: { order_id: randomUUID() } },
  });
  assert.equal(missing.response.status, 404);
  assert.equal(missing.data, undefined);
  assert.equal(missing.error.error.code, "order_not_found");
  assert.ok(isApiError(missing.error));

  const wrongKind = await lilli.GET("/api/ai/keys");
  assert.equal(wrongKind.response.status, 403);
  assert.equal(wrongKind.error.error.code, "session_required");

  const invalid = await web.POST("/api/ai/routing/rules", {
    body: { name: "", conditions: true, action: { type: "assign" } },
  });
  assert.equal(invalid.response.status, 422);
  assert.equal(invalid.error.error.code, "validation_error");
  assert.ok(invalid.error.error.details.some((detail) => detail.field.startsWith("body.")));
});

test("one credential at a time", () => {
  assert.throws(() => createBloomerClient({ baseUrl, apiKey: "blm_x", sessionToken: "y" }));
});
