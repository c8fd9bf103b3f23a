/**
 * The server describes itself truthfully: a valid OpenAPI 3.1 document listing every route, deny by
 * default for everything it does not declare public, and Prometheus metrics by route pattern.
 */
import assert from "node:assert/strict";
import { Validator } from "@seriousme/openapi-schema-validator";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { enrolDevice } from "../support/device.ts";
import { contentDigest } from "../support/media.ts";
import { makeFleet, OWNER, startTestPlatform, type TestPlatform } from "../support/platform.ts";
import { isUiPath } from "../../routes/mod.ts";
import { EXAMPLES } from "../../routes/api/v1/examples.ts";

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
  // The one-time reset code in the body is the credential.
  "POST /api/v1/auth/password-reset",
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
  operationId?: string;
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

Deno.test("every operation has a unique camelCase operationId for client generators", async () => {
  await using p = await startTestPlatform();
  const doc = await openapi(p);
  const ids = operations(doc).map((
    { key, op },
  ) => [key, (op as { operationId?: string }).operationId]);
  const missing = ids.filter(([, id]) => typeof id !== "string").map(([key]) => key);
  assert.deepEqual(missing, [], "operations without an operationId");
  for (const [key, id] of ids) assert.match(id!, /^[a-z][A-Za-z0-9]*$/, key);
  const seen = new Map<string, string>();
  for (const [key, id] of ids) {
    assert.ok(!seen.has(id!), `${key} and ${seen.get(id!)} share operationId "${id}"`);
    seen.set(id!, key!);
  }
  assert.equal(
    doc.paths["/api/v1/fleets/{fleetId}/vehicles"].get.operationId,
    "listFleetVehicles",
  );
});

/** Media types of binary bodies (MP4 files and segments), which carry no example. */
const BINARY = ["video/mp4", "video/iso.segment"];

/**
 * A JSON Schema validator (Ajv, draft 2020-12 as OpenAPI 3.1 uses) over the document's component
 * schemas: `compile(schema)` resolves its `#/components/schemas/…` references.
 */
function schemaValidator(doc: Document) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  // deno-lint-ignore no-explicit-any
  (addFormats as any)(ajv);
  const rebase = (value: unknown): unknown =>
    JSON.parse(JSON.stringify(value).replaceAll('"#/components/schemas/', '"#/$defs/'));
  const $defs = rebase((doc.components as { schemas: Record<string, Schema> }).schemas);
  return (schema: Schema) => ajv.compile({ ...(rebase(schema) as object), $defs });
}

Deno.test("every operation has examples of its request and answers, each valid against its own schema", async () => {
  await using p = await startTestPlatform();
  const doc = await openapi(p);
  const compile = schemaValidator(doc);
  const missing: string[] = [];
  const invalid: string[] = [];
  let checked = 0;
  for (const { key, op } of operations(doc) as Array<{ key: string; op: FullOperation }>) {
    const media = [
      ...Object.entries(op.requestBody?.content ?? {}).map(([type, m]) => ["request", type, m]),
      ...Object.entries(op.responses).filter(([status]) => status.startsWith("2"))
        .flatMap(([status, r]) =>
          Object.entries(r.content ?? {}).map(([type, m]) => [status, type, m])
        ),
    ] as Array<[string, string, { schema?: Schema; example?: unknown }]>;
    for (const [where, type, { schema, example }] of media) {
      if (BINARY.includes(type)) continue;
      if (example === undefined) {
        missing.push(`${key} ${where} ${type}`);
        continue;
      }
      const validate = compile(schema ?? {});
      checked++;
      if (!validate(example)) {
        invalid.push(`${key} ${where} ${type}: ${JSON.stringify(validate.errors)}`);
      }
    }
  }
  assert.deepEqual(missing, [], "media types without an example");
  assert.deepEqual(invalid, [], "examples their own schema refuses");
  assert.ok(checked >= 60, `only ${checked} examples`);
  const ids = new Set(operations(doc).map(({ op }) => op.operationId));
  assert.deepEqual(
    Object.keys(EXAMPLES).filter((id) => !ids.has(id)),
    [],
    "examples of no operation",
  );

  // The validator does refuse what does not fit: a fleet's retention as a string, a bad date.
  const fleet = compile({ $ref: "#/components/schemas/Fleet" });
  const example = doc.paths["/api/v1/fleets/{fleetId}"].get.responses["200"].content![
    "application/json"
  ] as { example: Record<string, unknown> };
  assert.equal(fleet(example.example), true);
  assert.equal(fleet({ ...example.example, retentionDays: "30" }), false);
  assert.equal(fleet({ ...example.example, createdAt: "yesterday" }), false);
});

