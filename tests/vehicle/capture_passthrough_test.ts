import assert from "node:assert/strict";
import { createLogger } from "../../lib/log/mod.ts";
import { CameraCapture } from "../../vehicle/capture.ts";
import { type CameraConfig, parseAgentConfig } from "../../vehicle/config.ts";
import type { QueueEntry } from "../../vehicle/queue_entry.ts";
import { Spool } from "../../vehicle/spool.ts";
import { makeCameraFile, startRtspCamera } from "../support/rtsp_camera.ts";

/** The MD5 of every packet's data, in order (`-c copy`: the samples as stored, not decoded). */
async function packetHashes(path: string): Promise<string[]> {
  const output = await new Deno.Command("ffmpeg", {
    args: ["-v", "error", "-i", path, "-map", "0:v:0", "-c", "copy", "-f", "framemd5", "-"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
  return new TextDecoder().decode(output.stdout).split("\n")
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => line.split(",").at(-1)!.trim());
}

async function videoSize(path: string): Promise<string> {
  const output = await new Deno.Command("ffprobe", {
    args: [
      "-v",
      "error",
      "-select_streams",
      "v:0",
      "-show_entries",
      "stream=codec_name,width,height",
    ]
      .concat(["-of", "csv=p=0", path]),
    stdout: "piped",
  }).output();
  return new TextDecoder().decode(output.stdout).trim();
}

Deno.test({
  name:
    "capture passes an RTSP camera's H.264 through untouched, on the wall clock, with an aligned proxy",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "capture-passthrough-" });
    try {
      await makeCameraFile(`${dir}/cam.mp4`, { seconds: 40, size: "640x360", gopSeconds: 1 });
      // A camera slow to answer: without anchoring on the stream, times would be 1.5 s early.
      await using rtsp = await startRtspCamera(`${dir}/cam.mp4`, { delayMs: 1_500 });
      const camera: CameraConfig = parseAgentConfig({
        cameras: [{ name: "front", source: rtsp.url }],
        video: { size: "640x360", fps: 25 },
      }).cameras[0];
      assert.equal(camera.passthrough, "auto");
      const spool = new Spool({
        dir: `${dir}/spool`,
        diskBudgetBytes: 1e9,
        quarantineBudgetBytes: 1e8,
        drainOrder: "oldest",
        segmentSeconds: 2,
        logger: createLogger("warn"),
      });
      await spool.open();
      const capture = new CameraCapture({
        camera,
        segmentSeconds: 2,
        spool,
        logger: createLogger("warn"),
        renditions: ["full", "proxy"],
        proxy: { height: 180, bitrateKbps: 150 },
      });
      capture.start();
      // Bounded wait for three full segments to be harvested (each waits for the next to exist).
      const until = Date.now() + 30_000;
      while (Date.now() < until && spool.size < 8) {
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      const status = capture.output;
      await capture.close();
      assert.equal(status.passthrough, true, "the camera's stream was probed as H.264");
      assert.equal(status.proxyRecordingId, `${status.recordingId}-p`);

      const entries: Array<QueueEntry & { data?: Uint8Array }> = [];
      let entry: QueueEntry | undefined;
      while ((entry = spool.take())) {
        entries.push({
          ...entry,
          data: entry.kind === "end" ? undefined : await spool.read(entry),
        });
        await spool.done(entry);
      }
      const of = (recordingId: string) => entries.filter((e) => e.recordingId === recordingId);
      const full = of(status.recordingId!);
      const proxy = of(status.proxyRecordingId!);
      const fullSegments = full.filter((e) => e.kind === "segment");
      const proxySegments = proxy.filter((e) => e.kind === "segment");
      assert.ok(fullSegments.length >= 3, `${fullSegments.length} full segments`);

      // Byte-identical samples: the full rendition's packets are a run of the camera's own.
      const write = async (name: string, parts: Array<QueueEntry & { data?: Uint8Array }>) => {
        const bytes = parts.filter((p) => p.data).map((p) => p.data!);
        await Deno.writeFile(`${dir}/${name}`, new Uint8Array(bytes.flatMap((b) => [...b])));
        return `${dir}/${name}`;
      };
      const recorded = await packetHashes(await write("full.mp4", full));
      const source = await packetHashes(`${dir}/cam.mp4`);
      const at = source.indexOf(recorded[0]);
      assert.ok(at >= 0 && at < 50, `the recording starts at the camera's packet ${at}`);
      assert.deepEqual(recorded, source.slice(at, at + recorded.length));
      assert.match(await videoSize(await write("full.mp4", full)), /^h264,640,360$/);
      assert.match(await videoSize(await write("proxy.mp4", proxy)), /^h264,320,180$/);

      // The proxy's segments are cut at the same times as the full ones.
      assert.ok(proxySegments.length >= fullSegments.length - 1);
      for (const [i, segment] of proxySegments.entries()) {
        const twin = fullSegments[i];
        if (!twin) break;
        assert.ok(Math.abs(segment.startMs! - twin.startMs!) <= 1, `segment ${i} starts together`);
        if (twin !== fullSegments.at(-1)) {
          assert.ok(Math.abs(segment.durationS! - twin.durationS!) < 0.002, `segment ${i} length`);
        }
      }
      // Wall clock: the camera's first frame (a keyframe) was sent as it started playing.
      const played = rtsp.plays.at(-1)!;
      const offset = fullSegments[0].startMs! - played;
      assert.ok(Math.abs(offset) < 600, `first frame placed ${offset} ms from when it was sent`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
