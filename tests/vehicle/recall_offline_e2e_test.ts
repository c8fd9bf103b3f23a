/**
 * Recall from a vehicle that was offline when it was filed: the real server, the agent as a child
 * process behind a link the test cuts and restores, real ffmpeg making both renditions.
 */
import assert from "node:assert/strict";
import { HEADER_BYTES } from "../../lib/storage/fs_header.ts";
import { apiCall } from "../support/fleet_api.ts";
import { startVehicleLink } from "../support/link.ts";
import { startServer } from "../support/server.ts";
import {
  eventually,
  makeTestVehicle,
  removeTestVehicle,
  startAgent,
  storedOnServer,
} from "./agent_harness.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The body of an object the server's file-system store holds (after its fixed header). */
async function objectBody(path: string): Promise<Uint8Array<ArrayBuffer>> {
  return (await Deno.readFile(path)).subarray(HEADER_BYTES);
}

/** Width, height and frame count of a stored recording's init followed by its `segments`. */
async function pictureSize(dir: string, segments: number[]): Promise<string> {
  const parts = [await objectBody(`${dir}/init.mp4`)];
  for (const n of segments) {
    parts.push(await objectBody(`${dir}/${String(n).padStart(10, "0")}.m4s`));
  }
  const file = await Deno.makeTempFile({ suffix: ".mp4" });
  try {
    await Deno.writeFile(file, new Uint8Array(await new Blob(parts).arrayBuffer()));
    const probe = await new Deno.Command("ffprobe", {
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
        file,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(probe.stdout).trim();
    return text || `ffprobe failed: ${new TextDecoder().decode(probe.stderr).slice(-500)}`;
  } finally {
    await Deno.remove(file);
  }
}

Deno.test("a recall filed while a proxy vehicle is offline completes when it is back, in full quality, and only for its range", async () => {
  await using server = await startServer();
  await using link = startVehicleLink(Number(new URL(server.url).port));
  const vehicle = await makeTestVehicle(server.url, ["front"], {
    server: link.url,
    video: { size: "640x360", fps: 25, bitrate: "500k" },
    stopDrainSeconds: 5,
  });
  vehicle.serverHost = link.host;
  const { fleetId, vehicleId, cameras, ownerToken } = vehicle.vehicle;
  const base = `/api/v1/fleets/${fleetId}/vehicles/${vehicleId}`;
  try {
    await apiCall(server.url, "PUT", `${base}/upload-policy`, ownerToken, {
      mode: "proxy",
      proxy: { height: 144, bitrateKbps: 64 },
    });
    await using agent = startAgent(vehicle);
    const first = await agent.waitForLog(
      (r) => r.msg === "uploaded" && String(r.recordingId).endsWith("-p") && r.file !== "init.mp4",
      60_000,
    );
    const proxyId = String(first.recordingId);
    const fullId = proxyId.slice(0, -2);

    // The vehicle goes out of reach; the operator files a recall of 6 s of the outage meanwhile.
    const cutAt = Date.now();
    link.cut();
    await sleep(12_000);
    const recall = await apiCall(
      server.url,
      "POST",
      `${base}/cameras/${cameras.front}/recalls`,
      ownerToken,
      {
        from: new Date(cutAt + 2_000).toISOString(),
        to: new Date(cutAt + 8_000).toISOString(),
      },
    );
    assert.equal(recall.state, "queued");
    await sleep(Math.max(0, cutAt + 24_000 - Date.now()));
    link.restore();

    let done:
      | { state: string; progress: { segmentsDone: number; missing: unknown[] } | null }
      | undefined;
    await eventually("the recall to finish", async () => {
      done = await apiCall(
        server.url,
        "GET",
        `/api/v1/fleets/${fleetId}/recalls/${recall.id}`,
        ownerToken,
      );
      return !["queued", "uploading"].includes(done!.state);
    }, 90_000);
    assert.equal(done!.state, "complete", JSON.stringify(done));
    assert.deepEqual(done!.progress!.missing, []);

    // Full quality on the server: exactly the recalled segments, at the camera's size. The proxy
    // covers the whole outage, at its own size.
    await eventually("the outage's proxy to be uploaded", async () => {
      const stored = await storedOnServer(server.dataDir, vehicle.vehicle, "front");
      return (stored.get(proxyId)?.sequences.length ?? 0) >= 12;
    }, 60_000);
    const stored = await storedOnServer(server.dataDir, vehicle.vehicle, "front");
    const full = stored.get(fullId)!;
    assert.equal(full.sequences.length, done!.progress!.segmentsDone, JSON.stringify(full));
    assert.ok(full.sequences.length >= 3 && full.sequences.length <= 5, JSON.stringify(full));
    const dir =
      `${server.dataDir}/objects/fleets/${fleetId}/vehicles/${vehicleId}/cameras/${cameras.front}`;
    assert.equal(
      await pictureSize(`${dir}/${fullId}`, full.sequences),
      `640,360,${full.sequences.length * 50}`,
      "the recalled range plays in full quality: 2 s of 25 fps per segment",
    );
    const proxy = stored.get(proxyId)!;
    assert.match(await pictureSize(`${dir}/${proxyId}`, proxy.sequences), /^256,144,\d+$/);
    assert.ok(proxy.sequences.length > 2 * full.sequences.length, "the proxy covers far more");

    const status = await agent.stop("SIGTERM");
    assert.equal(status.code, 0, agent.lines.slice(-20).join("\n"));
    assert.deepEqual(agent.records.filter((r) => r.level === "error"), []);
    console.log(
      `link: ${(link.bytes.up / 1e6).toFixed(2)} MB up, ${
        (link.bytes.down / 1e3).toFixed(0)
      } kB down`,
    );
  } finally {
    await removeTestVehicle(vehicle);
  }
});