Deno.test("every route the app serves is in the OpenAPI document, and nothing else", async () => {
  await using p = await startTestPlatform();
  const doc = await openapi(p);
  // The web pages, their forms and files are for people, not API (tests/ui covers them).
  const served = new Set(
    p.app.routes
      .filter((route) => route.method !== "ALL" && route.path !== OPENAPI_PATH)
      .filter((route) => !isUiPath(route.path))
      .map((route) => `${route.method} ${route.path.replace(/:(\w+)/g, "{$1}")}`),
  );
  assert.ok(served.size >= 30, `only ${served.size} routes`);
  const documented = new Set(operations(doc).map((o) => o.key));
  const undocumented = [...served].filter((key) => !documented.has(key));
  assert.deepEqual(undocumented, [], "routes missing from the OpenAPI document");
  const phantom = [...documented].filter((key) => !served.has(key));
  assert.deepEqual(phantom, [], "documented operations the app does not serve");
});

Deno.test("the fleet's retention and its dry-run are documented with what they answer", async () => {
  await using p = await startTestPlatform();
  const doc = await openapi(p);
  const dryRun = doc.paths["/api/v1/fleets/{fleetId}/retention"]?.get as FullOperation;
  assert.ok(dryRun, "GET /api/v1/fleets/{fleetId}/retention is documented");
  assert.deepEqual(Object.keys(dryRun.responses).sort(), [
    "200",
    "400",
    "401",
    "403",
    "404",
    "413",
  ]);
  assert.equal(dryRun["x-motorcade-access"], "admin of fleet {fleetId} (or owner)");
  assert.deepEqual(
    (dryRun.parameters ?? []).filter((x) => x.in === "query").map((x) => x.name),
    ["retentionDays"],
  );
  const change = doc.paths["/api/v1/fleets/{fleetId}"].patch as FullOperation;
  const body = change.requestBody!.content["application/json"].schema!;
  assert.deepEqual(Object.keys(body.properties ?? {}).sort(), [
    "liveLadder",
    "name",
    "retentionDays",
    "segmentSeconds",
    "timeZone",
  ]);
  assert.deepEqual(body.required ?? [], []);
  const schemas = (doc.components as { schemas: Record<string, Schema> }).schemas;
  assert.ok(schemas.Fleet.properties?.retentionDays, "fleets show their retention");
  assert.deepEqual(schemas.RetentionPreview.required?.sort(), [
    "cutoff",
    "expired",
    "retentionDays",
  ]);
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

/** JSON Schema as the OpenAPI document writes it, as far as {@linkcode sample} reads it. */
interface Schema {
  $ref?: string;
  type?: string | string[];
  format?: string;
  enum?: unknown[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  oneOf?: Schema[];
  anyOf?: Schema[];
  allOf?: Schema[];
  default?: unknown;
}
interface Parameter {
  in: string;
  name: string;
  required?: boolean;
  schema?: Schema;
}
interface FullOperation extends Operation {
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema?: Schema }> };
}

/** A 16-byte ISO BMFF box of `type` with `brand`: the start of an fMP4 file or segment. */
const box = (type: string, brand: string) =>
  new Uint8Array([0, 0, 0, 16, ...new TextEncoder().encode(type + brand), 0, 0, 0, 0]);

/** Bodies that pass a first look at their media type (the first box, the SDP version line). */
const SAMPLE_BODIES: Record<string, string | Uint8Array<ArrayBuffer>> = {
  "application/sdp": "v=0\r\n",
  "video/mp4": box("ftyp", "isom"),
  "video/iso.segment": box("styp", "msdh"),
};

/** Strings tried, in order, for a string schema: the first that fits its pattern and lengths. */
const STRING_CANDIDATES = ["probe", "probe@example.test", "60", "sha-256=:AAAA:", "p"];

/** A value that fits `schema` (the first enum member, a fitting string, the required members). */
function sample(schema: Schema | undefined, doc: Document): unknown {
  if (!schema) return "probe";
  if (schema.$ref) {
    const name = schema.$ref.split("/").pop()!;
    const components = doc.components as { schemas: Record<string, Schema> };
    return sample(components.schemas[name], doc);
  }
  if (schema.enum) return schema.enum[0];
  if (schema.default !== undefined) return schema.default;
  const alternatives = schema.oneOf ?? schema.anyOf ?? schema.allOf;
  if (alternatives) return sample(alternatives[0], doc);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case "object":
      return Object.fromEntries(
        (schema.required ?? []).map((key) => [key, sample(schema.properties?.[key], doc)]),
      );
    case "array":
      return [sample(schema.items, doc)];
    case "integer":
    case "number":
      return schema.minimum ?? 1;
    case "boolean":
      return false;
    default: {
      if (schema.format === "date-time") return new Date(Date.now() - 60_000).toISOString();
      if (schema.format === "uuid") return crypto.randomUUID();
      const fits = (s: string) =>
        (!schema.pattern || new RegExp(schema.pattern).test(s)) &&
        s.length >= (schema.minLength ?? 0) && s.length <= (schema.maxLength ?? Infinity);
      return STRING_CANDIDATES.find(fits) ?? "p".repeat(Math.max(1, schema.minLength ?? 1));
    }
  }
}

