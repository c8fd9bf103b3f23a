/**
 * Recall from vehicles that were offline when it was filed: the real server, two agents as child
 * processes behind one link the test cuts for minutes and restores, real ffmpeg making both
 * renditions. One vehicle is on-request (nothing on the server but what is recalled), the other
 * proxy (the proxy everywhere, full quality where recalled); the on-request agent is killed and
 * started again in the middle of the outage, with a recall it already held.
 */
import assert from "node:assert/strict";
import { apiCall, signedLinks } from "../support/fleet_api.ts";
import { startVehicleLink } from "../support/link.ts";
import { ffmpegDecode } from "../support/native_players.ts";
import { startServer } from "../support/server.ts";
import {
  eventually,
  makeTestVehicle,
  readQueue,
  removeTestVehicle,
  startAgent,
  storedOnServer,
  type TestVehicle,
} from "./agent_harness.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** How long the link is down. */
const OUTAGE_MS = 150_000;
/** When the on-request agent is killed and started again, after the cut. */
const RESTART_AT_MS = 60_000;

type Recall = {
  id: string;
  state: string;
  progress: { segmentsDone: number; missing: unknown[] } | null;
};

/** Segments the server stored for a vehicle's camera: per rendition, over all its recordings. */
async function storedCounts(dataDir: string, vehicle: TestVehicle) {
  const counts = { full: 0, proxy: 0 };
  for (const [id, { sequences }] of await storedOnServer(dataDir, vehicle.vehicle, "front")) {
    counts[id.endsWith("-p") ? "proxy" : "full"] += sequences.length;
  }
  return counts;
}

