/** Recall states from vehicle reports, availability spans and instructions versions. */
import assert from "node:assert/strict";
import type { UploadPolicy } from "../../lib/catalog/mod.ts";
import { buildInstructions, effectivePolicy } from "../../lib/policy/mod.ts";
import { availabilitySpans, mergeRanges, recallStateOf } from "../../lib/recall/mod.ts";

const report = (state: "pending" | "uploading" | "done", done: number, reasons: string[] = []) => ({
  id: "rcl_x",
  state,
  segmentsTotal: 10,
  segmentsDone: done,
  bytesTotal: 100,
  bytesDone: done * 10,
  missing: reasons.map((reason, i) => ({
    from: new Date(i * 1000).toISOString(),
    to: new Date(i * 1000 + 500).toISOString(),
    reason: reason as "evicted" | "not-recorded",
  })),
});

Deno.test("a recall's state follows the vehicle's report", () => {
  assert.equal(recallStateOf(report("pending", 0)).state, "uploading");
  assert.equal(recallStateOf(report("uploading", 3)).state, "uploading");
  assert.equal(recallStateOf(report("done", 10)).state, "complete");
  assert.equal(recallStateOf(report("done", 8, ["evicted"])).state, "partial");
  assert.equal(recallStateOf(report("done", 0, ["evicted", "evicted"])).state, "expired");
  assert.equal(recallStateOf(report("done", 0, ["not-recorded"])).state, "partial");
  assert.deepEqual(recallStateOf(report("done", 8, ["evicted"])).progress.missing, [
    { fromMs: 0, toMs: 500, reason: "evicted" },
  ]);
});

Deno.test("ranges merge when under a second apart and are clipped to the range asked", () => {
  assert.deepEqual(
    mergeRanges([[5000, 9000], [0, 2000], [3000, 4000], [4500, 4800], [1500, 1900]], 1000, 8000),
    [[1000, 2000], [3000, 8000]],
  );
});

Deno.test("availability prefers the server, then the vehicle, and names the rest nowhere", () => {
  assert.deepEqual(availabilitySpans(0, 100_000, [[10_000, 20_000]], [[0, 50_000]]), [
    { fromMs: 0, toMs: 10_000, where: "vehicle" },
    { fromMs: 10_000, toMs: 20_000, where: "server" },
    { fromMs: 20_000, toMs: 50_000, where: "vehicle" },
    { fromMs: 50_000, toMs: 100_000, where: "none" },
  ]);
  assert.deepEqual(availabilitySpans(0, 10, [], []), [{ fromMs: 0, toMs: 10, where: "none" }]);
});

const policy = (
  scope: UploadPolicy["scope"],
  mode: UploadPolicy["mode"],
  ids: { vehicleId?: string; cameraId?: string } = {},
): UploadPolicy => ({
  scope,
  fleetId: "flt",
  vehicleId: ids.vehicleId ?? null,
  cameraId: ids.cameraId ?? null,
  mode,
  proxy: { height: 320, bitrateKbps: 150 },
  recallMaxSeconds: null,
  updatedAt: new Date(0),
});

Deno.test("the narrowest policy set applies to a camera", () => {
  const policies = [
    policy("fleet", "proxy"),
    policy("vehicle", "on-request", { vehicleId: "v1" }),
    policy("camera", "continuous", { vehicleId: "v1", cameraId: "c1" }),
  ];
  assert.equal(effectivePolicy(policies, "v1", "c1").source, "camera");
  assert.equal(effectivePolicy(policies, "v1", "c2").mode, "on-request");
  assert.equal(effectivePolicy(policies.slice(0, 1), "v1", "c2").source, "fleet");
  assert.deepEqual(effectivePolicy([], "v1", "c1").source, "default");
});

Deno.test("instructions change version exactly when what they say changes", async () => {
  const cameras = [{ id: "c1", name: "front" }, { id: "c2", name: "cabin" }];
  const recall = { id: "rcl_1", cameraId: "c1", fromMs: 0, toMs: 60_000 };
  const one = await buildInstructions({ segmentSeconds: null }, "v1", cameras, [], [recall]);
  const same = await buildInstructions({ segmentSeconds: null }, "v1", [...cameras].reverse(), [], [
    recall,
  ]);
  assert.equal(one.version, same.version);
  assert.deepEqual(one.cameras.map((c) => c.camera), ["cabin", "front"]);
  assert.deepEqual(one.recalls, [{
    id: "rcl_1",
    camera: "front",
    from: "1970-01-01T00:00:00.000Z",
    to: "1970-01-01T00:01:00.000Z",
  }]);
  const versions = new Set([
    one.version,
    (await buildInstructions({ segmentSeconds: 4 }, "v1", cameras, [], [recall])).version,
    (await buildInstructions({ segmentSeconds: null }, "v1", cameras, [], [])).version,
    (await buildInstructions({ segmentSeconds: null }, "v1", cameras, [policy("fleet", "proxy")], [
      recall,
    ])).version,
  ]);
  assert.equal(versions.size, 4);
});