/**
 * Drives every operation of the document with each credential, known, unknown and malformed ids,
 * and (for operations with a body) no body, a fitting one, `{}`, broken JSON, another media type
 * and an oversized one; returns each answer the document does not list for its operation.
 */
async function undocumentedAnswers(
  env: Record<string, string>,
  options: { ready?: (p: TestPlatform) => Promise<void>; seen?: Set<number> } = {},
): Promise<string[]> {
  // A small body limit makes the oversized body cheap to send.
  await using p = await startTestPlatform({ MAX_BODY_BYTES: "1024", ...env });
  const doc = await openapi(p);
  const alpha = await makeFleet(p, "Alpha");
  const beta = await makeFleet(p, "Beta");
  const owner = (await p.login(OWNER.email, OWNER.password)).accessToken;
  const device = (await enrolDevice(p, alpha.enrolmentCode)).token;
  await options.ready?.(p);
  const credentials: Record<string, string | undefined> = {
    none: undefined,
    malformed: "not-a-token",
    owner,
    admin: alpha.tokens.admin,
    viewer: alpha.tokens.viewer,
    "other fleet's admin": beta.tokens.admin,
    device,
  };
  const unknownId = "xyz_00000000000000000000";
  const known: Record<string, string> = {
    fleetId: alpha.fleetId,
    vehicleId: alpha.vehicleId,
    cameraId: alpha.cameraId,
    camera: "front",
  };
  const fills: Record<string, (name: string, schema?: Schema) => string> = {
    known: (name, schema) => known[name] ?? String(sample(schema, doc)),
    unknown: () => unknownId,
    malformed: () => "not%20an%20id!",
  };
  // Operations that end a session or delete what later ones use go last.
  const ending = (key: string) => key.startsWith("DELETE ") || key.endsWith("/logout");
  const all = operations(doc).sort((a, b) => Number(ending(a.key)) - Number(ending(b.key)));

  const undocumented: string[] = [];
  let requests = 0;
  for (const { key, path, op } of all as Array<{ key: string; path: string; op: FullOperation }>) {
    const method = key.split(" ")[0];
    const parameters = op.parameters ?? [];
    const [type, media] = Object.entries(op.requestBody?.content ?? {})[0] ?? [];
    const valid = type === undefined
      ? undefined
      : type.includes("json")
      ? JSON.stringify(sample(media?.schema, doc))
      : SAMPLE_BODIES[type] ?? "probe";
    const bodies: Record<string, { type?: string; body?: string | Uint8Array<ArrayBuffer> }> =
      type === undefined ? { none: {} } : {
        none: {},
        valid: { type, body: valid },
        empty: { type: "application/json", body: "{}" },
        "not JSON": { type: "application/json", body: "{" },
        "wrong type": { type: "text/plain", body: "probe" },
        oversized: { type, body: "x".repeat(1025) },
      };
    for (const [fillName, fill] of Object.entries(fills)) {
      const filled = path.replace(/\{(\w+)\}/g, (_, name: string) => {
        const schema = parameters.find((x) => x.in === "path" && x.name === name)?.schema;
        return fill(name, schema);
      });
      const query = new URLSearchParams(
        parameters.filter((x) => x.in === "query" && x.required)
          .map((x) => [x.name, String(sample(x.schema, doc))]),
      );
      const headers = Object.fromEntries(
        parameters.filter((x) => x.in === "header" && x.required)
          .map((x) => [x.name, String(sample(x.schema, doc))]),
      );
      const url = filled + (query.size ? `?${query}` : "");
      for (const [credential, token] of Object.entries(credentials)) {
        for (const [bodyName, { type: contentType, body }] of Object.entries(bodies)) {
          // A declared Content-Digest (RFC 9530) is the body's real one.
          const digest: Record<string, string> = "content-digest" in headers
            ? {
              "content-digest": await contentDigest(
                typeof body === "string"
                  ? new TextEncoder().encode(body)
                  : body ?? new Uint8Array(),
              ),
            }
            : {};
          const response = await p.call(method, url, {
            token,
            body,
            headers: {
              ...headers,
              ...digest,
              ...(contentType ? { "content-type": contentType } : {}),
            },
          });
          await response.body?.cancel();
          requests++;
          options.seen?.add(response.status);
          const status = String(response.status);
          if (!(status in op.responses) && !("default" in op.responses)) {
            undocumented.push(`${key} → ${status} (${fillName} ids, ${credential}, ${bodyName})`);
          }
        }
      }
    }
  }
  assert.ok(requests > 1000, `only ${requests} requests`);
  // One line per operation and status is enough to read.
  const seen = new Set<string>();
  const distinct = undocumented.filter((line) => {
    const id = line.split(" (")[0];
    return !seen.has(id) && seen.add(id);
  });
  return distinct;
}

