import assert from "node:assert/strict";
import {
  AgentConfigError,
  loadAgentConfig,
  parseAgentConfig,
  parseBytes,
  parseSource,
} from "../../vehicle/config.ts";

const problemsOf = (run: () => unknown): string[] => {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof AgentConfigError, String(error));
    return error.problems;
  }
  assert.fail("expected an AgentConfigError");
};

Deno.test("agent config fills defaults around the cameras", () => {
  const config = parseAgentConfig(
    { cameras: [{ name: "front", source: "testsrc" }] },
    {},
    "/var/lib/v",
  );
  assert.equal(config.stateDir, "/var/lib/v");
  assert.equal(config.spoolDir, "/var/lib/v/spool");
  assert.equal(config.segmentSeconds, 2);
  assert.equal(config.drainOrder, "oldest");
  assert.equal(config.uploadBytesPerSecond, null);
  assert.equal(config.server, undefined);
  assert.deepEqual(config.cameras, [{
    name: "front",
    source: { kind: "testsrc" },
    video: { width: 1280, height: 720, fps: 25, bitrate: 2_000_000 },
    passthrough: "auto",
  }]);
});

Deno.test("agent config passes network cameras' H.264 through unless told otherwise", () => {
  const cameras = [
    { name: "front", source: "rtsp://10.0.0.12/s1" },
    { name: "rear", source: "rtsp://10.0.0.13/s1", passthrough: false },
    { name: "cab", source: "testsrc" },
  ];
  const config = parseAgentConfig({ cameras });
  assert.equal(config.passthrough, "auto");
  assert.deepEqual(config.cameras.map((c) => c.passthrough), ["auto", false, "auto"]);
  const off = parseAgentConfig({ cameras, passthrough: "auto" }, { passthrough: "off" });
  assert.deepEqual(off.cameras.map((c) => c.passthrough), [false, false, false]);
  assert.deepEqual(
    problemsOf(() =>
      parseAgentConfig({
        cameras: [{ name: "cab", source: "testsrc", passthrough: true }],
        passthrough: "sometimes",
      })
    ),
    [
      `"passthrough" must be on, off or auto, got "sometimes"`,
      `cameras[0].passthrough can be true only for a network camera (rtsp://, http(s)://), not a testsrc source`,
    ],
  );
});

Deno.test("agent config reads every source form and per-camera video", () => {
  const config = parseAgentConfig({
    server: "https://motorcade.example.com/",
    diskBudgetBytes: "8GiB",
    uploadBytesPerSecond: "256KiB",
    video: { size: "640x360", fps: 15, bitrate: "800k" },
    cameras: [
      { name: "front", source: "v4l2:/dev/video0" },
      { name: "rear", source: "rtsp://10.0.0.12/stream1", video: { size: "1920x1080" } },
      { name: "cab", source: "file:/srv/loop.mp4" },
      { name: "yard", source: "https://cam.example/stream.m3u8" },
    ],
  });
  assert.equal(config.server, "https://motorcade.example.com");
  assert.equal(config.diskBudgetBytes, 8 * 1024 ** 3);
  assert.equal(config.uploadBytesPerSecond, 256 * 1024);
  assert.deepEqual(config.cameras.map((c) => c.source), [
    { kind: "v4l2", device: "/dev/video0" },
    { kind: "url", url: "rtsp://10.0.0.12/stream1" },
    { kind: "file", path: "/srv/loop.mp4" },
    { kind: "url", url: "https://cam.example/stream.m3u8" },
  ]);
  assert.deepEqual(config.cameras[0].video, { width: 640, height: 360, fps: 15, bitrate: 800_000 });
  assert.deepEqual(config.cameras[1].video, {
    width: 1920,
    height: 1080,
    fps: 15,
    bitrate: 800_000,
  });
});

Deno.test("agent config flags win over the file and are named in errors", () => {
  const config = parseAgentConfig(
    { segmentSeconds: 6, cameras: [{ name: "front", source: "testsrc" }] },
    {
      "segment-seconds": "4",
      camera: ["rear=v4l2:/dev/video1"],
      "drain-order": "newest",
      "video-size": "320x180",
    },
  );
  assert.equal(config.segmentSeconds, 4);
  assert.equal(config.drainOrder, "newest");
  assert.deepEqual(config.cameras.map((c) => c.name), ["rear"]);
  assert.equal(config.cameras[0].video.width, 320);

  const problems = problemsOf(() =>
    parseAgentConfig({ cameras: [{ name: "front", source: "testsrc" }] }, {
      "segment-seconds": "0",
      "upload-rate": "fast",
    })
  );
  assert.equal(problems.length, 2);
  assert.match(problems[0], /^--segment-seconds must be a number from 0.5 to 30, got "0"/);
  assert.match(problems[1], /^--upload-rate must be a byte count/);
  assert.match(
    problemsOf(() => parseAgentConfig({}, { camera: ["front=testsrc", "rear=webcam"] }))[0],
    /^--camera #2\.source must be one of/,
  );
});

