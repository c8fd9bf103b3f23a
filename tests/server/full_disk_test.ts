/**
 * A full disk, for real: a small tmpfs the test mounts (root in the mount namespace of
 * scripts/netns.sh) holds the server's DATA_DIR, and a filler file fills it to the last page.
 */
import assert from "node:assert/strict";
import { setUpVehicle, signedLinks, type VehicleOnServer } from "../support/fleet_api.ts";
import { type CmafFixture, contentDigest, makeCmaf } from "../support/media.ts";
import { SEGMENTS_TOPIC } from "../../lib/bus/mod.ts";
import { InsufficientStorageError } from "../../lib/errors/mod.ts";
import type { SegmentStored } from "../../lib/ingest/mod.ts";
import { liveServerEnv } from "../support/live.ts";
import { makeFleet, OWNER, startTestPlatform } from "../support/platform.ts";
import { freePort, startServer, type TestServer } from "../support/server.ts";

/** A tmpfs of `size` mounted on a new temporary folder; disposing unmounts and removes it. */
async function smallDisk(size = "64m"): Promise<AsyncDisposable & { dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "motorcade-small-disk-" });
  const mounted = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir],
    stderr: "piped",
  }).output();
  if (!mounted.success) {
    await Deno.remove(dir);
    throw new Error(
      `Cannot mount a tmpfs for the full-disk test (run it inside scripts/netns.sh): ${
        new TextDecoder().decode(mounted.stderr)
      }`,
    );
  }
  return {
    dir,
    async [Symbol.asyncDispose]() {
      for (const args of [[dir], ["-l", dir]]) {
        if ((await new Deno.Command("umount", { args, stderr: "null" }).output()).success) break;
      }
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** Fills the file system of `dir` to its last byte with a file; returns the file's path. */
function fill(dir: string): string {
  const path = `${dir}/filler`;
  const file = Deno.openSync(path, { write: true, create: true, append: true });
  try {
    for (const size of [1 << 20, 4096, 1]) {
      const chunk = new Uint8Array(size);
      try {
        for (let i = 0; i < 1 << 20; i++) file.writeSync(chunk);
      } catch { /* full at this size: go on with smaller pieces */ }
    }
  } finally {
    file.close();
  }
  return path;
}

/** Waits until `check` returns a value other than undefined (every 200 ms), at most `ms`. */
async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  ms = 20_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what}: not within ${ms} ms${last ? ` (${last})` : ""}`);
}

/** A vehicle uploading one recording's fixture to a real server. */
class Uploader {
  /** Sequences answered 2xx. */
  readonly accepted = new Set<number>();

  constructor(
    readonly server: TestServer,
    readonly vehicle: VehicleOnServer,
    readonly cmaf: CmafFixture,
    readonly startMs = Date.now() - 120_000,
    readonly recordingId = "r1",
  ) {}

  get base(): string {
    return `${this.server.url}/api/v1/ingest/vehicles/${this.vehicle.vehicleId}/cameras/front/recordings`;
  }

  async #put(path: string, bytes: Uint8Array, headers: Record<string, string>) {
    return await fetch(`${this.base}/${this.recordingId}/${path}`, {
      method: "PUT",
      headers: {
        authorization: `Bearer ${await this.vehicle.tokens!.token()}`,
        "content-digest": await contentDigest(bytes),
        ...headers,
      },
      body: bytes as BodyInit,
    });
  }

  async init(): Promise<Response> {
    return await this.#put("init", this.cmaf.init, { "content-type": "video/mp4" });
  }

  async segment(sequence: number): Promise<Response> {
    const { bytes, durationMs } = this.cmaf.segments[sequence];
    const at = this.startMs +
      this.cmaf.segments.slice(0, sequence).reduce((n, s) => n + s.durationMs, 0);
    const response = await this.#put(`segments/${sequence}`, bytes, {
      "content-type": "video/iso.segment",
      "motorcade-segment-start": new Date(at).toISOString(),
      "motorcade-segment-duration": (durationMs / 1000).toFixed(3),
    });
    if (response.ok) this.accepted.add(sequence);
    return response;
  }

  /** Says that `recordingId` ended (publishes an event and nothing else). */
  async end(recordingId: string): Promise<Response> {
    return await fetch(`${this.base}/${recordingId}/end`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${await this.vehicle.tokens!.token()}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ endedAt: new Date().toISOString() }),
    });
  }

  /** The recording's segment count in the catalog, as the API lists it. */
  async indexed(): Promise<number> {
    const { fleetId, vehicleId, cameras, ownerToken } = this.vehicle;
    const response = await fetch(
      `${this.server.url}/api/v1/fleets/${fleetId}/vehicles/${vehicleId}/cameras/${cameras.front}/recordings`,
      { headers: { authorization: `Bearer ${ownerToken}` } },
    );
    assert.equal(response.status, 200, "the recordings API reads");
    const { recordings } = await response.json();
    return recordings.find((r: { id: string }) => r.id === this.recordingId)?.segmentCount ?? 0;
  }

  /** Waits until the catalog holds every accepted segment. */
  async allIndexed(ms = 30_000): Promise<void> {
    await eventually(
      `all ${this.accepted.size} accepted segments indexed`,
      async () => (await this.indexed()) === this.accepted.size ? true : undefined,
      ms,
    );
  }
}

/** An HLS playlist and one of its segments still answer 200; returns the playlist's segments. */
async function readsWork(hls: string): Promise<number> {
  const playlist = await fetch(hls);
  assert.equal(playlist.status, 200, "the playlist reads");
  const text = await playlist.text();
  const uri = text.split("\n").find((line) => line && !line.startsWith("#"));
  assert.ok(uri, text);
  const media = await fetch(new URL(uri, hls));
  assert.equal(media.status, 200, "a segment reads");
  assert.ok((await media.arrayBuffer()).byteLength > 0);
  return text.split("\n").filter((line) => line.startsWith("#EXTINF")).length;
}

async function readiness(server: TestServer) {
  const response = await fetch(`${server.url}/readyz`);
  return { status: response.status, body: await response.json() };
}

async function metric(server: TestServer, line: RegExp): Promise<number | undefined> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const match = text.split("\n").find((l) => line.test(l));
  return match === undefined ? undefined : Number(match.split(" ").at(-1));
}

/** Asserts the answer of an upload refused for storage: 507 problem+json with Retry-After. */
async function assertInsufficientStorage(response: Response, cause: RegExp) {
  const body = await response.json();
  assert.equal(response.status, 507, JSON.stringify(body));
  assert.equal(response.headers.get("content-type"), "application/problem+json");
  assert.ok(Number(response.headers.get("retry-after")) > 0, "Retry-After");
  assert.equal(body.code, "insufficient_storage");
  assert.match(body.detail, cause);
}

const MIB = 1 << 20;
const FULL = /no space left|below MIN_FREE_BYTES|database or disk is full/i;

Deno.test({
  name: "server survives a full disk: uploads get 507, reads work, and it resumes losing nothing",
  sanitizeResources: false,
  async fn() {
    const cmaf = await makeCmaf({ seconds: 16 });
    await using disk = await smallDisk();
    // The catalog elsewhere, so that indexing works on while the bus's disk is full.
    const catalogDir = await Deno.makeTempDir({ prefix: "motorcade-catalog-" });
    try {
      await using server = await startServer({
        DATA_DIR: disk.dir,
        CATALOG_URL: `sqlite:${catalogDir}/catalog.db`,
        MIN_FREE_BYTES: String(MIB),
      });
      const vehicle = await setUpVehicle(server.url);
      const upload = new Uploader(server, vehicle, cmaf);
      assert.equal((await upload.init()).status, 201);
      for (let n = 0; n < 3; n++) assert.equal((await upload.segment(n)).status, 201);
      await upload.allIndexed();
      const links = await signedLinks(server.url, vehicle, "front", {
        from: new Date(upload.startMs - 60_000),
      });
      await readsWork(links.hls);

      const filler = fill(disk.dir);
      // An end event takes at most one more page of the bus log: give it one when it needs it.
      let ended = await upload.end("r0");
      if (ended.status !== 204) {
        await assertInsufficientStorage(ended, /no space left on device/);
        await Deno.truncate(filler, (await Deno.stat(filler)).size - 4096);
        ended = await upload.end("r0");
      }
      assert.equal(ended.status, 204);
      // The disk is full again; the indexer consumes the event and its offset commit fails
      // (what once ended the process).
      await eventually(
        "the failed offset commit counted",
        async () =>
          (await metric(server, /^motorcade_storage_write_errors_total\{component="bus"\}/) ?? 0) >
              0
            ? true
            : undefined,
        15_000,
      );
      for (let i = 0; i < 10; i++) {
        const alive = await fetch(`${server.url}/healthz`);
        assert.equal(alive.status, 200, "the server is alive");
        await alive.body?.cancel();
        await new Promise((r) => setTimeout(r, 250));
      }
      const ready = await readiness(server);
      assert.equal(ready.status, 503);
      assert.equal(ready.body.checks.storage.ok, false);
      assert.match(ready.body.checks.storage.error, FULL);
      assert.equal(await metric(server, /^motorcade_storage_writable /), 0);

      await assertInsufficientStorage(await upload.segment(3), FULL);
      assert.deepEqual([...Deno.readDirSync(`${disk.dir}/objects/.tmp`)], [], "no partial file");
      await readsWork(links.hls);
      assert.equal(await upload.indexed(), 3);

      await Deno.remove(filler);
      await eventually("ready again", async () => {
        const { status } = await readiness(server);
        return status === 200 ? true : undefined;
      }, 15_000);
      assert.equal(await metric(server, /^motorcade_storage_writable /), 1);
      // The vehicle retries what was refused, then goes on.
      for (let n = 3; n < cmaf.segments.length; n++) {
        assert.equal((await upload.segment(n)).status, 201, `segment ${n}`);
      }
      await upload.allIndexed();
      assert.equal(upload.accepted.size, cmaf.segments.length);
      assert.equal(await readsWork(links.hls), cmaf.segments.length);

      const status = await server.stop("SIGTERM");
      assert.equal(status.code, 0, "the server never exited before, and stops cleanly");
    } finally {
      await Deno.remove(catalogDir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "server stopped on a full disk starts again not ready (live working), and is ready when space returns",
  sanitizeResources: false,
  async fn() {
    const cmaf = await makeCmaf({ seconds: 8 });
    await using disk = await smallDisk();
    // One port for both starts: signed links name it. No floor, so no ballast: only SQLite's own
    // files left by a stop on a full disk let the catalog open.
    const env = {
      DATA_DIR: disk.dir,
      MIN_FREE_BYTES: "0",
      PORT: String(freePort()),
      ...liveServerEnv(),
    };
    const first = await startServer(env);
    let vehicle: VehicleOnServer;
    let links: { hls: string };
    let filler: string;
    let startMs: number;
    try {
      vehicle = await setUpVehicle(first.url);
      const upload = new Uploader(first, vehicle, cmaf);
      startMs = upload.startMs;
      assert.equal((await upload.init()).status, 201);
      for (let n = 0; n < 2; n++) assert.equal((await upload.segment(n)).status, 201);
      await upload.allIndexed();
      links = await signedLinks(first.url, vehicle, "front", {
        from: new Date(upload.startMs - 60_000),
      });
      filler = fill(disk.dir);
      // Signing in stores a session: on a full catalog it is refused, for now.
      const login = await fetch(`${first.url}/api/v1/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(OWNER),
      });
      await assertInsufficientStorage(login, /database or disk is full/);
      await readsWork(links.hls);
      assert.equal((await first.stop("SIGTERM")).code, 0, "stops cleanly on a full disk");
    } finally {
      await first[Symbol.asyncDispose]();
    }

    await using server = await startServer(env);
    const alive = await fetch(`${server.url}/healthz`);
    assert.equal(alive.status, 200);
    await alive.body?.cancel();
    const ready = await readiness(server);
    assert.equal(ready.status, 503);
    assert.match(ready.body.checks.storage.error, FULL);
    // Janus's configuration (fresh secrets), rewritten at every start, takes the room it frees.
    await eventually("live ready on the full disk", async () => {
      const { body } = await readiness(server);
      return body.checks.janus.ok && !body.checks.storage.ok ? true : undefined;
    });
    await readsWork(links.hls);
    const upload = new Uploader(server, vehicle, cmaf, startMs);
    await assertInsufficientStorage(await upload.segment(2), FULL);

    await Deno.remove(filler);
    await eventually("ready again", async () => {
      const { status } = await readiness(server);
      return status === 200 ? true : undefined;
    }, 15_000);
    for (const n of [0, 1, 2, 3]) assert.ok((await upload.segment(n)).ok, `segment ${n}`);
    await upload.allIndexed();
    assert.equal(await readsWork(links.hls), 4);
    assert.equal((await server.stop("SIGTERM")).code, 0);
  },
});

