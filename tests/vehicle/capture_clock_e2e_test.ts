/**
 * Capture-clock timestamps end to end: the real agent records a 720p test pattern with its ffmpeg
 * starved of CPU (held by `cpulimit` to about half of what real time needs) for a few minutes,
 * into the real server; the segment times of the server's HLS playlist must stay within 1 s of the
 * clock ffmpeg burned into the pictures (drawtext's wall clock when each frame was drawn).
 *
 * The burned-in clock is read without OCR (tests/support/burned_clock.ts). A frame whose second
 * differs from the previous frame's (a "tick" to second S) was drawn at or after S, and the
 * previous frame before S: if the playlist places frames `e` later than they were captured, then
 * `time(previous) - e < S <= time(tick) - e`. So `time(tick) - S >= -1 s` and
 * `time(previous) - S <= 1 s` at every tick hold whenever |e| <= 1 s, and fail as soon as the
 * playlist drifts 1 s behind or ahead.
 */
import assert from "node:assert/strict";
import HLS from "hls-parser";
import { BurnedClockReader } from "../support/burned_clock.ts";
import { signedLinks } from "../support/fleet_api.ts";
import { startServer } from "../support/server.ts";
import {
  eventually,
  makeTestVehicle,
  recordingsOnServer,
  removeTestVehicle,
  startAgent,
} from "./agent_harness.ts";