Deno.test("agent config reports every bad field at once, naming each", () => {
  const problems = problemsOf(() =>
    parseAgentConfig({
      colour: "red",
      drainOrder: "random",
      diskBudgetBytes: "lots",
      segmentSeconds: 0,
      server: "ftp://x",
      video: { size: "720p" },
      cameras: [
        { name: "Front", source: "testsrc" },
        { name: "rear", source: "webcam" },
        { name: "cab", source: "v4l2:video0" },
        { name: "cab", source: "testsrc", lens: "wide" },
      ],
    })
  );
  const expected = [
    /^"colour" is not a known field/,
    /^"server" must be an http\(s\) URL/,
    /^video\.size must be WIDTHxHEIGHT/,
    /^"diskBudgetBytes" must be a byte count/,
    /^cameras\[0\]\.name must be 1-32 lower-case letters/,
    /^cameras\[1\]\.source must be one of testsrc, file:<path>/,
    /^cameras\[2\]\.source needs a device such as v4l2:\/dev\/video0/,
    /^cameras\[3\]\."lens" is not a known field/,
    /^cameras\[3\]\.name "cab" is used by another camera/,
    /^"segmentSeconds" must be a number from 0.5 to 30, got 0/,
    /^"drainOrder" must be one of oldest, newest, got "random"/,
  ];
  for (const pattern of expected) {
    assert.ok(problems.some((p) => pattern.test(p)), `${pattern} not in:\n${problems.join("\n")}`);
  }
  assert.equal(problems.length, expected.length, problems.join("\n"));
});

Deno.test("agent config needs at least one camera", () => {
  assert.match(problemsOf(() => parseAgentConfig({}))[0], /^"cameras" is required/);
  assert.match(
    problemsOf(() => parseAgentConfig({}, { camera: ["front"] }))[0],
    /^--camera #1 must be NAME=SOURCE/,
  );
});

Deno.test("agent config file that is not JSON is named in the error", async () => {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.writeTextFile(path, "{ cameras: ");
    await assert.rejects(() => loadAgentConfig(path, {}, "."), (error: AgentConfigError) => {
      assert.match(error.problems[0], /^--config: ".*" is not JSON/);
      return true;
    });
    await assert.rejects(() => loadAgentConfig(`${path}.missing`, {}, "."), /cannot read/);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("byte counts and sources parse as documented", () => {
  assert.equal(parseBytes("2GiB"), 2 * 1024 ** 3);
  assert.equal(parseBytes("500MB"), 500e6);
  assert.equal(parseBytes("64k"), 64_000);
  assert.equal(parseBytes(1048576), 1048576);
  assert.equal(parseBytes("1.5MiB"), 1.5 * 1024 ** 2);
  assert.equal(parseBytes("-1"), undefined);
  assert.equal(parseBytes("12 parsecs"), undefined);
  assert.deepEqual(parseSource("rtsps://cam/1"), { kind: "url", url: "rtsps://cam/1" });
  assert.match(parseSource("file:") as string, /needs a path/);
});

Deno.test("agent config takes a re-anchor threshold in seconds and refuses a bad one", () => {
  const cameras = [{ name: "front", source: "testsrc" }];
  assert.equal(parseAgentConfig({ cameras }).reanchorSeconds, 1);
  assert.equal(parseAgentConfig({ cameras, reanchorSeconds: 2.5 }).reanchorSeconds, 2.5);
  assert.equal(
    parseAgentConfig({ cameras }, { "reanchor-seconds": "0.5" }).reanchorSeconds,
    0.5,
  );
  assert.deepEqual(problemsOf(() => parseAgentConfig({ cameras, reanchorSeconds: 0 })), [
    `"reanchorSeconds" must be a number from 0.1 to 3600, got 0`,
  ]);
  assert.deepEqual(
    problemsOf(() => parseAgentConfig({ cameras }, { "reanchor-seconds": "soon" })),
    [`--reanchor-seconds must be a number from 0.1 to 3600, got "soon"`],
  );
});
