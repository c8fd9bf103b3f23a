/**
 * Benchmark: glass-to-glass latency of live video. A camera process paints the wall-clock time
 * into every frame (32 black/white blocks: ms since start plus a check, `live_clock_stamp.ts`)
 * and serves it as a live Y4M stream at 1280x720 25 fps; the vehicle's live path (`LiveLink` and
 * `LivePublisher`, camera source `http://…/camera.y4m`, x264 at 2 Mbit/s) publishes it through
 * the real server and Janus; headless Chromium watches over the signaling WebSocket, and for
 * every frame (`requestVideoFrameCallback`) reads the blocks back: latency = when the frame is
 * expected on the glass − when it was painted, same machine, same clock. Also shown: until its
 * last packet arrived (`receiveTime`), which leaves out Chromium's jitter buffer and decoding.
 * The stamp survives the ladder (blocks scale with the picture), so the same method measures:
 *
 * - ladder off: Janus forwards the vehicle's stream; goal p50 <= 250 ms.
 * - ladder on (default `480:600k,720:1500k,1080:3m`, layer 1 via `quality: "medium"`): the
 *   server's ffmpeg decodes and encodes again; goal p50 <= 400 ms.
 *
 * Baseline in the same run: the same camera, publisher and Chromium receiver connected directly
 * (the publisher's offer answered by the page; no server, no Janus, no ladder), so the ratio shows
 * what the server path adds. The vehicle runs without its recording encoder in all three cases.
 *
 *   bash scripts/netns.sh deno run -A bench/live_latency.ts [--seconds 20] [--size 1280x720]
 */
import { parseArgs } from "node:util";
import type { Page } from "playwright-core";
import type { CameraConfig } from "../vehicle/config.ts";
import { launchChromium } from "../tests/support/browser.ts";
import { setUpVehicle } from "../tests/support/fleet_api.ts";
import { liveServerEnv, requireLiveNamespace, SignalingClient } from "../tests/support/live.ts";
import { startServer } from "../tests/support/server.ts";
import { type FrameSample, startReceiver, takeReport } from "./support/live_browser_receiver.ts";
import { sleep } from "./support/live_procs.ts";
import { startWorker } from "./support/live_worker.ts";
import { machineLine, ms, percentile, row, verdict } from "./support/report.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "20" },
    size: { type: "string", default: "1280x720" },
    bitrate: { type: "string", default: "2000000" },
    ladder: { type: "string", default: "480:600k,720:1500k,1080:3m" },
  },
});
const SECONDS = Number(values.seconds);
const WARM_UP_MS = 5_000;
const [WIDTH, HEIGHT] = values.size.split("x").map(Number);
const GOAL_OFF_MS = 250;
const GOAL_ON_MS = 400;

requireLiveNamespace();
const machine = machineLine();

interface Result {
  samples: FrameSample[];
  misread: number;
  resolution: string;
}

await using camera = startWorker("live_clock_camera_main.ts", [values.size]);
const { url, epoch } = await camera.next((m) => typeof m.url === "string") as {
  url: string;
  epoch: number;
};
const source = { epoch, width: WIDTH, height: HEIGHT };
const cameraConfig: CameraConfig = {
  name: "front",
  source: { kind: "url", url },
  video: { width: WIDTH, height: HEIGHT, fps: 25, bitrate: Number(values.bitrate) },
};
await using browser = await launchChromium();

/** Lets the stream settle, then collects the page's samples for SECONDS. */
async function collect(page: Page): Promise<Result> {
  const deadline = Date.now() + 30_000;
  while ((await takeReport(page)).samples.length === 0) {
    if (Date.now() > deadline) throw new Error("No decodable frame within 30 s");
    await sleep(250);
  }
  await sleep(WARM_UP_MS);
  await takeReport(page);
  await sleep(SECONDS * 1000);
  const report = await takeReport(page);
  return {
    samples: report.samples,
    misread: report.misread,
    resolution: `${report.width}x${report.height}`,
  };
}