Deno.test({
  name: "catalog refuses writes on a full disk with 507, and the indexer retries until it can",
  sanitizeResources: false,
  async fn() {
    await using disk = await smallDisk("16m");
    // The bus elsewhere: its events arrive while the catalog's disk is full.
    const busDir = await Deno.makeTempDir({ prefix: "motorcade-bus-" });
    try {
      await using platform = await startTestPlatform({
        CATALOG_URL: `sqlite:${disk.dir}/catalog.db`,
        BUS_URL: `log:${busDir}`,
        MIN_FREE_BYTES: "0",
      });
      const fleet = await makeFleet(platform, "Acme");
      const events: SegmentStored[] = Array.from({ length: 20 }, (_, sequence) => ({
        type: "segment.stored",
        fleetId: fleet.fleetId,
        vehicleId: fleet.vehicleId,
        cameraId: fleet.cameraId,
        recordingId: "r1",
        sequence,
        startMs: Date.now() - 60_000 + sequence * 2000,
        durationMs: 2000,
        size: 1000,
        sha256: "AAAA",
        objectKey: `r1/${sequence}.m4s`,
      }));
      const filler = fill(disk.dir);
      // A transaction SQLite rolled back by itself (SQLITE_FULL) is reported as what it is.
      const { type: _, ...segment } = events[0];
      const error = await (async () => await platform.catalog.recordings.indexSegments([segment]))()
        .catch((e) => e);
      assert.ok(error instanceof InsufficientStorageError, String(error));
      assert.equal(error.status, 507);
      assert.match(error.message, /Cannot write to the catalog now: database or disk is full/);

      for (const event of events) await platform.bus.publish(SEGMENTS_TOPIC, event.cameraId, event);
      const list = () => platform.catalog.recordings.list(fleet.fleetId, fleet.cameraId);
      await new Promise((r) => setTimeout(r, 1000));
      assert.deepEqual(await list(), [], "nothing indexed while the disk is full");

      await Deno.remove(filler);
      const [recording] = await eventually("all events indexed", async () => {
        const recordings = await list();
        return recordings[0]?.segmentCount === events.length ? recordings : undefined;
      });
      assert.equal(recording.id, "r1");
    } finally {
      await Deno.remove(busDir, { recursive: true });
    }
  },
});

