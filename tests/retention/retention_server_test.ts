/**
 * Retention through the real server, embedded (one process, SQLite, files) and distributed (the
 * deployment of tests/support/distributed.ts: PostgreSQL, S3, Kafka, the sweep in the indexer
 * process, playlists served by the api process), from the same test: a vehicle uploads a recording from 40 days ago (as one back from weeks
 * offline does from its spool) and one from a minute ago. While the fleet keeps everything the
 * sweep touches nothing; the dry-run counts what 30 days would delete; once the fleet keeps 30
 * days the sweep deletes exactly that from the store and the catalog, the metrics say so, the old
 * range's playlist lists nothing and the new one still plays. Bad retention values are 400s.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { apiCall, setUpVehicle, signedLinks } from "../support/fleet_api.ts";
import { makeCmaf } from "../support/media.ts";
import { recordingUpload } from "../support/recording_upload.ts";
import { startDistributed } from "../support/distributed.ts";
import { startServerProcess, type TestServer } from "../support/server.ts";
import { FsObjectStore, type ObjectStore } from "../../lib/storage/mod.ts";

const DAY_MS = 86_400_000;

/** A Prometheus sample's value from the /metrics of the process at `url` (0 when absent). */
async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const match = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  return match ? Number(match[1]) : 0;
}

/** Polls `check` every 200 ms until it returns true, at most `tries` times. */
async function until(what: string, check: () => Promise<boolean>, tries = 300): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.fail(`Timed out waiting for ${what}`);
}

