/**
 * The real agent with a wrong clock (libfaketime on the agent and its ffmpeg, the monotonic clock
 * left alone) recording into the real server: an hour ahead and offline since boot, half a minute
 * behind, an hour behind. Each time it gets its device tokens, every segment it records is stored,
 * nothing is quarantined, and the segments sit on the true timeline, in the camera's playlist and
 * in their recording's: none before its agent started, none ending after it reached the server,
 * and the vehicle's estimate of its clock's error within half a second of libfaketime's.
 */
import assert from "node:assert/strict";
import { startAgent } from "../support/agent.ts";
import { setUpVehicle, signedLinks, type VehicleOnServer } from "../support/fleet_api.ts";
import { DISTRIBUTED, freePort, startServer, type TestServer } from "../support/server.ts";

const FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
const HOUR = 3_600_000;
/** Slack for the test's polling and the server's millisecond rounding. */
const SLACK_MS = 500;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The agent's environment for a clock `aheadMs` off (negative: behind). */
function wrongClock(aheadMs: number): Record<string, string> {
  const seconds = aheadMs / 1000;
  return {
    LD_PRELOAD: FAKETIME_LIB,
    FAKETIME: `${seconds >= 0 ? "+" : ""}${seconds}s`,
    FAKETIME_DONT_FAKE_MONOTONIC: "1",
    FAKETIME_NO_CACHE: "1",
  };
}

interface RecordingView {
  id: string;
  startedAt: string;
  endedAt: string;
  segmentCount: number;
}

interface Placed {
  recording: string;
  sequence: number;
  startMs: number;
  durationMs: number;
}

async function get(base: string, vehicle: VehicleOnServer, path: string): Promise<Response> {
  const response = await fetch(base + path, {
    headers: { authorization: `Bearer ${vehicle.ownerToken}` },
  });
  assert.ok(response.ok, `${path}: ${response.status}`);
  return response;
}

const cameraPath = (v: VehicleOnServer) =>
  `/api/v1/fleets/${v.fleetId}/vehicles/${v.vehicleId}/cameras/${v.cameras.front}`;

async function recordings(base: string, vehicle: VehicleOnServer): Promise<RecordingView[]> {
  return (await (await get(base, vehicle, `${cameraPath(vehicle)}/recordings`)).json()).recordings;
}

/** Media segments of an HLS playlist with their wall-clock places (gap entries left out). */
function placedSegments(text: string): Placed[] {
  const placed: Placed[] = [];
  let cursor = NaN;
  let duration = 0;
  let gap = false;
  for (const line of text.split("\n")) {
    if (line.startsWith("#EXT-X-PROGRAM-DATE-TIME:")) cursor = Date.parse(line.slice(25));
    else if (line.startsWith("#EXTINF:")) duration = Math.round(parseFloat(line.slice(8)) * 1000);
    else if (line === "#EXT-X-GAP") gap = true;
    else if (line && !line.startsWith("#")) {
      const match = /\/([A-Za-z0-9_-]+)\/(\d{10})\.m4s\?/.exec(line);
      if (match && !gap) {
        placed.push({
          recording: match[1],
          sequence: Number(match[2]),
          startMs: cursor,
          durationMs: duration,
        });
      }
      cursor += duration;
      gap = false;
    }
  }
  return placed;
}

/** While `during` runs, notes when (on this machine's true clock) each segment became listed. */
async function watchArrivals(
  base: string,
  vehicle: VehicleOnServer,
  during: () => Promise<void>,
): Promise<Map<string, number[]>> {
  const arrivals = new Map<string, number[]>();
  let done = false;
  const poll = (async () => {
    while (!done) {
      const now = Date.now();
      for (const r of await recordings(base, vehicle).catch(() => [])) {
        const seen = arrivals.get(r.id) ?? [];
        while (seen.length < r.segmentCount) seen.push(now);
        arrivals.set(r.id, seen);
      }
      await sleep(200);
    }
  })();
  try {
    await during();
  } finally {
    done = true;
    await poll;
  }
  return arrivals;
}

/** The last status the vehicle reported in a heartbeat. */
async function heartbeat(base: string, vehicle: VehicleOnServer) {
  const path = `/api/v1/fleets/${vehicle.fleetId}/vehicles/${vehicle.vehicleId}/status`;
  return (await (await get(base, vehicle, path)).json()).heartbeat;
}

async function quarantined(spoolDir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isDirectory) await walk(`${dir}/${entry.name}`);
      else found.push(`${dir}/${entry.name}`);
    }
  };
  await walk(`${spoolDir}/quarantine`).catch(() => {});
  return found;
}

