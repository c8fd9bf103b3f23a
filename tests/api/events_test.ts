/**
 * Vehicle events through the API (issue 12): a vehicle's report is idempotent by its own id, an
 * operator's is recorded with who made it, events list per vehicle, range and kind, and a fleet
 * rule turns an event of its kind into recalls with its pre- and post-roll on the cameras it names,
 * within the fleet's quota.
 */
import assert from "node:assert/strict";
import { enrolDevice } from "../support/device.ts";
import { makeFleet, startTestPlatform } from "../support/platform.ts";

const T0 = Date.UTC(2026, 11, 7, 9, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString();

async function json(response: Response, status: number, label = "") {
  const text = await response.text();
  assert.equal(
    response.status,
    status,
    `${label}: expected ${status}, got ${response.status} ${text}`,
  );
  return text ? JSON.parse(text) : undefined;
}

async function setup() {
  const p = await startTestPlatform();
  const fleet = await makeFleet(p, "Alpha");
  const cabin = await p.registry.addCamera(fleet.fleetId, fleet.vehicleId, "cabin");
  const device = (await enrolDevice(p, fleet.enrolmentCode)).token;
  const base = `/api/v1/fleets/${fleet.fleetId}`;
  return { p, fleet, cabin, device, base, vehicle: `${base}/vehicles/${fleet.vehicleId}` };
}

Deno.test("a vehicle's event reported twice under its id is one event", async () => {
  const { p, device, vehicle, fleet } = await setup();
  await using _ = p;
  const body = { id: "evt-1", kind: "panic", at: iso(T0), metadata: { button: "driver" } };
  const first = await json(
    await p.call("POST", "/api/v1/device/events", { token: device, json: body }),
    201,
    "first",
  );
  assert.match(first.id, /^evt_[0-9a-z]{20}$/);
  assert.deepEqual(
    [first.kind, first.at, first.source, first.clientId, first.metadata, first.recalls],
    ["panic", iso(T0), "vehicle", "evt-1", { button: "driver" }, []],
  );
  const again = await json(
    await p.call("POST", "/api/v1/device/events", {
      token: device,
      json: { ...body, at: iso(T0 + 5000) },
    }),
    200,
    "retry",
  );
  assert.equal(again.id, first.id);
  assert.equal(again.at, iso(T0), "a retry changes nothing");
  const listed = await json(
    await p.call("GET", `${vehicle}/events?from=${iso(T0 - 1000)}&to=${iso(T0 + 1000)}`, {
      token: fleet.tokens.viewer,
    }),
    200,
  );
  assert.deepEqual(listed.events.map((e: { id: string }) => e.id), [first.id]);
});

Deno.test("events are refused with what is wrong: bad kind, big metadata, no device", async () => {
  const { p, device, vehicle, fleet } = await setup();
  await using _ = p;
  const post = (json: unknown, token = device) =>
    p.call("POST", "/api/v1/device/events", { token, json });
  const bad = await json(await post({ id: "a", kind: "Panic!", at: iso(T0) }), 400, "kind");
  assert.match(JSON.stringify(bad), /kind/);
  const big = await json(
    await post({ id: "b", kind: "panic", at: iso(T0), metadata: { blob: "x".repeat(4100) } }),
    400,
    "metadata",
  );
  assert.match(big.detail, /metadata takes 4\d{3} bytes, more than 4096/);
  await json(await post({ id: "c", kind: "panic", at: "yesterday" }), 400, "time");
  await json(await post({ kind: "panic", at: iso(T0) }), 400, "no id");
  await json(await post({ id: "d", kind: "panic", at: iso(T0) }, fleet.tokens.admin), 403, "user");
  await json(
    await p.call("POST", `${vehicle}/events`, { token: fleet.tokens.viewer, json: { kind: "x" } }),
    403,
    "viewer",
  );
  await json(
    await p.call("GET", `${vehicle}/events?from=${iso(T0)}&to=${iso(T0)}`, {
      token: fleet.tokens.viewer,
    }),
    400,
    "empty range",
  );
});

Deno.test("an event with a fleet rule files its recalls with pre- and post-roll", async () => {
  const { p, device, vehicle, base, fleet, cabin } = await setup();
  await using _ = p;
  const admin = fleet.tokens.admin;
  const rules = await json(
    await p.call("PUT", `${base}/event-rules`, {
      token: admin,
      json: {
        rules: [
          { kind: "panic", preSeconds: 30, postSeconds: 60, cameras: "all" },
          { kind: "harsh-brake", preSeconds: 10, postSeconds: 5, cameras: ["cabin", "nowhere"] },
        ],
      },
    }),
    200,
    "rules",
  );
  assert.equal(rules.rules.length, 2);
  assert.deepEqual(
    await json(await p.call("GET", `${base}/event-rules`, { token: fleet.tokens.viewer }), 200),
    rules,
  );

  const panic = await json(
    await p.call("POST", "/api/v1/device/events", {
      token: device,
      json: { id: "p-1", kind: "panic", at: iso(T0) },
    }),
    201,
  );
  assert.equal(panic.recalls.length, 2, "one recall per camera");
  for (const outcome of panic.recalls) {
    const recall = await json(
      await p.call("GET", `${base}/recalls/${outcome.recallId}`, { token: admin }),
      200,
    );
    assert.deepEqual(
      [recall.from, recall.to, recall.origin, recall.state, recall.createdBy],
      [iso(T0 - 30_000), iso(T0 + 60_000), "event", "queued", null],
    );
  }
  assert.deepEqual(
    panic.recalls.map((r: { cameraId: string }) => r.cameraId).sort(),
    [fleet.cameraId, cabin.id].sort(),
  );
  // The retry files nothing more.
  const retry = await json(
    await p.call("POST", "/api/v1/device/events", {
      token: device,
      json: { id: "p-1", kind: "panic", at: iso(T0) },
    }),
    200,
  );
  assert.deepEqual(retry.recalls, panic.recalls);
  const instructions = await json(
    await p.call("GET", "/api/v1/device/instructions", { token: device }),
    200,
  );
  assert.equal(instructions.recalls.length, 2, "the vehicle is told");

  const brake = await json(
    await p.call("POST", `${vehicle}/events`, {
      token: fleet.tokens.operator,
      json: { kind: "harsh-brake", at: iso(T0 + 600_000), metadata: { g: 0.7 } },
    }),
    201,
  );
  assert.equal(brake.source, "operator");
  assert.match(brake.createdBy, /^usr_/);
  assert.equal(brake.recalls.length, 1, "only the named camera the vehicle has");
  assert.equal(brake.recalls[0].cameraId, cabin.id);
  const recall = await json(
    await p.call("GET", `${base}/recalls/${brake.recalls[0].recallId}`, { token: admin }),
    200,
  );
  assert.deepEqual([recall.from, recall.to, recall.createdBy], [
    iso(T0 + 590_000),
    iso(T0 + 605_000),
    brake.createdBy,
  ]);

  const other = await json(
    await p.call("POST", `${vehicle}/events`, {
      token: fleet.tokens.operator,
      json: { kind: "door-open", at: iso(T0 + 700_000) },
    }),
    201,
  );
  assert.deepEqual(other.recalls, [], "no rule, no recall");

  const panics = await json(
    await p.call(
      "GET",
      `${vehicle}/events?from=${iso(T0 - 1)}&to=${iso(T0 + 3_600_000)}&kind=panic`,
      { token: fleet.tokens.viewer },
    ),
    200,
  );
  assert.deepEqual(panics.events.map((e: { id: string }) => e.id), [panic.id]);
  const all = await json(
    await p.call("GET", `${vehicle}/events?from=${iso(T0 - 1)}&to=${iso(T0 + 3_600_000)}`, {
      token: fleet.tokens.viewer,
    }),
    200,
  );
  assert.deepEqual(all.events.map((e: { kind: string }) => e.kind), [
    "panic",
    "harsh-brake",
    "door-open",
  ]);
});

Deno.test("event rules keep within the fleet's recall quota", async () => {
  const { p, device, base, fleet } = await setup();
  await using _ = p;
  const admin = fleet.tokens.admin;
  const put = (rules: unknown[], token = admin) =>
    p.call("PUT", `${base}/event-rules`, { token, json: { rules } });
  const long = await json(
    await put([{ kind: "panic", preSeconds: 3000, postSeconds: 601, cameras: "all" }]),
    400,
    "too long",
  );
  assert.match(long.detail, /window of 3601 s must be more than 0 and at most the fleet's 3600 s/);
  await json(
    await put([
      { kind: "panic", preSeconds: 1, postSeconds: 1, cameras: "all" },
      { kind: "panic", preSeconds: 2, postSeconds: 2, cameras: "all" },
    ]),
    400,
    "twice",
  );
  await json(await put([{ kind: "panic", preSeconds: 0, postSeconds: 0, cameras: "all" }]), 400);
  await json(
    await put(
      [{ kind: "panic", preSeconds: 1, postSeconds: 1, cameras: "all" }],
      fleet.tokens.operator,
    ),
    403,
    "operator",
  );
  await json(await put([{ kind: "panic", preSeconds: 60, postSeconds: 60, cameras: "all" }]), 200);
  // 2 cameras per event: the 17th panic finds the vehicle's 32 recalls under way.
  let last;
  for (let i = 0; i < 17; i++) {
    last = await json(
      await p.call("POST", "/api/v1/device/events", {
        token: device,
        json: { id: `q-${i}`, kind: "panic", at: iso(T0 + i * 1000) },
      }),
      201,
    );
  }
  assert.equal(last.recalls.length, 2);
  for (const outcome of last.recalls) {
    assert.equal(outcome.recallId, undefined);
    assert.match(outcome.error, /already has 32 recalls under way/);
  }
});