/** The baseline: the publisher's offer answered straight by Chromium. */
async function direct(): Promise<Result> {
  await using publisher = startWorker("live_publisher_main.ts");
  await publisher.next((m) => m.type === "ready");
  const page = await browser.newPage();
  try {
    await publisher.send({ type: "start", camera: cameraConfig });
    const offer = await publisher.next((m) => m.type === "offer" || m.type === "error");
    if (offer.type === "error") throw new Error(String(offer.message));
    await publisher.send({
      type: "answer",
      sdp: await startReceiver(page, String(offer.sdp), source),
    });
    return await collect(page);
  } finally {
    await publisher.send({ type: "stop" }).catch(() => {});
    await page.close();
  }
}

/** Through the server: a vehicle publishing on demand, Chromium watching over signaling. */
async function throughServer(ladder: string): Promise<Result> {
  await using server = await startServer(
    { ...liveServerEnv({ ladder, graceSeconds: 5 }), ACCESS_TOKEN_TTL: "1h" },
    { timeoutMs: 60_000 },
  );
  const vehicle = await setUpVehicle(server.url, ["front"]);
  await using _vehicle = startWorker("live_vehicle_main.ts", [
    JSON.stringify({ stateDir: vehicle.stateDir, camera: cameraConfig }),
  ]);
  await _vehicle.next((m) => m.type === "ready");
  const client = await SignalingClient.connect(server.url, vehicle.ownerToken);
  const page = await browser.newPage();
  try {
    client.send({
      type: "watch",
      id: "latency",
      fleetId: vehicle.fleetId,
      vehicleId: vehicle.vehicleId,
      cameraId: vehicle.cameras.front,
      quality: ladder === "off" ? "auto" : "medium",
    });
    const offer = await client.next((m) => m.type === "offer" && m.id === "latency", 30_000);
    const answer = await startReceiver(page, String(offer.sdp), source);
    client.send({ type: "answer", id: "latency", sdp: answer });
    return await collect(page);
  } finally {
    client.close();
    await page.close();
    await Deno.remove(vehicle.stateDir, { recursive: true }).catch(() => {});
  }
}

const results: Array<[string, Result]> = [
  ["direct publisher -> Chromium", await direct()],
  ["through Janus, ladder off", await throughServer("off")],
  ["through Janus, ladder on", await throughServer(values.ladder)],
];

const displayed = (r: Result) => r.samples.map((s) => s.displayed - s.captured);
const received = (r: Result) =>
  r.samples.filter((s) => s.received !== null).map((s) => s.received! - s.captured);
console.log(machine);
console.log(
  `load: clock-stamped ${values.size} 25 fps source, x264 at ${
    Number(values.bitrate) / 1e6
  } Mbit/s in the vehicle's publisher, headless Chromium receiving; ${SECONDS} s each after ${
    WARM_UP_MS / 1000
  } s warm-up; ladder on = ${values.ladder}, layer 1`,
);
console.log(
  `${"".padEnd(36)} ${"glass p50".padStart(10)}   ${"p95".padStart(10)}   ${
    "arrival p50".padStart(11)
  }   ${"p95".padStart(10)}   frames   misread   picture`,
);
for (const [name, result] of results) {
  row(
    name,
    ms(percentile(displayed(result), 50)),
    ms(percentile(displayed(result), 95)),
    ` ${ms(percentile(received(result), 50))}`,
    ms(percentile(received(result), 95)),
    String(result.samples.length).padStart(6),
    String(result.misread).padStart(7),
    `  ${result.resolution}`,
  );
}
const base = percentile(displayed(results[0][1]), 50);
const off = percentile(displayed(results[1][1]), 50);
const on = percentile(displayed(results[2][1]), 50);
const added = (value: number) =>
  `${value >= base ? "+" : "-"}${Math.abs(value - base).toFixed(0)} ms`;
console.log(
  `ratio to direct at p50: ladder off ${(off / base).toFixed(2)} (${added(off)}), ` +
    `ladder on ${(on / base).toFixed(2)} (${added(on)})`,
);
console.log(
  `goals: ladder off p50 <= ${GOAL_OFF_MS} ms: ${verdict(off <= GOAL_OFF_MS)}; ` +
    `ladder on p50 <= ${GOAL_ON_MS} ms: ${verdict(on <= GOAL_ON_MS)}`,
);