/** Width, height and frame count of the first video stream ffprobe reads at `url`. */
async function probe(url: string): Promise<string> {
  const output = await new Deno.Command("ffprobe", {
    args: [
      "-v",
      "error",
      "-select_streams",
      "v:0",
      "-count_packets",
      "-show_entries",
      "stream=width,height,nb_read_packets",
      "-of",
      "csv=p=0",
      url,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout).trim().split("\n")[0];
  return text || `ffprobe failed: ${new TextDecoder().decode(output.stderr).slice(-500)}`;
}

Deno.test("recalls filed while an on-request and a proxy vehicle are offline for minutes complete when they are back, and play in full quality only for their ranges", async () => {
  await using server = await startServer();
  await using link = startVehicleLink(Number(new URL(server.url).port));
  const make = async (fleet: string) => {
    const made = await makeTestVehicle(server.url, ["front"], {
      server: link.url,
      video: { size: "640x360", fps: 25, bitrate: "400k" },
      stopDrainSeconds: 5,
    }, { fleet });
    made.serverHost = link.host;
    return made;
  };
  const onRequest = await make("Acme");
  const proxied = await make("Globex");
  const api = (vehicle: TestVehicle, method: string, path: string, body?: unknown) => {
    const { fleetId, vehicleId, cameras, ownerToken } = vehicle.vehicle;
    return apiCall(
      server.url,
      method,
      `/api/v1/fleets/${fleetId}/vehicles/${vehicleId}${
        path.replace("{camera}", `cameras/${cameras.front}`)
      }`,
      ownerToken,
      body,
    );
  };
  const recallOf = (vehicle: TestVehicle, fromMs: number, toMs: number): Promise<Recall> =>
    api(vehicle, "POST", "/{camera}/recalls", {
      from: new Date(fromMs).toISOString(),
      to: new Date(toMs).toISOString(),
    });
  const finished = async (vehicle: TestVehicle, recall: Recall) => {
    let done: Recall | undefined;
    await eventually(`recall ${recall.id} to finish`, async () => {
      done = await apiCall(
        server.url,
        "GET",
        `/api/v1/fleets/${vehicle.vehicle.fleetId}/recalls/${recall.id}`,
        vehicle.vehicle.ownerToken,
      );
      return !["queued", "uploading"].includes(done!.state);
    }, 90_000);
    return done!;
  };
  try {
    await api(onRequest, "PUT", "/upload-policy", { mode: "on-request" });
    await api(proxied, "PUT", "/upload-policy", {
      mode: "proxy",
      proxy: { height: 144, bitrateKbps: 64 },
    });
    let agentA = startAgent(onRequest);
    await using agentB = startAgent(proxied);
    try {
      const applied = (mode: string) => (r: Record<string, unknown>) =>
        r.msg === "instructions applied" &&
        (r.cameras as Record<string, string>)?.front === mode;
      await agentA.waitForLog(applied("on-request"), 60_000);
      await agentB.waitForLog(
        (r) =>
          r.msg === "uploaded" && String(r.recordingId).endsWith("-p") && r.file !== "init.mp4",
        60_000,
      );
      // Whatever the on-request vehicle sent before its policy reached it stays as it was.
      await sleep(3_000);
      const before = {
        a: await storedCounts(server.dataDir, onRequest),
        b: await storedCounts(server.dataDir, proxied),
      };

      // A recall the on-request vehicle learns of before the outage, running into it: its agent
      // holds it in its recall book when it is killed.
      const cutAt = Date.now() + 2_000;
      const early = await recallOf(onRequest, cutAt + 4_000, cutAt + 12_000);
      await agentA.waitForLog((r) => r.msg === "instructions applied" && r.recalls === 1, 10_000);
      await sleep(Math.max(0, cutAt - Date.now()));
      link.cut();

      // Meanwhile the operator files a recall of 8 s of the outage on each vehicle.
      await sleep(45_000);
      const inside = { fromMs: cutAt + 30_000, toMs: cutAt + 38_000 };
      const recallA = await recallOf(onRequest, inside.fromMs, inside.toMs);
      const recallB = await recallOf(proxied, inside.fromMs, inside.toMs);
      assert.equal(recallA.state, "queued");
      assert.equal(recallB.state, "queued");

      // The on-request agent dies and starts again, still offline: it applies the instructions
      // it saved, keeps its ring and its recall book.
      await sleep(Math.max(0, cutAt + RESTART_AT_MS - Date.now()));
      await agentA.stop("SIGKILL");
      agentA = startAgent(onRequest);
      await agentA.waitForLog(applied("on-request"), 30_000);
      await agentA.waitForLog((r) => r.msg === "agent started", 30_000);
      assert.ok(
        !agentA.records.some((r) => r.msg === "recall received" && r.recallId === early.id),
        "the recall book kept the recall it held",
      );
      const queued = (await readQueue(onRequest.spoolDir)).get("front") ?? new Map();
      const waiting = [...queued].filter(([id]) => !id.endsWith("-p"))
        .reduce((n, [, q]) => n + q.sequences.length, 0);
      assert.ok(waiting >= 4, `the early recall's segments still queued: ${waiting}`);

      await sleep(Math.max(0, cutAt + OUTAGE_MS - Date.now()));
      const outageMs = Date.now() - cutAt;
      link.restore();

      const [doneEarly, doneA, doneB] = await Promise.all([
        finished(onRequest, early),
        finished(onRequest, recallA),
        finished(proxied, recallB),
      ]);
      for (const done of [doneEarly, doneA, doneB]) {
        assert.equal(done.state, "complete", JSON.stringify(done));
        assert.deepEqual(done.progress!.missing, []);
        assert.ok(done.progress!.segmentsDone >= 4, JSON.stringify(done));
      }

      // The on-request vehicle sent exactly the recalled full-quality segments, no proxy.
      const recalledA = doneEarly.progress!.segmentsDone + doneA.progress!.segmentsDone;
      await eventually("the on-request vehicle's recalled segments", async () => {
        const now = await storedCounts(server.dataDir, onRequest);
        return now.full - before.a.full >= recalledA;
      }, 10_000);
      // The proxy vehicle's proxy covers the whole outage (2 s segments); full quality only the
      // recall.
      await eventually("the outage's proxy to be uploaded", async () => {
        const now = await storedCounts(server.dataDir, proxied);
        return now.proxy - before.b.proxy >= (outageMs / 2_000) - 4;
      }, 90_000);
      await sleep(4_000); // anything sent beyond the recalls would have landed by now
      const after = {
        a: await storedCounts(server.dataDir, onRequest),
        b: await storedCounts(server.dataDir, proxied),
      };
      assert.deepEqual(after.a, { full: before.a.full + recalledA, proxy: 0 });
      assert.equal(after.b.full - before.b.full, doneB.progress!.segmentsDone);

      // The recalled range plays through the server's multivariant playlist in full quality.
      const range = { from: new Date(inside.fromMs), to: new Date(inside.toMs) };
      const multivariantOf = async (vehicle: TestVehicle, range: { from: Date; to: Date }) =>
        ((await signedLinks(server.url, vehicle.vehicle, "front", range)) as unknown as {
          multivariant: string;
        }).multivariant;
      const variants = async (url: string) =>
        (await (await fetch(url)).text()).split("\n").filter((line) => line.startsWith("http"));
      let masterA = "";
      let masterB = "";
      let fullB = "";
      await eventually("the recalled ranges' playlists", async () => {
        masterA = await multivariantOf(onRequest, range);
        masterB = await multivariantOf(proxied, range);
        const a = await variants(masterA);
        const b = await variants(masterB);
        if (a.length !== 1 || b.length !== 2) return false;
        fullB = b[1];
        const text = await (await fetch(fullB)).text();
        return (text.match(/\.m4s\?/g) ?? []).length >= 4 && !text.includes("#EXT-X-GAP");
      }, 20_000);
      const onlyA = (await variants(masterA))[0];
      for (const [what, url] of [["on-request", onlyA], ["proxy", fullB]]) {
        const [width, height, frames] = (await probe(url)).split(",");
        assert.equal(`${width}x${height}`, "640x360", `${what}: ${url}`);
        assert.ok(Number(frames) >= 8 * 25, `${what}: ${frames} frames`);
        const played = await ffmpegDecode(url, "", 60_000);
        assert.equal(played.frames, Number(frames), played.errors.join("\n"));
      }
      // A player that keeps to the first variant plays the proxy vehicle's range in the proxy.
      assert.match(await probe(masterB), /^256,144,\d+$/);

      // Outside the recalls: the on-request vehicle's outage is on the vehicle only, nothing on
      // the server; the proxy vehicle's is the proxy alone.
      const outside = { from: new Date(cutAt + 80_000), to: new Date(cutAt + 100_000) };
      const whereA = await api(
        onRequest,
        "GET",
        `/{camera}/availability?from=${outside.from.toISOString()}&to=${outside.to.toISOString()}`,
      );
      for (const { rendition, spans } of whereA.renditions) {
        const where = spans.map((s: { where: string }) => s.where);
        assert.deepEqual(where, [rendition === "full" ? "vehicle" : "none"], rendition);
      }
      const { fleetId, vehicleId, cameras, ownerToken } = onRequest.vehicle;
      const nothing = await fetch(
        `${server.url}/api/v1/fleets/${fleetId}/vehicles/${vehicleId}/cameras/${cameras.front}/multivariant.m3u8?${new URLSearchParams(
          { from: outside.from.toISOString(), to: outside.to.toISOString() },
        )}`,
        { headers: { authorization: `Bearer ${ownerToken}` } },
      );
      await nothing.body?.cancel();
      assert.equal(
        nothing.status,
        404,
        "nothing of the on-request vehicle's outage is on the server",
      );
      // No full quality there: the multivariant playlist lists the proxy alone.
      const outsideB = await variants(await multivariantOf(proxied, outside));
      assert.equal(outsideB.length, 1, outsideB.join("\n"));
      assert.match(outsideB[0], /\/renditions\/proxy\//);
      assert.match(await probe(outsideB[0]), /^256,144,\d+$/);

      for (const agent of [agentA, agentB]) {
        const status = await agent.stop("SIGTERM");
        assert.equal(status.code, 0, agent.lines.slice(-20).join("\n"));
        assert.deepEqual(agent.records.filter((r) => r.level === "error"), []);
      }
      console.log(
        `outage ${(outageMs / 1000).toFixed(0)} s; link: ${
          (link.bytes.up / 1e6).toFixed(2)
        } MB up, ${(link.bytes.down / 1e3).toFixed(0)} kB down`,
      );
    } finally {
      await agentA.stop("SIGKILL").catch(() => {});
    }
  } finally {
    await removeTestVehicle(onRequest);
    await removeTestVehicle(proxied);
  }
});
