import assert from "node:assert/strict";
import { createLogger, silentLogger } from "../../lib/log/mod.ts";
import {
  CameraCapture,
  ffmpegArgs,
  newRecordingId,
  probedVideoCodec,
} from "../../vehicle/capture.ts";
import { type CameraConfig, parseAgentConfig } from "../../vehicle/config.ts";
import type { QueueEntry } from "../../vehicle/queue_entry.ts";
import { Spool } from "../../vehicle/spool.ts";
import { readQueue } from "./agent_harness.ts";

function camera(source: string, name = "front"): CameraConfig {
  return parseAgentConfig({
    cameras: [{ name, source }],
    video: { size: "320x180", fps: 25, bitrate: "300k" },
  }).cameras[0];
}

async function openSpool(dir: string): Promise<Spool> {
  const spool = new Spool({
    dir,
    diskBudgetBytes: 1e9,
    quarantineBudgetBytes: 1e8,
    drainOrder: "oldest",
    segmentSeconds: 2,
    logger: silentLogger,
  });
  await spool.open();
  return spool;
}

/** Every queued entry, oldest first, with the bytes of its file. */
async function takeAll(spool: Spool): Promise<Array<QueueEntry & { data?: Uint8Array }>> {
  const all: Array<QueueEntry & { data?: Uint8Array }> = [];
  let entry: QueueEntry | undefined;
  while ((entry = spool.take())) {
    all.push({ ...entry, data: entry.kind === "end" ? undefined : await spool.read(entry) });
    await spool.done(entry);
  }
  return all;
}

