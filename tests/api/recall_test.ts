/**
 * Upload policies, recalls and availability through the API, and what a vehicle learns of them:
 * the heartbeat's answer and the instructions long poll (issue 12, the server's side).
 */
import assert from "node:assert/strict";
import type { BusMessage } from "../../lib/bus/mod.ts";
import { type RecallFinishedEvent, RECALLS_TOPIC } from "../../lib/recall/mod.ts";
import { enrolDevice } from "../support/device.ts";
import { type FleetFixture, makeFleet, startTestPlatform } from "../support/platform.ts";

const T0 = Date.UTC(2026, 11, 6, 8, 0, 0);
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

/** A heartbeat as the agent sends it, with the issue-12 fields given. */
function heartbeat(extra: Record<string, unknown> = {}) {
  return {
    sentAt: new Date().toISOString(),
    uptimeS: 60,
    clock: { state: "ok", lastJumpAt: null, jumps: 0 },
    cameras: [],
    ...extra,
  };
}

/** A recall report as the vehicle sends it. */
function report(id: string, state: string, done: number, missing: unknown[] = []) {
  return {
    id,
    state,
    segmentsTotal: 30,
    segmentsDone: done,
    bytesTotal: 30_000,
    bytesDone: done * 1000,
    missing,
  };
}

async function setup() {
  const p = await startTestPlatform();
  const fleet = await makeFleet(p, "Alpha");
  const device = (await enrolDevice(p, fleet.enrolmentCode)).token;
  return { p, fleet, device };
}

const paths = (f: FleetFixture) => {
  const vehicle = `/api/v1/fleets/${f.fleetId}/vehicles/${f.vehicleId}`;
  const camera = `${vehicle}/cameras/${f.cameraId}`;
  return { fleet: `/api/v1/fleets/${f.fleetId}`, vehicle, camera };
};

Deno.test("upload policies inherit from fleet to vehicle to camera, and say where they come from", async () => {
  const { p, fleet } = await setup();
  await using _ = p;
  const at = paths(fleet);
  const admin = fleet.tokens.admin;
  const camera = () => p.call("GET", `${at.camera}/upload-policy`, { token: fleet.tokens.viewer });
  let policy = await json(await camera(), 200, "default");
  assert.deepEqual(
    [policy.mode, policy.source, policy.own, policy.proxy],
    ["continuous", "default", null, { height: 320, bitrateKbps: 150 }],
  );

  await json(
    await p.call("PUT", `${at.fleet}/upload-policy`, {
      token: admin,
      json: { mode: "proxy", proxy: { height: 240, bitrateKbps: 120 }, recallMaxSeconds: 600 },
    }),
    200,
    "fleet",
  );
  policy = await json(await camera(), 200);
  assert.deepEqual([policy.mode, policy.source, policy.proxy.height], ["proxy", "fleet", 240]);
  await json(
    await p.call("PUT", `${at.vehicle}/upload-policy`, {
      token: fleet.tokens.operator,
      json: { mode: "on-request" },
    }),
    200,
    "vehicle",
  );
  policy = await json(await camera(), 200);
  assert.deepEqual([policy.mode, policy.source, policy.proxy.height], [
    "on-request",
    "vehicle",
    320,
  ]);
  policy = await json(
    await p.call("PUT", `${at.camera}/upload-policy`, {
      token: admin,
      json: { mode: "continuous" },
    }),
    200,
    "camera",
  );
  assert.deepEqual([policy.mode, policy.source, policy.own.mode], [
    "continuous",
    "camera",
    "continuous",
  ]);
  policy = await json(await p.call("DELETE", `${at.camera}/upload-policy`, { token: admin }), 200);
  assert.deepEqual([policy.mode, policy.source, policy.own], ["on-request", "vehicle", null]);
  await json(await p.call("DELETE", `${at.camera}/upload-policy`, { token: admin }), 404, "again");
  const fleetPolicy = await json(
    await p.call("GET", `${at.fleet}/upload-policy`, { token: admin }),
    200,
  );
  assert.equal(fleetPolicy.recallMaxSeconds, 600);

  await json(
    await p.call("PUT", `${at.vehicle}/upload-policy`, {
      token: fleet.tokens.viewer,
      json: { mode: "proxy" },
    }),
    403,
    "a viewer sets none",
  );
  const bad = await json(
    await p.call("PUT", `${at.vehicle}/upload-policy`, {
      token: admin,
      json: { mode: "sometimes" },
    }),
    400,
    "an unknown mode",
  );
  assert.match(JSON.stringify(bad), /mode/);
  const other = await makeFleet(p, "Bravo");
  await json(
    await p.call("GET", `${at.camera}/upload-policy`, { token: other.tokens.admin }),
    404,
    "another fleet's",
  );
});