Deno.test("every status an operation answers is documented in the OpenAPI document", async () => {
  assert.deepEqual(await undocumentedAnswers({}), [], "answers the OpenAPI document does not list");
});

Deno.test("every status a live operation answers is documented, with Janus unreachable", async () => {
  // Live on, its Janus down: sessions are looked up (404) and new ones cannot start (503).
  const env = {
    LIVE: "on",
    JANUS_URL: "ws://127.0.0.1:9/janus",
    JANUS_ADMIN_URL: "ws://127.0.0.1:9/admin",
    JANUS_API_SECRET: "api-secret",
    JANUS_ADMIN_SECRET: "admin-secret",
  };
  assert.deepEqual(
    await undocumentedAnswers(env),
    [],
    "answers the OpenAPI document does not list",
  );
});

Deno.test("every status an operation answers with the disk below its floor is documented", async () => {
  // More free space asked for than any disk has: storage counts as full once it is first read.
  const env = { MIN_FREE_BYTES: String(Number.MAX_SAFE_INTEGER) };
  const ready = async (p: TestPlatform) => {
    for (let i = 0; i < 100; i++) {
      const response = await p.call("GET", "/readyz");
      await response.body?.cancel();
      if (response.status === 503) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.fail("/readyz never said the disk is below its floor");
  };
  const seen = new Set<number>();
  assert.deepEqual(
    await undocumentedAnswers(env, { ready, seen }),
    [],
    "answers the OpenAPI document does not list",
  );
  assert.ok(seen.has(507), `no 507 among ${[...seen].sort()}`);
});

Deno.test("a known path answers any other method 405 with the methods it answers in Allow", async () => {
  await using p = await startTestPlatform();
  const doc = await openapi(p);
  for (const [path, item] of Object.entries(doc.paths)) {
    const documented = Object.keys(item).filter((m) => METHODS.includes(m)).map((m) =>
      m.toUpperCase()
    );
    if (documented.includes("GET")) documented.push("HEAD");
    const allow = [...documented, "OPTIONS"];
    const others = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "PROPFIND", "JUNK"]
      .filter((m) => !allow.includes(m));
    for (const method of others) {
      const response = await p.call(method, fill(path));
      const key = `${method} ${path}`;
      assert.equal(response.status, 405, key);
      assert.deepEqual(response.headers.get("allow")?.split(", ").sort(), [...allow].sort(), key);
      assert.equal(response.headers.get("content-type"), "application/problem+json", key);
      if (method === "HEAD") continue;
      const problem = await response.json();
      assert.equal(problem.code, "method_not_allowed", key);
      assert.deepEqual(problem.allow.sort(), [...allow].sort(), key);
      assert.match(problem.detail, new RegExp(`^Method "${method}" is not allowed on "`), key);
    }
  }
  const unknown = await p.call("PUT", "/api/v1/no-such-route");
  assert.equal(unknown.status, 404, "a path no route matches stays 404");
  assert.equal(unknown.headers.get("allow"), null);
  await unknown.body?.cancel();
});

Deno.test("HEAD of a GET route answers its headers, OPTIONS and preflights list the path's methods", async () => {
  await using p = await startTestPlatform();
  const head = await p.call("HEAD", "/healthz");
  assert.equal(head.status, 200);
  assert.equal(await head.text(), "");

  const path = "/api/v1/fleets/xyz_00000000000000000000/users/xyz_00000000000000000000";
  const preflight = await p.call("OPTIONS", path, {
    headers: { origin: "https://player.example", "access-control-request-method": "PATCH" },
  });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get("access-control-allow-origin"), "*");
  assert.equal(
    preflight.headers.get("access-control-allow-methods"),
    "GET,HEAD,PATCH,DELETE,OPTIONS",
  );
  assert.equal(preflight.headers.get("allow"), "GET, HEAD, PATCH, DELETE, OPTIONS");

  const options = await p.call("OPTIONS", "/api/v1/auth/login");
  assert.equal(options.status, 204);
  assert.equal(options.headers.get("allow"), "POST, OPTIONS");

  const nowhere = await p.call("OPTIONS", "/api/v1/no-such-route");
  assert.equal(nowhere.status, 404);
  assert.equal((await nowhere.json()).code, "not_found");
});