/** How long the starved encoder records (CAPTURE_CLOCK_TEST_SECONDS shortens it by hand). */
const RECORD_SECONDS = Number(Deno.env.get("CAPTURE_CLOCK_TEST_SECONDS") ?? 150);
/** The encoder gets this fraction of the CPU time real time needs. */
const TARGET_SPEED = 0.5;
const STARVED = [0.3, 0.75];
const FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf";
const CAMERA = {
  name: "front",
  source: { kind: "testsrc" as const },
  video: { width: 1280, height: 720, fps: 25, bitrate: 2_000_000 },
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function hasCpulimit(): boolean {
  try {
    return new Deno.Command("cpulimit", { args: ["-h"], stdout: "null", stderr: "null" })
      .outputSync().code !== undefined;
  } catch {
    return false;
  }
}

/** CPU seconds ffmpeg needs per second of this camera's video, measured on this machine now. */
async function cpuPerVideoSecond(): Promise<number> {
  const seconds = 8;
  const output = await new Deno.Command("ffmpeg", {
    args: [
      ...["-hide_banner", "-nostdin", "-benchmark", "-f", "lavfi"],
      ...["-i", `testsrc2=size=1280x720:rate=25`, "-t", String(seconds)],
      ...["-vf", `drawtext=fontfile=${FONT}:text='%{gmtime}':x=40:y=40:fontsize=40:box=1`],
      ...["-c:v", "libx264", "-preset", "veryfast", "-b:v", "2M", "-f", "null", "-"],
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stderr);
  const match = /utime=([\d.]+)s stime=([\d.]+)s/.exec(text);
  assert.ok(match, `ffmpeg -benchmark printed no times:\n${text}`);
  return (Number(match[1]) + Number(match[2])) / seconds;
}

/** An ffmpeg that `cpulimit` holds to `limit` % of a CPU; SIGINT and SIGTERM reach ffmpeg. */
async function starvedFfmpeg(dir: string, limit: number): Promise<string> {
  const path = `${dir}/ffmpeg-starved`;
  await Deno.writeTextFile(
    path,
    `#!/bin/bash
ffmpeg "$@" &
pid=$!
trap 'kill -INT $pid 2>/dev/null' INT
trap 'kill -TERM $pid 2>/dev/null' TERM
cpulimit -q -z -l ${limit} -p $pid >/dev/null 2>&1 &
while kill -0 $pid 2>/dev/null; do wait $pid; done
wait $pid
`,
  );
  await Deno.chmod(path, 0o755);
  return path;
}

Deno.test({
  name: "agent keeps segment times on the capture clock with its encoder starved to half speed",
  ignore: !hasCpulimit(),
  async fn() {
    const work = await Deno.makeTempDir({ prefix: "motorcade-starved-" });
    await using server = await startServer();
    const cpu = await cpuPerVideoSecond();
    const limit = Math.max(1, Math.round(100 * cpu * TARGET_SPEED));
    const ffmpeg = await starvedFfmpeg(work, limit);
    const vehicle = await makeTestVehicle(server.url, ["front"], {
      video: { size: "1280x720", fps: 25, bitrate: "2M" },
      ffmpeg,
      font: FONT,
      logLevel: "info",
      stopDrainSeconds: 60,
    });
    try {
      const agent = startAgent(vehicle, [], [`--allow-run=${ffmpeg}`]);
      await agent.waitForLog((r) => r.msg === "recording started");
      await sleep(RECORD_SECONDS * 1000);
      const status = await agent.stop("SIGTERM");
      assert.equal(status.code, 0, agent.lines.slice(-20).join("\n"));

      await eventually("the recording is indexed and closed", async () => {
        const recordings = await recordingsOnServer(server.url, vehicle.vehicle, "front");
        return recordings.length === 1 && recordings[0].closedAt !== null;
      }, 60_000);
      const listed = await fetch(
        `${server.url}/api/v1/fleets/${vehicle.vehicle.fleetId}/vehicles/${vehicle.vehicle.vehicleId}/cameras/${vehicle.vehicle.cameras.front}/recordings`,
        { headers: { authorization: `Bearer ${vehicle.vehicle.ownerToken}` } },
      ).then((r) => r.json());
      const { startedAt, endedAt } = listed.recordings[0];
      const links = await signedLinks(server.url, vehicle.vehicle, "front", {
        from: new Date(Date.parse(startedAt) - 5_000),
        to: new Date(Date.parse(endedAt) + 5_000),
      });
      const playlistText = await (await fetch(links.hls)).text();
      const playlist = HLS.parse(playlistText) as InstanceType<typeof HLS.types.MediaPlaylist>;
      // Each segment's time in the playlist: its date, or the previous one's plus its duration.
      const media: Array<{ uri: string; map: string; startMs: number }> = [];
      let clock: number | undefined;
      for (const segment of playlist.segments) {
        clock = segment.programDateTime?.getTime() ?? clock;
        assert.ok(clock !== undefined, "the playlist dates its first segment");
        if (!segment.gap && !segment.uri.includes("/gap/")) {
          media.push({ uri: segment.uri, map: segment.map!.uri, startMs: clock });
        }
        clock += segment.duration * 1000;
      }
      assert.ok(media.length >= 20, `${media.length} segments in the playlist:\n${playlistText}`);
      const holes = playlist.segments.length - media.length;

      // Every frame: its time in the playlist and the second burned into it.
      const reader = await BurnedClockReader.create(CAMERA, FONT);
      const inits = new Map<string, Uint8Array>();
      const frames: Array<{ atMs: number; burnedMs: number }> = [];
      for (const segment of media) {
        const mapUri = new URL(segment.map, links.hls).href;
        if (!inits.has(mapUri)) {
          inits.set(mapUri, new Uint8Array(await (await fetch(mapUri)).arrayBuffer()));
        }
        const bytes = new Uint8Array(
          await (await fetch(new URL(segment.uri, links.hls))).arrayBuffer(),
        );
        const decoded = await reader.read(inits.get(mapUri)!, bytes);
        const startMs = segment.startMs;
        const day = Math.floor(startMs / 86_400_000) * 86_400_000;
        for (const frame of decoded) {
          const atMs = startMs + (frame.ptsS - decoded[0].ptsS) * 1000;
          let burnedMs = day + frame.secondOfDay * 1000;
          if (burnedMs - atMs > 43_200_000) burnedMs -= 86_400_000; // around midnight
          if (atMs - burnedMs > 43_200_000) burnedMs += 86_400_000;
          frames.push({ atMs, burnedMs });
        }
      }

      // Precondition: the encoder really was starved (frames made per second of real time).
      const spanS = (frames.at(-1)!.burnedMs - frames[0].burnedMs) / 1000;
      const speed = frames.length / (CAMERA.video.fps * spanS);
      assert.ok(
        speed >= STARVED[0] && speed <= STARVED[1],
        `Precondition: the encoder should run at ${STARVED.join("-")}x real time, ran at ` +
          `${speed.toFixed(2)}x (cpulimit -l ${limit}, ${cpu.toFixed(3)} CPU s per video s): ` +
          `this machine could not starve it as intended`,
      );

      let behind = 0;
      let ahead = 0;
      let ticks = 0;
      const behinds: number[] = [];
      const late: string[] = [];
      for (let i = 1; i < frames.length; i++) {
        const [previous, tick] = [frames[i - 1], frames[i]];
        if (tick.burnedMs === previous.burnedMs) continue;
        ticks++;
        const second = tick.burnedMs;
        behind = Math.max(behind, second - tick.atMs);
        behinds.push(Math.round(second - tick.atMs));
        ahead = Math.max(ahead, previous.atMs - second);
        if (second - tick.atMs > 1000 || previous.atMs - second > 1000) {
          late.push(
            `${new Date(second).toISOString()}: frames at ${previous.atMs - second} and ${
              tick.atMs - second
            } ms`,
          );
        }
      }
      console.log(
        `starved capture: ${frames.length} frames in ${spanS.toFixed(0)} s (${
          speed.toFixed(2)
        }x, cpulimit -l ${limit}), ${media.length} segments, ${holes} holes, ${ticks} ticks; ` +
          `playlist at most ${behind} ms behind and ${ahead} ms ahead of the burned-in clock ` +
          `(behind at ticks, sorted: ${behinds.sort((a, b) => a - b).join(" ")})`,
      );
      assert.ok(ticks >= spanS * 0.9, `${ticks} second ticks read in ${spanS} s`);
      assert.deepEqual(late.slice(0, 10), [], `${late.length} ticks off by more than 1 s`);
      assert.equal(holes, 0, "segments follow each other without holes");

      // The heartbeat carries the capture clock's state, and the server shows it.
      const response = await fetch(
        `${server.url}/api/v1/fleets/${vehicle.vehicle.fleetId}/vehicles/${vehicle.vehicle.vehicleId}/status`,
        { headers: { authorization: `Bearer ${vehicle.vehicle.ownerToken}` } },
      );
      const { heartbeat } = await response.json();
      const [camera] = heartbeat.cameras;
      assert.equal(typeof camera.captureClock.reanchors, "number");
      assert.ok(["ok", "reanchored"].includes(camera.captureClock.state));
      assert.equal(typeof camera.captureClock.driftMs, "number");
    } finally {
      await removeTestVehicle(vehicle);
      await Deno.remove(work, { recursive: true });
    }
  },
});
