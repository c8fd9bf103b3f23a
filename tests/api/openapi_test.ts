/**
 * The server describes itself truthfully: a valid OpenAPI 3.1 document listing every route, deny by
 * default for everything it does not declare public, and Prometheus metrics by route pattern.
 */
import assert from "node:assert/strict";
import { Validator } from "@seriousme/openapi-schema-validator";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { makeFleet, startTestPlatform, type TestPlatform } from "../support/platform.ts";

const OPENAPI_PATH = "/api/v1/openapi.json";
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/** The API operations anyone may call without a token. */
const PUBLIC_API = [
  "GET /healthz",
  "GET /readyz",
  "GET /metrics",
  "GET /.well-known/jwks.json",
  "POST /api/v1/auth/login",
  "POST /api/v1/auth/refresh",
  "POST /api/v1/device/enrol",
  "POST /api/v1/device/token",
  // The signaling WebSocket authenticates with its first message (browsers cannot send headers).
  "GET /api/v1/live/ws",
  // A WHEP session's random resource id is its credential (as RFC 9725 has it for WHIP).
  "PATCH /api/v1/live/whep/{resource}",
  "DELETE /api/v1/live/whep/{resource}",
  "DELETE /api/v1/live/whip/{resource}",
];

interface Operation {
  security?: Array<Record<string, string[]>>;
  tags?: string[];
  responses: Record<string, { content?: Record<string, unknown> }>;
  "x-motorcade-access"?: string;
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  [key: string]: unknown;
}

async function openapi(p: TestPlatform): Promise<Document> {
  const response = await p.call("GET", OPENAPI_PATH);
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
  return await response.json();
}

function operations(doc: Document): Array<{ key: string; path: string; op: Operation }> {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, path, op }))
  );
}

/** An OpenAPI path with its `{param}`s filled with well-formed ids that name nothing. */
const fill = (path: string) => path.replace(/\{(\w+)\}/g, "xyz_00000000000000000000");

Deno.test("the OpenAPI document is valid OpenAPI 3.1", async () => {
  await using p = await startTestPlatform();
  const doc = await openapi(p);
  assert.equal(doc.openapi, "3.1.0");
  const validator = new Validator();
  const result = await validator.validate(doc);
  assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
  assert.equal(validator.version, "3.1");

  // The validator does tell a broken document apart: a response needs a description.
  const broken = structuredClone(doc);
  broken.paths["/healthz"].get.responses = { "200": {} };
  assert.equal((await new Validator().validate(broken)).valid, false);
});

Deno.test("every route the app serves is in the OpenAPI document, and nothing else", async () => {
  await using p = await startTestPlatform();
  const doc = await openapi(p);
  const served = new Set(
    p.app.routes
      .filter((route) => route.method !== "ALL" && route.path !== OPENAPI_PATH)
      .map((route) => `${route.method} ${route.path.replace(/:(\w+)/g, "{$1}")}`),
  );
  assert.ok(served.size >= 30, `only ${served.size} routes`);
  const documented = new Set(operations(doc).map((o) => o.key));
  const undocumented = [...served].filter((key) => !documented.has(key));
  assert.deepEqual(undocumented, [], "routes missing from the OpenAPI document");
  const phantom = [...documented].filter((key) => !served.has(key));
  assert.deepEqual(phantom, [], "documented operations the app does not serve");
});