async function ffprobe(path: string, ...args: string[]) {
  const output = await new Deno.Command("ffprobe", {
    args: ["-v", "error", "-of", "json", ...args, path],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
  return JSON.parse(new TextDecoder().decode(output.stdout));
}

Deno.test("ffmpeg command line fits each kind of source", () => {
  const options = {
    dir: "/spool/capture/front/r1",
    segmentSeconds: 2,
    font: "/f.ttf",
    captureEpochMs: 1_796_600_000_000,
  };
  const test = ffmpegArgs(camera("testsrc"), options);
  // Paced by the realtime filter (not -re) and stamped with the capture clock.
  assert.deepEqual(test.slice(test.indexOf("-f"), test.indexOf("-f") + 4), [
    "-f",
    "lavfi",
    "-i",
    "testsrc2=size=320x180:rate=25",
  ]);
  assert.ok(!test.includes("-re"));
  assert.match(
    test[test.indexOf("-vf") + 1],
    /^realtime,settb=1\/1000,setpts=\(RTCTIME-1796600000000000\)\/\(TB\*1000000\),drawtext=fontfile=\/f\.ttf:text='%\{gmtime.*front'/,
  );
  for (
    const [flag, value] of [
      ["-fps_mode", "vfr"],
      ["-enc_time_base", "1/1000"],
      ["-force_key_frames", "expr:gte(t,n_forced*2)"],
      ["-sc_threshold", "0"],
      ["-hls_segment_type", "fmp4"],
      ["-hls_time", "2"],
      ["-hls_flags", "+temp_file+independent_segments+program_date_time"],
      ["-hls_fmp4_init_filename", "init.mp4"],
      ["-hls_segment_filename", "/spool/capture/front/r1/%010d.m4s"],
    ]
  ) {
    assert.equal(test[test.indexOf(flag) + 1], value, flag);
  }
  assert.equal(test.at(-1), "/spool/capture/front/r1/index.m3u8");
  const file = ffmpegArgs(camera("file:/srv/loop.mp4"), options);
  assert.match(file[file.indexOf("-vf") + 1], /^realtime,fps=25,scale=.*,settb=1\/1000,setpts=/);
  assert.deepEqual(file.slice(file.indexOf("-stream_loop"), file.indexOf("-stream_loop") + 4), [
    "-stream_loop",
    "-1",
    "-i",
    "/srv/loop.mp4",
  ]);
  const v4l2 = ffmpegArgs(camera("v4l2:/dev/video2"), options);
  assert.deepEqual(v4l2.slice(v4l2.indexOf("-f"), v4l2.indexOf("-f") + 8), [
    "-f",
    "v4l2",
    "-framerate",
    "25",
    "-video_size",
    "320x180",
    "-i",
    "/dev/video2",
  ]);
  const rtsp = ffmpegArgs(camera("rtsp://10.0.0.12/s1"), options);
  assert.equal(rtsp[rtsp.indexOf("-rtsp_transport") + 1], "tcp");
  assert.equal(rtsp[rtsp.indexOf("-i") + 1], "rtsp://10.0.0.12/s1");
  assert.match(
    newRecordingId(Date.parse("2026-11-24T03:48:25.123Z")),
    /^r20261124T034825Z-[a-z0-9]{6}$/,
  );
});

Deno.test("ffmpeg command line adds the proxy rendition and passes H.264 through", () => {
  const options = {
    dir: "/spool/capture/front/r1",
    segmentSeconds: 2,
    font: "/f.ttf",
    captureEpochMs: 1_796_600_000_000,
    proxy: { dir: "/spool/capture/front/r1-p", height: 320, bitrateKbps: 150 },
  };
  const outputs = (args: string[]) => args.filter((a) => a.endsWith("/index.m3u8"));
  const after = (args: string[], flag: string) =>
    args.flatMap((a, i) => a === flag ? [args[i + 1]] : []);

  // Encoded: one filter chain (one capture clock) split in two, keyframes on one grid.
  const encoded = ffmpegArgs(camera("testsrc"), options);
  assert.deepEqual(outputs(encoded), [
    "/spool/capture/front/r1/index.m3u8",
    "/spool/capture/front/r1-p/index.m3u8",
  ]);
  assert.match(
    after(encoded, "-filter_complex")[0],
    /^\[0:v:0\]realtime,settb=1\/1000,setpts=.*drawtext=.*,split=2\[full\]\[low\];\[low\]scale=w=-2:h=180\[proxy\]$/,
  );
  assert.deepEqual(after(encoded, "-map"), ["[full]", "[proxy]"]);
  assert.deepEqual(after(encoded, "-force_key_frames"), [
    "expr:gte(t,n_forced*2)",
    "expr:gte(t,n_forced*2)",
  ]);
  assert.deepEqual(after(encoded, "-b:v"), ["300000", "150000"]);
  assert.ok(!encoded.includes("-copyts") && !encoded.includes("-vf"));

  // Passed through: packets copied with the camera's times; only the proxy is encoded.
  const rtsp = camera("rtsp://10.0.0.12/s1");
  const copied = ffmpegArgs(rtsp, { ...options, passthrough: true });
  assert.ok(copied.indexOf("-copyts") < copied.indexOf("-i"));
  assert.deepEqual(after(copied, "-c:v"), ["copy", "libx264"]);
  assert.deepEqual(after(copied, "-force_key_frames"), ["source"]);
  assert.deepEqual(after(copied, "-fps_mode"), ["passthrough"]);
  assert.deepEqual(after(copied, "-g"), ["1000000"], "no keyframe the camera did not make");
  assert.deepEqual(after(copied, "-vf"), [String.raw`scale=w=-2:h=min(320\,ih),format=yuv420p`]);
  assert.equal(outputs(copied).length, 2);
  const alone = ffmpegArgs(rtsp, { ...options, proxy: undefined, passthrough: true });
  assert.deepEqual(after(alone, "-c:v"), ["copy"]);
  assert.deepEqual(outputs(alone), ["/spool/capture/front/r1/index.m3u8"]);
  assert.equal(
    probedVideoCodec(
      "Input #0, rtsp, from 'rtsp://10.0.0.12/s1':\n  Stream #0:0: Video: h264 (Main), yuvj420p",
    ),
    "h264",
  );
  assert.equal(probedVideoCodec("Stream #0:0: Video: mjpeg (Baseline), yuvj422p"), "mjpeg");
  assert.equal(probedVideoCodec("Connection refused"), undefined);
});

Deno.test("capture with a proxy records two aligned renditions as two recordings", async () => {
  const dir = await Deno.makeTempDir({ prefix: "capture-" });
  try {
    const spool = await openSpool(dir);
    const capture = new CameraCapture({
      camera: camera("testsrc"),
      segmentSeconds: 1,
      spool,
      logger: silentLogger,
    });
    assert.throws(() => capture.setRenditions(["proxy"]), /the full one is always recorded/);
    assert.throws(
      () => capture.setRenditions(["full", "proxy"], { height: 321, bitrateKbps: 150 }),
      /Cannot make a proxy of height 321/,
    );
    assert.equal(capture.setRenditions(["full"]), false, "already so");
    capture.start();
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const before = capture.output;
    assert.equal(before.proxyRecordingId, null);
    assert.equal(capture.setRenditions(["full", "proxy"], { height: 90, bitrateKbps: 100 }), true);
    assert.equal(capture.setRenditions(["proxy", "full"], { height: 90, bitrateKbps: 100 }), false);
    await new Promise((resolve) => setTimeout(resolve, 4_500));
    const during = capture.output;
    await capture.close();
    assert.notEqual(during.recordingId, before.recordingId, "a new recording with the proxy");
    assert.equal(during.proxyRecordingId, `${during.recordingId}-p`);
    assert.deepEqual(during.renditions, ["full", "proxy"]);

    const entries = await takeAll(spool);
    const of = (id: string) => entries.filter((e) => e.recordingId === id);
    assert.equal(of(before.recordingId!).at(-1)?.kind, "end", "the full-only recording ended");
    const full = of(during.recordingId!);
    const proxy = of(during.proxyRecordingId!);
    assert.deepEqual([full[0].kind, full.at(-1)!.kind], ["init", "end"]);
    assert.deepEqual([proxy[0].kind, proxy.at(-1)!.kind], ["init", "end"]);
    const fullSegments = full.filter((e) => e.kind === "segment");
    const proxySegments = proxy.filter((e) => e.kind === "segment");
    assert.ok(fullSegments.length >= 2, `${fullSegments.length} segments`);
    assert.equal(proxySegments.length, fullSegments.length);
    const times = (list: typeof entries) => list.map((e) => `${e.startMs}+${e.durationS}`);
    const both = `full ${times(fullSegments)}, proxy ${times(proxySegments)}`;
    // Aligned to well within a frame (40 ms at 25 fps), not to the millisecond: when the first
    // frame is stamped less than x264's B-frame delay after the epoch (~80 ms), its decode time
    // would be negative and the fMP4 muxer moves the full rendition (B-frames; the proxy has none)
    // a few ms later — 4 ms measured; the last segment ends where each encoder guessed its last
    // frame's length.
    for (const [i, segment] of proxySegments.entries()) {
      assert.ok(Math.abs(segment.startMs! - fullSegments[i].startMs!) <= 10, `${i} start: ${both}`);
      const slack = i === proxySegments.length - 1 ? 0.02 : 0.002;
      assert.ok(Math.abs(segment.durationS! - fullSegments[i].durationS!) < slack, `${i}: ${both}`);
    }
    const path = `${dir}/probe.mp4`;
    await Deno.writeFile(path, new Uint8Array([...proxy[0].data!, ...proxySegments[0].data!]));
    const probed = await ffprobe(path, "-show_entries", "stream=width,height");
    assert.deepEqual(probed.streams[0], { width: 160, height: 90 });
    const bytes = (list: typeof entries) => list.reduce((n, e) => n + (e.data?.length ?? 0), 0);
    assert.ok(bytes(proxySegments) < bytes(fullSegments) / 2, "the proxy is the smaller one");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("capture of a test pattern makes keyframe-aligned 2 s CMAF segments ffprobe reads", async () => {
  const dir = await Deno.makeTempDir({ prefix: "capture-" });
  try {
    const spool = await openSpool(dir);
    const capture = new CameraCapture({
      camera: camera("testsrc"),
      segmentSeconds: 2,
      spool,
      logger: silentLogger,
    });
    const startedAt = Date.now();
    capture.start();
    await new Promise((resolve) => setTimeout(resolve, 7_000));
    assert.equal(capture.status().capturing, true);
    const recordingId = capture.status().recordingId;
    await capture.close();
    const { captureClock, ...status } = capture.status();
    assert.deepEqual(status, { recordingId: null, capturing: false });
    assert.deepEqual(capture.output, {
      renditions: ["full"],
      recordingId: null,
      proxyRecordingId: null,
      passthrough: false,
    });
    assert.equal(captureClock.state, "ok", "no re-anchor while the encoder keeps up");
    assert.equal(captureClock.reanchors, 0);
    await assert.rejects(
      () => Deno.stat(`${dir}/capture/front/${recordingId}`),
      Deno.errors.NotFound,
    );

    const entries = await takeAll(spool);
    assert.deepEqual(entries.map((e) => e.kind).filter((k) => k !== "segment"), ["init", "end"]);
    assert.equal(entries[0].kind, "init");
    const segments = entries.filter((e) => e.kind === "segment");
    assert.ok(segments.length >= 3, `${segments.length} segments`);
    assert.deepEqual(segments.map((s) => s.sequence), segments.map((_, i) => i));
    assert.ok(Math.abs(segments[0].startMs! - startedAt) < 2_000, "wall clock of the first frame");

    const init = entries[0].data!;
    for (const [i, segment] of segments.entries()) {
      const path = `${dir}/probe.mp4`;
      await Deno.writeFile(path, new Uint8Array([...init, ...segment.data!]));
      const frames = await ffprobe(
        path,
        "-select_streams",
        "v:0",
        "-read_intervals",
        "%+#1",
        "-show_entries",
        "frame=key_frame,pict_type",
      );
      assert.equal(frames.frames[0].key_frame, 1, `segment ${i} starts with a keyframe`);
      assert.equal(frames.frames[0].pict_type, "I");
      const format = await ffprobe(
        path,
        "-count_frames",
        "-show_entries",
        "stream=codec_name,width,nb_read_frames",
      );
      assert.equal(format.streams[0].codec_name, "h264");
      assert.equal(format.streams[0].width, 320);
      const probed = Number(format.streams[0].nb_read_frames) / 25;
      assert.ok(
        Math.abs(probed - segment.durationS!) < 0.1,
        `segment ${i}: ${probed} vs ${segment.durationS}`,
      );
      if (i < segments.length - 1) {
        assert.ok(
          Math.abs(segment.durationS! - 2) < 0.05,
          `segment ${i} lasts ${segment.durationS} s`,
        );
        const next = segments[i + 1].startMs!;
        assert.ok(
          Math.abs(next - (segment.startMs! + segment.durationS! * 1000)) < 50,
          "no gap, no overlap",
        );
      }
    }
    const last = segments.at(-1)!;
    assert.equal(entries.at(-1)!.endedAtMs, last.startMs! + last.durationS! * 1000);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("capture restart ends the recording and starts another at once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "capture-" });
  try {
    const spool = await openSpool(dir);
    const capture = new CameraCapture({
      camera: camera("testsrc"),
      segmentSeconds: 1,
      spool,
      logger: silentLogger,
    });
    capture.start();
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const first = capture.status().recordingId!;
    capture.restart("clock jump");
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const second = capture.status().recordingId!;
    assert.notEqual(second, first);
    assert.equal(capture.status().capturing, true);
    const queue = (await readQueue(dir)).get("front")!;
    assert.equal(queue.get(first)?.end, true, "the first recording is ended");
    assert.equal(queue.get(first)?.init, true);
    assert.ok(queue.get(first)!.sequences.length >= 2);
    assert.equal(queue.get(second)?.end, false, "the second still records");
    await capture.close();
    assert.equal((await readQueue(dir)).get("front")!.get(second)?.end, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("capture restarts a failing ffmpeg with backoff and says why", async () => {
  const dir = await Deno.makeTempDir({ prefix: "capture-" });
  try {
    const spool = await openSpool(dir);
    const records: Array<Record<string, unknown>> = [];
    const capture = new CameraCapture({
      camera: camera(`file:${dir}/no-such-file.mp4`),
      segmentSeconds: 2,
      spool,
      logger: createLogger("debug", (record) => records.push(record)),
      restart: { baseMs: 100, capMs: 400 },
    });
    capture.start();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.equal(capture.status().capturing, false);
    await capture.close();
    const stops = records.filter((r) =>
      r.msg === "ffmpeg stopped; restarting with a new recording"
    );
    assert.ok(stops.length >= 2 && stops.length <= 6, `${stops.length} restarts`);
    assert.deepEqual(
      stops.slice(0, 3).map((r) => r.retryInMs),
      [100, 200, 400].slice(0, Math.min(3, stops.length)),
    );
    assert.match(JSON.stringify(stops[0].stderr), /No such file or directory/);
    assert.equal(spool.size, 0, "a recording that produced nothing leaves nothing to upload");
    assert.deepEqual([...Deno.readDirSync(`${dir}/capture/front`)], [], "capture folders removed");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("capture loops a file source for as long as it records", async () => {
  const dir = await Deno.makeTempDir({ prefix: "capture-" });
  try {
    const clip = `${dir}/clip.mp4`;
    const made = await new Deno.Command("ffmpeg", {
      args: [
        "-v",
        "error",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x180:rate=25",
        "-t",
        "1.5",
        "-pix_fmt",
        "yuv420p",
        clip,
      ],
    }).output();
    assert.ok(made.success);
    const spool = await openSpool(`${dir}/spool`);
    const capture = new CameraCapture({
      camera: camera(`file:${clip}`, "cab"),
      segmentSeconds: 1,
      spool,
      logger: silentLogger,
    });
    capture.start();
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const recordingId = capture.status().recordingId;
    await capture.close();
    const segments = (await takeAll(spool)).filter((e) => e.kind === "segment");
    assert.ok(segments.length >= 4, `${segments.length} one-second segments from a 1.5 s clip`);
    assert.ok(segments.every((s) => s.recordingId === recordingId), "one recording, no restart");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