Deno.test({
  name: "server stopped cleanly starts on a disk filled meanwhile by giving up its ballast",
  sanitizeResources: false,
  async fn() {
    const cmaf = await makeCmaf({ seconds: 6 });
    await using disk = await smallDisk();
    const env = { DATA_DIR: disk.dir, MIN_FREE_BYTES: String(8 * MIB), PORT: String(freePort()) };
    const ballast = `${disk.dir}/.motorcade-ballast`;
    const first = await startServer(env);
    let upload: Uploader;
    let links: { hls: string };
    try {
      const vehicle = await setUpVehicle(first.url);
      upload = new Uploader(first, vehicle, cmaf);
      assert.equal((await upload.init()).status, 201);
      assert.equal((await upload.segment(0)).status, 201);
      await upload.allIndexed();
      links = await signedLinks(first.url, vehicle, "front", {
        from: new Date(upload.startMs - 60_000),
      });
      assert.equal((await Deno.stat(ballast)).size, 4 * MIB, "a ballast is kept");
      assert.equal((await first.stop("SIGTERM")).code, 0);
    } finally {
      await first[Symbol.asyncDispose]();
    }

    // A clean stop removed SQLite's WAL index: opening the catalog needs room again.
    const filler = fill(disk.dir);
    await using server = await startServer(env);
    assert.ok(server.logs.some((line) => line.includes("gave up the ballast")), "ballast given up");
    const ready = await readiness(server);
    assert.equal(ready.status, 503);
    assert.match(ready.body.checks.storage.error, /below MIN_FREE_BYTES/);
    await readsWork(links.hls);
    upload = new Uploader(server, upload.vehicle, cmaf, upload.startMs);
    await assertInsufficientStorage(await upload.segment(1), /below MIN_FREE_BYTES/);

    await Deno.remove(filler);
    await eventually("ready again", async () => {
      const { status } = await readiness(server);
      return status === 200 ? true : undefined;
    }, 15_000);
    assert.equal((await upload.segment(1)).status, 201);
    upload.accepted.add(0);
    await upload.allIndexed();
    await eventually("the ballast kept again", async () => {
      const info = await Deno.stat(ballast).catch(() => undefined);
      return info?.size === 4 * MIB ? true : undefined;
    }, 10_000);
    assert.equal((await server.stop("SIGTERM")).code, 0);
  },
});