Deno.test("only the declared public operations go without a token; every other answers 401", async () => {
  await using p = await startTestPlatform();
  const doc = await openapi(p);
  const all = operations(doc);
  const open = all.filter(({ op }) => Array.isArray(op.security) && op.security.length === 0);
  // User-interface pages and assets are public too; they are not API and carry no data.
  const ui = open.filter(({ op }) => op.tags?.includes("ui"));
  for (const { key, path, op } of ui) {
    assert.ok(!path.startsWith("/api/"), `${key} is tagged ui but is an API path`);
    const types = Object.entries(op.responses)
      .filter(([status]) => Number(status) < 400)
      .flatMap(([, r]) => Object.keys(r.content ?? {}));
    assert.ok(!types.some((t) => t.includes("json")), `${key} is tagged ui but answers JSON`);
  }
  assert.deepEqual(
    open.filter((o) => !ui.includes(o)).map((o) => o.key).sort(),
    [...PUBLIC_API].sort(),
  );

  const secured = all.filter(({ op }) => !open.some((o) => o.op === op));
  assert.ok(secured.length >= 20, `only ${secured.length} secured operations`);
  const BEARER = [{ bearer: [] }];
  const SIGNED = [{ signedUrl: [] }];
  const EITHER = [{ bearer: [] }, { signedUrl: [] }];
  for (const { key, path, op } of secured) {
    const forms = [BEARER, SIGNED, EITHER].map((form) => JSON.stringify(form));
    assert.ok(
      forms.includes(JSON.stringify(op.security)),
      `${key}: ${JSON.stringify(op.security)}`,
    );
    assert.ok(op.responses["401"], `${key} documents no 401`);
    assert.equal(typeof op["x-motorcade-access"], "string", key);
    const method = key.split(" ")[0];
    const signedOnly = JSON.stringify(op.security) === JSON.stringify(SIGNED);
    const attempts = signedOnly
      ? [
        [undefined, "", "Signed URL needs exp and sig parameters"],
        [undefined, "?exp=9999999999&sig=forged", "Signed URL signature is not valid"],
      ] as const
      : [
        [undefined, "", "Authentication required: send a Bearer token"],
        ["not-a-token", "", "Token is malformed"],
      ] as const;
    for (const [token, query, detail] of attempts) {
      const response = await p.call(method, fill(path) + query, { token });
      assert.equal(response.status, 401, `${key} with token ${token}`);
      assert.equal(response.headers.get("content-type"), "application/problem+json", key);
      const problem = await response.json();
      assert.equal(problem.code, "unauthorized", key);
      assert.equal(problem.detail, detail, key);
    }
  }
  for (const { key, path } of open.filter((o) => !ui.includes(o))) {
    const [method] = key.split(" ");
    const response = await p.call(method, path, method === "GET" ? {} : { json: {} });
    // Public reads answer; public writes validate the (empty) body instead of asking for a token;
    // the signaling socket says live streaming is off (this platform runs without Janus).
    const expected = key === "GET /api/v1/live/ws" ? 503 : method === "GET" ? 200 : 400;
    assert.equal(response.status, expected, key);
    await response.body?.cancel();
  }
});

interface Family {
  name: string;
  type: string;
  metrics: Array<{ labels?: Record<string, string>; value?: string }>;
}