Deno.test("a vehicle's heartbeat answers its instructions, and a long poll answers their change", async () => {
  const { p, fleet, device } = await setup();
  await using _ = p;
  const at = paths(fleet);
  const first = await json(
    await p.call("POST", "/api/v1/device/heartbeat", { token: device, json: heartbeat() }),
    200,
    "heartbeat",
  );
  assert.deepEqual(first.cameras, [
    { camera: "front", mode: "continuous", proxy: { height: 320, bitrateKbps: 150 } },
  ]);
  assert.deepEqual(first.recalls, []);
  assert.equal(first.segmentSeconds, null);
  assert.equal(typeof first.version, "string");

  // Unchanged: the long poll waits out `wait` and answers 304.
  const unchanged = await p.call(
    "GET",
    `/api/v1/device/instructions?known=${first.version}&wait=1`,
    {
      token: device,
    },
  );
  assert.equal(unchanged.status, 304);
  // Another version (or none) answers at once.
  const atOnce = await json(
    await p.call("GET", "/api/v1/device/instructions?known=old&wait=30", { token: device }),
    200,
  );
  assert.equal(atOnce.version, first.version);

  // A change answers the waiting poll; a newer poll ends the older one.
  const older = p.call("GET", `/api/v1/device/instructions?known=${first.version}&wait=30`, {
    token: device,
  });
  await new Promise((resolve) => setTimeout(resolve, 50));
  const waiting = p.call("GET", `/api/v1/device/instructions?known=${first.version}&wait=30`, {
    token: device,
  });
  assert.equal((await older).status, 304, "the newer poll took over");
  await json(
    await p.call("PUT", `${at.camera}/upload-policy`, {
      token: fleet.tokens.admin,
      json: { mode: "on-request" },
    }),
    200,
  );
  const changed = await json(await waiting, 200, "long poll");
  assert.notEqual(changed.version, first.version);
  assert.equal(changed.cameras[0].mode, "on-request");

  // Fleet settings are instructions too.
  const next = p.call("GET", `/api/v1/device/instructions?known=${changed.version}&wait=30`, {
    token: device,
  });
  await new Promise((resolve) => setTimeout(resolve, 50));
  await json(
    await p.call("PATCH", at.fleet, { token: fleet.tokens.admin, json: { segmentSeconds: 4 } }),
    200,
  );
  assert.equal((await json(await next, 200, "segment length")).segmentSeconds, 4);

  // What the vehicle reports holding is kept apart from its status.
  await json(
    await p.call("POST", "/api/v1/device/heartbeat", {
      token: device,
      json: heartbeat({
        instructionsVersion: changed.version,
        inventory: [{ camera: "front", rendition: "full", ranges: [[T0, T0 + 60_000]] }],
      }),
    }),
    200,
  );
  const status = await p.catalog.vehicleStatus.get(fleet.vehicleId);
  assert.equal(status?.status.instructionsVersion, changed.version);
  assert.equal(status?.status.inventory, undefined);
  assert.equal((await p.catalog.inventory.list(fleet.vehicleId)).length, 1);
});