Deno.test({
  name:
    "an agent whose clock is an hour ahead, 30 s behind or an hour behind loses and hides nothing",
  // Restarts the one server process on its DATA_DIR, which the distributed deployment has not
  // (its state is in its engines); tests/dvr/distributed_faults_test.ts restarts its processes.
  ignore: DISTRIBUTED,
  sanitizeResources: false,
  async fn(t) {
    const dataDir = await Deno.makeTempDir({ prefix: "motorcade-clock-" });
    const spoolDir = await Deno.makeTempDir({ prefix: "motorcade-spool-" });
    const env = { DATA_DIR: dataDir, PORT: String(freePort()) };
    let server: TestServer = await startServer(env);
    const vehicle = await setUpVehicle(server.url);
    const base = server.url;
    /** Segments each recording said it recorded, by recording id. */
    const recorded = new Map<string, number>();
    const arrivalsOf = new Map<string, number[]>();
    /** When each recording's agent was started (true time): nothing of it can be earlier. */
    const spawnedAt = new Map<string, number>();

    /** Runs the agent with its clock `aheadMs` off for `seconds`, and checks what it did. */
    const run = async (
      aheadMs: number,
      seconds: number,
      outage?: { seconds: number },
    ) => {
      const before = new Set((await recordings(base, vehicle)).map((r) => r.id));
      if (outage) await server.stop("SIGTERM");
      const spawned = Date.now();
      const agent = startAgent({
        server: base,
        stateDir: vehicle.stateDir,
        spoolDir,
        cameras: { front: "testsrc" },
        args: ["--video-size", "320x180", "--bitrate", "300000", "--heartbeat-seconds", "2"],
        env: wrongClock(aheadMs),
      });
      let status: Deno.CommandStatus | undefined;
      const arrivals = await watchArrivals(base, vehicle, async () => {
        if (outage) {
          await sleep(outage.seconds * 1000); // offline since boot: nothing to learn the time from
          server = await startServer(env);
        }
        await sleep(seconds * 1000);
        status = await agent.stop("SIGTERM");
        // The last segments and the end of the recording arrive during the drain.
        await sleep(1_000);
      });
      assert.equal(status?.code, 0, agent.logs.slice(-20).join("\n"));
      const logs = agent.logs.map((line) => {
        try {
          return JSON.parse(line);
        } catch {
          return { msg: line };
        }
      });
      const refusals = logs.filter((r) => /refused|quarantined|rejected/i.test(String(r.msg)));
      assert.deepEqual(refusals, [], "no token refused for good, nothing quarantined");
      for (const ended of logs.filter((r) => r.msg === "recording ended")) {
        recorded.set(String(ended.recordingId), Number(ended.segments));
      }
      const beat = await heartbeat(base, vehicle);
      assert.ok(
        Math.abs(beat.clock.aheadMs - aheadMs) <= SLACK_MS,
        `the vehicle knows its clock is ${beat.clock.aheadMs} ms ahead (truly ${aheadMs})`,
      );
      const fresh = [...arrivals].filter(([id]) => !before.has(id));
      assert.equal(fresh.length, 1, `one new recording: ${fresh.map(([id]) => id)}`);
      for (const [id, times] of fresh) {
        arrivalsOf.set(id, times);
        spawnedAt.set(id, spawned);
      }
    };

    try {
      await t.step("an hour ahead, offline since boot", () => run(HOUR, 10, { seconds: 6 }));
      await t.step("30 s behind", () => run(-30_000, 10));
      await t.step("an hour behind", () => run(-HOUR, 10));

      await t.step("every segment is stored and sits on the true timeline", async () => {
        const list = await recordings(base, vehicle);
        assert.deepEqual(
          list.map((r) => r.id).sort(),
          [...recorded.keys()].sort(),
          "every recording the agent made, and no other",
        );
        for (const r of list) {
          assert.ok(recorded.get(r.id)! >= 4, `${r.id}: ${recorded.get(r.id)} segments`);
          assert.equal(r.segmentCount, recorded.get(r.id), `${r.id}: every segment stored`);
        }
        assert.deepEqual(await quarantined(spoolDir), []);

        // On the true timeline, the three runs follow one another in the order they happened.
        const order = list.map((r) => r.id);
        assert.deepEqual(order, [...arrivalsOf.keys()], "recordings in the order recorded");

        const from = new Date(Math.min(...list.map((r) => Date.parse(r.startedAt))));
        const to = new Date(Math.max(...list.map((r) => Date.parse(r.endedAt))) + 1);
        const links = await signedLinks(base, vehicle, "front", { from, to });
        const camera = placedSegments(await (await fetch(links.hls)).text());
        for (const r of list) {
          const own = placedSegments(
            await (await get(base, vehicle, `${cameraPath(vehicle)}/recordings/${r.id}/index.m3u8`))
              .text(),
          );
          const sequences = own.map((s) => s.sequence);
          assert.deepEqual(sequences, sequences.map((_, i) => i), `${r.id}: its own playlist`);
          assert.equal(own.length, r.segmentCount);
          const inCamera = camera.filter((s) => s.recording === r.id);
          assert.deepEqual(inCamera, own, `${r.id}: in the camera's playlist, at the same places`);

          // On the true timeline: it started after its agent did, and each segment ended before
          // it reached the server (an hour or 30 s off would break one or the other).
          assert.ok(
            own[0].startMs >= spawnedAt.get(r.id)! - SLACK_MS,
            `${r.id}: starts ${spawnedAt.get(r.id)! - own[0].startMs} ms before its agent did`,
          );
          const arrivals = arrivalsOf.get(r.id)!;
          own.forEach((segment, i) => {
            const end = segment.startMs + segment.durationMs;
            assert.ok(
              end <= arrivals[i] + SLACK_MS,
              `${r.id}/${i}: ends ${end - arrivals[i]} ms after it reached the server`,
            );
          });
        }
      });
    } finally {
      await server.stop();
      await Deno.remove(dataDir, { recursive: true });
      await Deno.remove(spoolDir, { recursive: true });
      await Deno.remove(vehicle.stateDir, { recursive: true });
    }
  },
});