Deno.test("metrics count requests and their duration by route pattern", async () => {
  await using p = await startTestPlatform();
  const fleet = await makeFleet(p, "Alpha");
  const vehicles = `/api/v1/fleets/${fleet.fleetId}/vehicles`;
  for (let i = 0; i < 3; i++) {
    const response = await p.call("GET", vehicles, { token: fleet.tokens.viewer });
    assert.equal(response.status, 200);
    await response.body?.cancel();
  }
  for (const path of [vehicles, "/api/v1/no-such-route"]) {
    const response = await p.call("GET", path);
    await response.body?.cancel();
  }

  const response = await p.call("GET", "/metrics");
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /^text\/plain/);
  const text = await response.text();
  const families: Family[] = parsePrometheusTextFormat(text);
  const family = (name: string) => {
    const found = families.find((f) => f.name === name);
    assert.ok(found, `no metric family ${name}`);
    return found;
  };

  const requests = family("motorcade_http_requests_total");
  assert.equal(requests.type, "COUNTER");
  const sample = (labels: Record<string, string>) =>
    requests.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  const route = "/api/v1/fleets/:fleetId/vehicles";
  assert.equal(sample({ method: "GET", route, status: "200" })?.value, "3");
  assert.equal(sample({ method: "GET", route, status: "401" })?.value, "1");
  assert.equal(sample({ method: "GET", route: "unmatched", status: "404" })?.value, "1");
  assert.equal(sample({ method: "POST", route: "/api/v1/auth/login", status: "200" })?.value, "3");
  for (const m of requests.metrics) {
    assert.doesNotMatch(m.labels?.route ?? "", /flt_|no-such-route/, "routes are patterns");
  }

  const duration = family("motorcade_http_request_duration_seconds");
  assert.equal(duration.type, "HISTOGRAM");
  // The parser folds a labelled histogram into one, so the series by route are read directly.
  const series = histogramSeries(text, "motorcade_http_request_duration_seconds", {
    method: "GET",
    route,
  });
  assert.equal(series.count, 4);
  assert.equal(series.buckets.get("+Inf"), 4);
  assert.ok(series.sum > 0);
  const bounds = [...series.buckets.keys()];
  assert.ok(bounds.length >= 5, `buckets ${bounds}`);
  const cumulative = bounds
    .sort((a, b) => (a === "+Inf" ? Infinity : Number(a)) - (b === "+Inf" ? Infinity : Number(b)))
    .map((le) => series.buckets.get(le)!);
  assert.deepEqual(cumulative, [...cumulative].sort((a, b) => a - b), "buckets are cumulative");
});

/** The buckets, count and sum of one labelled series of histogram `name` in exposition `text`. */
function histogramSeries(text: string, name: string, labels: Record<string, string>) {
  const series = { buckets: new Map<string, number>(), count: NaN, sum: NaN };
  for (const line of text.split("\n")) {
    const match = /^(\w+)\{(.*)\} (\S+)$/.exec(line);
    if (!match || !match[1].startsWith(name)) continue;
    const found = Object.fromEntries(
      [...match[2].matchAll(/(\w+)="([^"]*)"/g)].map(([, key, value]) => [key, value]),
    );
    if (!Object.entries(labels).every(([key, value]) => found[key] === value)) continue;
    const value = Number(match[3]);
    if (match[1] === `${name}_bucket`) series.buckets.set(found.le, value);
    else if (match[1] === `${name}_count`) series.count = value;
    else if (match[1] === `${name}_sum`) series.sum = value;
  }
  return series;
}

Deno.test("metrics require METRICS_TOKEN when it is configured", async () => {
  await using p = await startTestPlatform({ METRICS_TOKEN: "scrape-secret" });
  const refused = await p.call("GET", "/metrics");
  assert.equal(refused.status, 401);
  assert.equal(refused.headers.get("content-type"), "application/problem+json");
  assert.equal((await refused.json()).detail, "Metrics need the METRICS_TOKEN bearer token");
  const wrong = await p.call("GET", "/metrics", { token: "guess" });
  assert.equal(wrong.status, 401);
  await wrong.body?.cancel();
  const allowed = await p.call("GET", "/metrics", { token: "scrape-secret" });
  assert.equal(allowed.status, 200);
  assert.match(await allowed.text(), /^# HELP motorcade_/m);
});

Deno.test("metrics count invented HTTP methods as 'other', adding no series per method", async () => {
  await using p = await startTestPlatform();
  for (let i = 0; i < 50; i++) {
    const response = await p.call(`JUNK${i}`, "/api/v1/no-such-route");
    await response.body?.cancel();
  }
  const text = await (await p.call("GET", "/metrics")).text();
  const families: Family[] = parsePrometheusTextFormat(text);
  const requests = families.find((f) => f.name === "motorcade_http_requests_total")!;
  const methods = new Set(requests.metrics.map((m) => m.labels?.method));
  assert.ok(![...methods].some((m) => m?.startsWith("JUNK")), [...methods].join(", "));
  const other = requests.metrics.filter((m) => m.labels?.method === "other");
  assert.equal(other.reduce((n, m) => n + Number(m.value), 0), 50);
  assert.equal(other.length, 1, "one series for all of them");
});