Deno.test("a recall is queued, carried to the vehicle, advanced by its reports and published when it ends", async () => {
  const { p, fleet, device } = await setup();
  await using _ = p;
  const at = paths(fleet);
  const finished: RecallFinishedEvent[] = [];
  const consumer = p.bus.subscribe<RecallFinishedEvent>(
    RECALLS_TOPIC,
    "recall-test",
    (batch: BusMessage<RecallFinishedEvent>[]) => {
      finished.push(...batch.map((m) => m.value));
      return Promise.resolve();
    },
  );
  try {
    const file = (from: number, to: number, token = fleet.tokens.operator) =>
      p.call("POST", `${at.camera}/recalls`, { token, json: { from: iso(from), to: iso(to) } });
    const recall = await json(await file(T0, T0 + 60_000), 201, "file");
    assert.match(recall.id, /^rcl_/);
    assert.deepEqual([recall.state, recall.progress, recall.origin], ["queued", null, "operator"]);

    await json(await file(T0, T0 + 3601_000), 400, "longer than the default quota");
    await json(await file(T0 + 60_000, T0), 400, "to before from");
    await json(await file(T0, T0 + 1000, fleet.tokens.viewer), 403, "a viewer files none");

    const beat = (extra: Record<string, unknown>) =>
      p.call("POST", "/api/v1/device/heartbeat", { token: device, json: heartbeat(extra) });
    const instructions = await json(await beat({}), 200);
    assert.deepEqual(instructions.recalls, [
      { id: recall.id, camera: "front", from: iso(T0), to: iso(T0 + 60_000) },
    ]);

    await json(await beat({ recalls: [report(recall.id, "uploading", 12)] }), 200);
    let now = await json(
      await p.call("GET", `${at.fleet}/recalls/${recall.id}`, { token: fleet.tokens.viewer }),
      200,
    );
    assert.equal(now.state, "uploading");
    assert.equal(now.progress.segmentsDone, 12);

    const gap = { from: iso(T0), to: iso(T0 + 4000), reason: "evicted" };
    const after = await json(
      await beat({
        recalls: [report(recall.id, "done", 28, [gap]), report("rcl_unknown", "done", 1)],
      }),
      200,
    );
    assert.deepEqual(after.recalls, [], "a finished recall leaves the instructions");
    now = await json(
      await p.call("GET", `${at.fleet}/recalls/${recall.id}`, { token: fleet.tokens.viewer }),
      200,
    );
    assert.equal(now.state, "partial");
    assert.deepEqual(now.progress.missing, [gap]);
    assert.ok(now.finishedAt);
    await json(
      await p.call("DELETE", `${at.fleet}/recalls/${recall.id}`, { token: fleet.tokens.operator }),
      409,
      "cancel a finished recall",
    );

    // Nothing of it could be had: evicted on the vehicle.
    const gone = await json(await file(T0 - 600_000, T0 - 540_000), 201);
    await json(
      await beat({
        recalls: [
          report(gone.id, "done", 0, [{
            from: iso(T0 - 600_000),
            to: iso(T0 - 540_000),
            reason: "evicted",
          }]),
        ],
      }),
      200,
    );
    // An operator cancels one; the vehicle drops it with its next instructions.
    const unwanted = await json(await file(T0 + 120_000, T0 + 180_000), 201);
    const cancelled = await json(
      await p.call("DELETE", `${at.fleet}/recalls/${unwanted.id}`, { token: fleet.tokens.admin }),
      200,
    );
    assert.equal(cancelled.state, "cancelled");
    assert.deepEqual((await json(await beat({}), 200)).recalls, []);

    const listed = await json(
      await p.call("GET", `${at.camera}/recalls`, { token: fleet.tokens.viewer }),
      200,
    );
    assert.deepEqual(
      listed.recalls.map((r: { id: string; state: string }) => [r.id, r.state]),
      [[unwanted.id, "cancelled"], [gone.id, "expired"], [recall.id, "partial"]],
    );

    for (let i = 0; i < 50 && finished.length < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.deepEqual(
      finished.map((e) => [e.type, e.recall.id, e.recall.state]),
      [
        ["recall.finished", recall.id, "partial"],
        ["recall.finished", gone.id, "expired"],
        ["recall.finished", unwanted.id, "cancelled"],
      ],
    );
  } finally {
    await consumer.close();
  }
});

Deno.test("a vehicle has at most 32 recalls under way", async () => {
  const { p, fleet } = await setup();
  await using _ = p;
  const at = paths(fleet);
  for (let i = 0; i < 32; i++) {
    await json(
      await p.call("POST", `${at.camera}/recalls`, {
        token: fleet.tokens.operator,
        json: { from: iso(T0 + i * 1000), to: iso(T0 + (i + 1) * 1000) },
      }),
      201,
      `recall ${i}`,
    );
  }
  const refused = await json(
    await p.call("POST", `${at.camera}/recalls`, {
      token: fleet.tokens.operator,
      json: { from: iso(T0), to: iso(T0 + 1000) },
    }),
    409,
    "the 33rd",
  );
  assert.match(refused.detail, /32 recalls under way/);
});

Deno.test("availability tells server, vehicle only and nowhere apart, per rendition", async () => {
  const { p, fleet, device } = await setup();
  await using _ = p;
  const at = paths(fleet);
  // Uploaded: 08:00:00-08:00:10 (five 2 s segments).
  await p.catalog.recordings.indexSegments(Array.from({ length: 5 }, (_, i) => ({
    fleetId: fleet.fleetId,
    vehicleId: fleet.vehicleId,
    cameraId: fleet.cameraId,
    recordingId: "r1",
    sequence: i,
    startMs: T0 + i * 2000,
    durationMs: 2000,
    size: 100,
    sha256: "x",
    objectKey: `k/${i}`,
  })));
  // The proxy uploaded: 08:00:00-08:00:40 (twenty 2 s segments), full quality only where above.
  await p.catalog.recordings.indexSegments(Array.from({ length: 20 }, (_, i) => ({
    fleetId: fleet.fleetId,
    vehicleId: fleet.vehicleId,
    cameraId: fleet.cameraId,
    recordingId: "r1-p",
    rendition: "proxy" as const,
    sequence: i,
    startMs: T0 + i * 2000,
    durationMs: 2000,
    size: 10,
    sha256: "x",
    objectKey: `p/${i}`,
  })));
  // The vehicle holds full quality 08:00:05-08:00:30 and a proxy of 08:00:00-08:01:00.
  await json(
    await p.call("POST", "/api/v1/device/heartbeat", {
      token: device,
      json: heartbeat({
        inventory: [
          {
            camera: "front",
            rendition: "full",
            ranges: [[T0 + 5000, T0 + 20_000], [T0 + 20_500, T0 + 30_000]],
          },
          { camera: "front", rendition: "proxy", ranges: [[T0, T0 + 60_000]] },
        ],
      }),
    }),
    200,
  );
  const found = await json(
    await p.call(
      "GET",
      `${at.camera}/availability?from=${iso(T0)}&to=${iso(T0 + 60_000)}`,
      { token: fleet.tokens.viewer },
    ),
    200,
  );
  const spans = (rendition: string) =>
    found.renditions.find((r: { rendition: string }) => r.rendition === rendition).spans
      .map((s: { from: string; to: string; where: string }) => [s.from, s.to, s.where]);
  assert.deepEqual(spans("full"), [
    [iso(T0), iso(T0 + 10_000), "server"],
    [iso(T0 + 10_000), iso(T0 + 30_000), "vehicle"],
    [iso(T0 + 30_000), iso(T0 + 60_000), "none"],
  ]);
  assert.deepEqual(spans("proxy"), [
    [iso(T0), iso(T0 + 40_000), "server"],
    [iso(T0 + 40_000), iso(T0 + 60_000), "vehicle"],
  ]);
  assert.ok(found.inventoryReportedAt);
  await json(
    await p.call(
      "GET",
      `${at.camera}/availability?from=${iso(T0)}&to=${iso(T0 + 8 * 86_400_000)}`,
      { token: fleet.tokens.viewer },
    ),
    400,
    "over 7 days",
  );
});
