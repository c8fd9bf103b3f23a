/**
 * One camera's time range as players meet it in the field: recording A, the vehicle off for a
 * while, recording B. Built with the real server and the real vehicle agent (testsrc), once per
 * test file; the facts players are checked against come from the catalog and the stored media.
 */
import { openObjectStore } from "../../lib/storage/mod.ts";
import { startAgent } from "./agent.ts";
import { setUpVehicle, signedLinks, type VehicleOnServer } from "./fleet_api.ts";
import { startServer, type TestServer } from "./server.ts";
import type { DistributedServer } from "./distributed.ts";

/** What the catalog and the stored segments say about one recording. */
export interface RecordedFacts {
  id: string;
  startedAt: Date;
  endedAt: Date;
  segmentCount: number;
  /** Video frames in its stored segments (ffprobe over init + segments). */
  frames: number;
  /** Start and end on the range's timeline, seconds from the range's start. */
  fromS: number;
  toS: number;
}

/** Two recordings with a hole between them, and signed links over the whole range. */
export interface TwoRecordings extends AsyncDisposable {
  server: TestServer;
  vehicle: VehicleOnServer;
  a: RecordedFacts;
  b: RecordedFacts;
  from: Date;
  to: Date;
  /** Length of the range, hole included, in seconds. */
  rangeS: number;
  fps: number;
  links: { hls: string; dash: string; clip: string | null };
  /** A folder for players' output files, removed with the fixture. */
  workDir: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Agent settings: small picture and short segments keep the machine's CPU free. */
const FPS = 25;
const AGENT_ARGS = [
  "--video-size",
  "640x360",
  "--fps",
  String(FPS),
  "--bitrate",
  "400000",
  "--segment-seconds",
  "2",
];

interface RecordingView {
  id: string;
  startedAt: string;
  endedAt: string;
  segmentCount: number;
  closedAt: string | null;
}

async function recordings(base: string, vehicle: VehicleOnServer): Promise<RecordingView[]> {
  const path =
    `/api/v1/fleets/${vehicle.fleetId}/vehicles/${vehicle.vehicleId}/cameras/${vehicle.cameras.front}/recordings`;
  const response = await fetch(base + path, {
    headers: { authorization: `Bearer ${vehicle.ownerToken}` },
  });
  if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()).recordings;
}

/** Waits (bounded) until `count` recordings are closed and hold `minSegments` each. */
async function closedRecordings(
  base: string,
  vehicle: VehicleOnServer,
  count: number,
  minSegments: number,
): Promise<RecordingView[]> {
  const until = Date.now() + 20_000;
  let last: RecordingView[] = [];
  while (Date.now() < until) {
    last = await recordings(base, vehicle);
    if (
      last.length === count && last.every((r) => r.closedAt && r.segmentCount >= minSegments)
    ) return last;
    await sleep(250);
  }
  throw new Error(`Timed out waiting for ${count} closed recordings: ${JSON.stringify(last)}`);
}

/**
 * Counts the video frames of a recording's stored init + segments, in sequence order, read through
 * the object store's own face: the server's folder, or the distributed deployment's bucket.
 */
async function storedFrames(
  server: TestServer,
  recordingId: string,
  work: string,
): Promise<number> {
  const store = "objects" in server
    ? (server as DistributedServer).objects()
    : openObjectStore(`file:${server.dataDir}/objects`);
  const keys: string[] = [];
  for await (const key of store.list("")) if (key.includes(`/${recordingId}/`)) keys.push(key);
  const init = keys.find((k) => k.endsWith("/init.mp4"));
  const segments = keys.filter((k) => /\/\d{10}\.m4s$/.test(k)).sort();
  if (!init || segments.length === 0) {
    throw new Error(`Cannot find stored media of recording "${recordingId}": ${keys.join(", ")}`);
  }
  const parts: Uint8Array[] = [];
  try {
    for (const key of [init, ...segments]) {
      const stored = await store.read(key);
      if (!stored) throw new Error(`Cannot read stored object "${key}"`);
      parts.push(new Uint8Array(await new Response(stored.body).arrayBuffer()));
    }
  } finally {
    await store.close();
  }
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  const joined = `${work}/${recordingId}.mp4`;
  await Deno.writeFile(joined, bytes);
  const output = await new Deno.Command("ffprobe", {
    args: [
      "-v",
      "error",
      "-count_frames",
      "-select_streams",
      "v:0",
      "-show_entries",
      "stream=nb_read_frames",
      "-of",
      "csv=p=0",
      joined,
    ],
  }).output();
  const frames = Number(new TextDecoder().decode(output.stdout).trim());
  if (!output.success || !Number.isInteger(frames)) {
    throw new Error(
      `ffprobe cannot count frames of ${joined}: ${new TextDecoder().decode(output.stderr)}`,
    );
  }
  return frames;
}

/**
 * Records A (~`recordS`), stops the agent (SIGTERM drains), waits `holeS`, records B with the
 * same state and spool, stops; then asks for signed links over [A's start, B's end].
 */
export async function recordTwoWithHole(
  options: { recordS?: number; holeS?: number } = {},
): Promise<TwoRecordings> {
  const recordS = options.recordS ?? 10;
  const holeS = options.holeS ?? 20;
  const server = await startServer();
  const spoolDir = await Deno.makeTempDir({ prefix: "motorcade-spool-" });
  const workDir = await Deno.makeTempDir({ prefix: "motorcade-matrix-" });
  let vehicle: VehicleOnServer | undefined;
  const dispose = async () => {
    await server[Symbol.asyncDispose]();
    await Deno.remove(spoolDir, { recursive: true }).catch(() => {});
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
    if (vehicle) await Deno.remove(vehicle.stateDir, { recursive: true }).catch(() => {});
  };
  try {
    vehicle = await setUpVehicle(server.url);
    const record = async () => {
      const agent = startAgent({
        server: server.url,
        stateDir: vehicle!.stateDir,
        spoolDir,
        cameras: { front: "testsrc" },
        args: AGENT_ARGS,
      });
      await sleep(recordS * 1000);
      const status = await agent.stop("SIGTERM");
      if (status.code !== 0) {
        throw new Error(`Agent exited with ${status.code}:\n${agent.logs.slice(-20).join("\n")}`);
      }
    };
    const minSegments = Math.floor(recordS / 2) - 2;
    await record();
    await closedRecordings(server.url, vehicle, 1, minSegments);
    await sleep(holeS * 1000);
    await record();
    const [a, b] = await closedRecordings(server.url, vehicle, 2, minSegments);
    const from = new Date(a.startedAt);
    const to = new Date(b.endedAt);
    const facts = async (r: RecordingView): Promise<RecordedFacts> => ({
      id: r.id,
      startedAt: new Date(r.startedAt),
      endedAt: new Date(r.endedAt),
      segmentCount: r.segmentCount,
      frames: await storedFrames(server, r.id, workDir),
      fromS: (Date.parse(r.startedAt) - from.getTime()) / 1000,
      toS: (Date.parse(r.endedAt) - from.getTime()) / 1000,
    });
    const links = await signedLinks(server.url, vehicle, "front", { from, to });
    return {
      server,
      vehicle,
      a: await facts(a),
      b: await facts(b),
      from,
      to,
      rangeS: (to.getTime() - from.getTime()) / 1000,
      fps: FPS,
      links,
      workDir,
      [Symbol.asyncDispose]: dispose,
    };
  } catch (error) {
    await dispose();
    throw error;
  }
}