/** The `#EXTINF` entries of the HLS playlist at `url` (0 when it has none or is not found). */
async function entries(url: string): Promise<number> {
  const response = await fetch(url);
  const text = await response.text();
  if (response.status === 404) return 0;
  assert.equal(response.status, 200, text);
  return (text.match(/#EXTINF/g) ?? []).length;
}

/** Keys the store holds under `prefix`. */
async function keysUnder(store: ObjectStore, prefix: string): Promise<string[]> {
  const keys = [];
  for await (const key of store.list(prefix)) keys.push(key);
  return keys.sort();
}

/** A running deployment: its URL, its object store, and the URL of the process that sweeps. */
interface Deployment {
  server: TestServer;
  store: ObjectStore;
  sweeperUrl: string;
}

async function retentionThroughServer({ server, store, sweeperUrl }: Deployment) {
  const cmaf = await makeCmaf({ seconds: 6 });
  const count = cmaf.segments.length;
  const total = cmaf.segments.reduce((ms, s) => ms + s.durationMs, 0);
  const vehicle = await setUpVehicle(server.url);
  const token = await vehicle.tokens!.token();
  const fleet = `/api/v1/fleets/${vehicle.fleetId}`;
  const owner = vehicle.ownerToken;
  const call = (method: string, path: string, json?: unknown) =>
    fetch(server.url + path, {
      method,
      headers: {
        authorization: `Bearer ${owner}`,
        ...(json === undefined ? {} : { "content-type": "application/json" }),
      },
      body: json === undefined ? undefined : JSON.stringify(json),
    });

  // A recording from 40 days ago, ended, and one from a minute ago.
  const oldStart = Date.now() - 40 * DAY_MS;
  const old = recordingUpload(server.url, vehicle.vehicleId, token, cmaf, {
    recording: "r-old",
    start: oldStart,
  });
  const fresh = recordingUpload(server.url, vehicle.vehicleId, token, cmaf, { recording: "r-new" });
  for (const upload of [old, fresh]) {
    assert.equal(
      (await upload.put("init", cmaf.init, { "content-type": "video/mp4" })).status,
      201,
    );
    for (let i = 0; i < count; i++) assert.equal((await upload.segment(i)).status, 201);
  }
  const ended = await fetch(
    `${server.url}/api/v1/ingest/vehicles/${vehicle.vehicleId}/cameras/front/recordings/r-old/end`,
    {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ endedAt: new Date(oldStart + total).toISOString() }),
    },
  );
  assert.equal(ended.status, 204, await ended.text());

  // Kept forever (the default): the dry-run for 30 days counts the old recording once indexed.
  assert.equal((await apiCall(server.url, "GET", fleet, owner)).retentionDays, null);
  const kept = await apiCall(server.url, "GET", `${fleet}/retention`, owner);
  assert.deepEqual(kept, {
    retentionDays: null,
    cutoff: null,
    expired: { segments: 0, bytes: 0, recordings: 0 },
  });
  const oldBytes = cmaf.segments.reduce((n, s) => n + s.bytes.byteLength, 0);
  let dryRun: { retentionDays: number; cutoff: string; expired: Record<string, number> };
  await until("the old recording indexed and closed", async () => {
    dryRun = await apiCall(server.url, "GET", `${fleet}/retention?retentionDays=30`, owner);
    return dryRun.expired.recordings === 1 && dryRun.expired.segments === count;
  });
  assert.deepEqual(dryRun!.expired, { segments: count, bytes: oldBytes, recordings: 1 });
  assert.equal(dryRun!.retentionDays, 30);
  assert.ok(Math.abs(Date.parse(dryRun!.cutoff) - (Date.now() - 30 * DAY_MS)) < 60_000);

  // Bad values are refused, naming the field; nothing changes.
  for (const retentionDays of [0, -1, "x", 10000, 1.5, true]) {
    const response = await call("PATCH", fleet, { retentionDays });
    const problem = await response.json();
    assert.equal(response.status, 400, `${retentionDays}: ${JSON.stringify(problem)}`);
    assert.match(problem.detail, /retentionDays/, JSON.stringify(problem));
  }
  for (const query of ["0", "x", "10000", "-1"]) {
    const response = await call("GET", `${fleet}/retention?retentionDays=${query}`);
    const problem = await response.json();
    assert.equal(response.status, 400, `${query}: ${JSON.stringify(problem)}`);
    assert.match(problem.detail, /retentionDays/, JSON.stringify(problem));
  }
  const empty = await call("PATCH", fleet, {});
  assert.equal(empty.status, 400);
  assert.match((await empty.json()).detail, /nothing to change, give name, retentionDays/);

  // Sweeps run (every second here) and delete nothing of a fleet that keeps everything.
  const oldLinks = await signedLinks(server.url, vehicle, "front", {
    from: new Date(oldStart - 1000),
    to: new Date(oldStart + total + 1000),
  });
  const newLinks = await signedLinks(server.url, vehicle, "front", {
    from: new Date(fresh.start - 1000),
    to: new Date(fresh.start + total + 1000),
  });
  await until("new segments indexed", async () => (await entries(newLinks.hls)) === count);
  const swept = await metric(sweeperUrl, "motorcade_retention_last_sweep_timestamp_seconds");
  await until(
    "two more sweeps",
    async () =>
      await metric(sweeperUrl, "motorcade_retention_last_sweep_timestamp_seconds") > swept + 1,
  );
  assert.equal(await metric(sweeperUrl, "motorcade_retention_deleted_segments_total"), 0);
  assert.equal(await entries(oldLinks.hls), count);
  const prefix =
    `fleets/${vehicle.fleetId}/vehicles/${vehicle.vehicleId}/cameras/${vehicle.cameras.front}`;
  assert.equal((await keysUnder(store, `${prefix}/r-old`)).length, count + 1);

  // Keep 30 days: the next sweeps delete what the dry-run counted, and nothing else.
  const changed = await call("PATCH", fleet, { retentionDays: 30 });
  assert.equal(changed.status, 200);
  assert.equal((await changed.json()).retentionDays, 30);
  assert.equal((await apiCall(server.url, "GET", fleet, owner)).retentionDays, 30);
  await until("the sweep to delete the old recording", async () => {
    const left = await apiCall(server.url, "GET", `${fleet}/retention`, owner);
    return left.expired.segments === 0 && left.expired.recordings === 0;
  });
  await until(
    "the metrics to count it",
    async () => await metric(sweeperUrl, "motorcade_retention_deleted_recordings_total") === 1,
  );
  assert.equal(await metric(sweeperUrl, "motorcade_retention_deleted_segments_total"), count);
  assert.equal(await metric(sweeperUrl, "motorcade_retention_deleted_bytes_total"), oldBytes);
  assert.equal(await metric(sweeperUrl, "motorcade_retention_sweep_errors_total"), 0);
  assert.deepEqual(await keysUnder(store, `${prefix}/r-old`), [], "old objects gone");
  assert.equal((await keysUnder(store, `${prefix}/r-new`)).length, count + 1);
  assert.equal(await entries(oldLinks.hls), 0, "the old range lists nothing");

  // The new recording's playlist still plays whole.
  assert.equal(await entries(newLinks.hls), count);
  const out = join(await Deno.makeTempDir({ prefix: "motorcade-retention-play-" }), "new.mp4");
  try {
    const copy = await new Deno.Command("ffmpeg", {
      args: ["-v", "error", "-y", "-i", newLinks.hls, "-c", "copy", out],
      stderr: "piped",
    }).output();
    assert.ok(copy.success, new TextDecoder().decode(copy.stderr));
    const probe = await new Deno.Command("ffprobe", {
      args: ["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", out],
      stdout: "piped",
    }).output();
    const duration = Number(new TextDecoder().decode(probe.stdout));
    assert.ok(Math.abs(duration - total / 1000) <= 1, `played ${duration} s`);
  } finally {
    await Deno.remove(join(out, ".."), { recursive: true });
  }

  // Back to keeping everything.
  const forever = await call("PATCH", fleet, { retentionDays: null });
  assert.equal((await forever.json()).retentionDays, null);
  await Deno.remove(vehicle.stateDir, { recursive: true });
}

Deno.test("retention through the server deletes what the dry-run counted, embedded", async () => {
  await using server = await startServerProcess({ RETENTION_INTERVAL: "1s" });
  const store = new FsObjectStore(`${server.dataDir}/objects`);
  await retentionThroughServer({ server, store, sweeperUrl: server.url });
});

Deno.test("retention through the server deletes what the dry-run counted, distributed", async () => {
  await using server = await startDistributed({ RETENTION_INTERVAL: "1s" });
  await retentionThroughServer({
    server,
    store: server.objects(),
    sweeperUrl: server.processes.indexer.url,
  });
});
