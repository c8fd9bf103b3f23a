/**
 * Benchmark: how long a layer switch waits for its keyframe (issue 13). Janus switches a viewer to
 * another simulcast layer only at a keyframe of that layer, and asks the source for one with an
 * RTCP PLI (on a Streaming mountpoint, to the address its `videortcpport` latched; at most one a
 * second). The ladder's ffmpeg cannot take that request: its keyframes come every 0.5 s whatever is
 * asked. This measures, for the same rungs, the wait from a request to the next keyframe and that
 * keyframe's size (what it costs to cross a 300 kbit/s link):
 *
 * - baseline: the ladder itself (`ladderArgs`, the server's own ffmpeg arguments, on a 1280x720
 *   25 fps test picture), asked at random moments (it never hears the request);
 * - GStreamer encoders from Debian's packages behind `rtpbin`, sent a real RTCP PLI for their SSRC
 *   on their RTCP port, with periodic keyframes only every 10 s so that any earlier keyframe is the
 *   answer: openh264enc, vp8enc, and x264enc when gstreamer1.0-plugins-ugly is installed.
 *
 *   deno run -A bench/ladder_keyframe.ts [--requests 12]
 */
import dgram from "node:dgram";
import { parseArgs } from "node:util";
import { ladderArgs, type Rung } from "../lib/live/ladder.ts";
import { startsKeyframe } from "../vehicle/live/pre_roll.ts";
import { machineLine, num, percentile } from "./support/report.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { requests: { type: "string", default: "12" } },
});
const REQUESTS = Number(values.requests);
if (!Number.isInteger(REQUESTS) || REQUESTS < 3) {
  throw new RangeError(`Invalid --requests "${values.requests}": a whole number, at least 3`);
}
const FPS = 25;
/** The default ladder's two lower rungs (`auto` for a 720p camera). */
const RUNGS: Rung[] = [
  { height: 240, bitrate: 200_000 },
  { height: 540, bitrate: 680_000 },
];
const LINK_BPS = 300_000;
/** Janus sends at most one PLI a second; requests are spread 1.2-2 s apart. */
const GAP_MS = [1_200, 2_000];

interface Keyframe {
  at: number;
  bytes: number;
}

/** Receives one RTP stream on `port`: each frame's arrival, size and whether it is a keyframe. */
class RtpWatch {
  readonly keyframes: Keyframe[] = [];
  ssrc = 0;
  #socket: dgram.Socket;
  #frame: { ts: number; at: number; bytes: number; key: boolean } | null = null;

  constructor(readonly port: number, readonly codec: "h264" | "vp8") {
    this.#socket = dgram.createSocket("udp4");
    this.#socket.on("message", (message: Uint8Array) => this.#take(message, performance.now()));
  }

  /** Binds the port; resolves once packets can arrive. */
  listen(): Promise<void> {
    return new Promise((resolve) => this.#socket.bind(this.port, "127.0.0.1", resolve));
  }

  #take(p: Uint8Array, now: number): void {
    if (p.length < 12 || p[0] >> 6 !== 2) return;
    const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
    this.ssrc = view.getUint32(8);
    const ts = view.getUint32(4);
    let offset = 12 + (p[0] & 0x0f) * 4;
    if (p[0] & 0x10) offset += 4 + view.getUint16(offset + 2) * 4;
    if (offset >= p.length) return;
    if (!this.#frame || this.#frame.ts !== ts) {
      this.#close();
      this.#frame = { ts, at: now, bytes: 0, key: false };
    }
    this.#frame.bytes += p.length - offset;
    this.#frame.at = now; // arrival of its last packet
    if (this.#starts(p, offset)) this.#frame.key = true;
  }

  /** Whether the packet carries the start of a keyframe (H.264 IDR or SPS; VP8 key frame). */
  #starts(p: Uint8Array, offset: number): boolean {
    if (this.codec === "h264") return startsKeyframe(p);
    // VP8 (RFC 7741): the payload descriptor, then the frame's first byte, whose bit 0 is 0 on
    // a key frame, at the start of partition 0.
    const descriptor = p[offset];
    let o = offset + 1;
    if (descriptor & 0x80) {
      const x = p[o++];
      if (x & 0x80) o += p[o] & 0x80 ? 2 : 1;
      if (x & 0x40) o++;
      if (x & 0x30) o++;
    }
    const partitionStart = (descriptor & 0x10) !== 0 && (descriptor & 0x07) === 0;
    return partitionStart && o < p.length && (p[o] & 0x01) === 0;
  }

  #close(): void {
    if (this.#frame?.key) this.keyframes.push({ at: this.#frame.at, bytes: this.#frame.bytes });
  }

  /** The first keyframe complete (a later frame begun) at or after `t`. */
  after(t: number): Keyframe | undefined {
    return this.keyframes.find((k) => k.at >= t);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }
}

/** An RTCP PLI (RFC 4585 §6.3.1) from a made-up receiver about `ssrc`. */
function pli(ssrc: number): Uint8Array {
  const packet = new Uint8Array(12);
  const view = new DataView(packet.buffer);
  packet[0] = 0x81; // V=2, FMT=1
  packet[1] = 206; // payload-specific feedback
  view.setUint16(2, 2);
  view.setUint32(4, 0x4d43_0001);
  view.setUint32(8, ssrc);
  return packet;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const gap = () => GAP_MS[0] + Math.random() * (GAP_MS[1] - GAP_MS[0]);

interface Result {
  name: string;
  rung: Rung;
  waits: number[];
  sizes: number[];
  missed: number;
}

/** Asks `REQUESTS` times (`ask` sends the request, if the encoder can take one) and measures. */
async function measure(
  name: string,
  rung: Rung,
  watch: RtpWatch,
  ask: () => Promise<void>,
): Promise<Result> {
  const waits: number[] = [];
  const sizes: number[] = [];
  let missed = 0;
  // Let the encoder start and send its first keyframe.
  for (let i = 0; i < 50 && watch.ssrc === 0; i++) await sleep(100);
  await sleep(1_500);
  for (let i = 0; i < REQUESTS; i++) {
    await sleep(gap());
    const at = performance.now();
    await ask();
    await sleep(1_000);
    const key = watch.after(at);
    if (!key) {
      missed++;
      continue;
    }
    waits.push(key.at - at);
    sizes.push(key.bytes);
  }
  return { name, rung, waits, sizes, missed };
}

async function stop(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGINT");
  } catch {
    // gone
  }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // gone
    }
  }, 3_000);
  await child.status;
  clearTimeout(timer);
}

/** The ladder's own ffmpeg, all rungs at once; requests go nowhere. */
async function ladderBaseline(portBase: number): Promise<Result[]> {
  const ports = RUNGS.map((_, i) => portBase + 2 * i);
  const watches = RUNGS.map((_, i) => new RtpWatch(ports[i], "h264"));
  for (const w of watches) await w.listen();
  const input = ["-re", "-f", "lavfi", "-i", `testsrc2=size=1280x720:rate=${FPS}`];
  const child = new Deno.Command("ffmpeg", {
    args: ladderArgs(input, { rungs: RUNGS, ports, fps: FPS }),
    stdout: "null",
    stderr: "piped",
  }).spawn();
  child.stderr.pipeTo(new WritableStream()).catch(() => {});
  try {
    const results = await Promise.all(
      RUNGS.map((rung, i) =>
        measure("ffmpeg ladder (0.5 s GOP)", rung, watches[i], () => Promise.resolve())
      ),
    );
    return results;
  } finally {
    await stop(child);
    for (const w of watches) await w.close();
  }
}

interface GstEncoder {
  name: string;
  element: string;
  codec: "h264" | "vp8";
  args: (rung: Rung) => string[];
}

const GST_ENCODERS: GstEncoder[] = [
  {
    name: "GStreamer openh264enc",
    element: "openh264enc",
    codec: "h264",
    args: (r) => [
      "openh264enc",
      `bitrate=${r.bitrate}`,
      "rate-control=bitrate",
      `gop-size=${FPS * 10}`,
      "complexity=low",
      "!",
      "rtph264pay",
      "config-interval=-1",
      "aggregate-mode=zero-latency",
      "mtu=1200",
    ],
  },
  {
    name: "GStreamer x264enc",
    element: "x264enc",
    codec: "h264",
    args: (r) => [
      "x264enc",
      "tune=zerolatency",
      "speed-preset=ultrafast",
      `bitrate=${Math.round(r.bitrate / 1000)}`,
      `key-int-max=${FPS * 10}`,
      "!",
      "video/x-h264,profile=baseline",
      "!",
      "rtph264pay",
      "config-interval=-1",
      "aggregate-mode=zero-latency",
      "mtu=1200",
    ],
  },
  {
    name: "GStreamer vp8enc",
    element: "vp8enc",
    codec: "vp8",
    args: (r) => [
      "vp8enc",
      "deadline=1",
      "cpu-used=8",
      "end-usage=cbr",
      `target-bitrate=${r.bitrate}`,
      `keyframe-max-dist=${FPS * 10}`,
      "!",
      "rtpvp8pay",
      "mtu=1200",
    ],
  },
];

function hasElement(element: string): boolean {
  try {
    return new Deno.Command("gst-inspect-1.0", { args: [element], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

/** One GStreamer encoder on one rung, its RTCP in on `port + 1`; each request is a PLI. */
async function gstreamer(encoder: GstEncoder, rung: Rung, port: number): Promise<Result> {
  const width = Math.round((rung.height * 16) / 9 / 2) * 2;
  const watch = new RtpWatch(port, encoder.codec);
  await watch.listen();
  // Sender reports go to a socket that drops them; PLIs leave from another.
  const rtcpOut = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => rtcpOut.bind(port + 2, "127.0.0.1", resolve));
  const feedback = dgram.createSocket("udp4");
  const child = new Deno.Command("gst-launch-1.0", {
    args: [
      "-q",
      "rtpbin",
      "name=rb",
      "videotestsrc",
      "is-live=true",
      "pattern=smpte",
      "!",
      `video/x-raw,width=${width},height=${rung.height},framerate=${FPS}/1`,
      "!",
      ...encoder.args(rung),
      "!",
      "rb.send_rtp_sink_0",
      "rb.send_rtp_src_0",
      "!",
      "udpsink",
      "host=127.0.0.1",
      `port=${port}`,
      "rb.send_rtcp_src_0",
      "!",
      "udpsink",
      "host=127.0.0.1",
      `port=${port + 2}`,
      "sync=false",
      "async=false",
      "udpsrc",
      "address=127.0.0.1",
      `port=${port + 1}`,
      "!",
      "rb.recv_rtcp_sink_0",
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  child.stderr.pipeTo(new WritableStream()).catch(() => {});
  try {
    return await measure(
      encoder.name,
      rung,
      watch,
      () =>
        new Promise<void>((resolve, reject) =>
          feedback.send(pli(watch.ssrc), port + 1, "127.0.0.1", (e) => e ? reject(e) : resolve())
        ),
    );
  } finally {
    await stop(child);
    await watch.close();
    rtcpOut.close();
    feedback.close();
  }
}

console.log(machineLine());
console.log(
  `${REQUESTS} requests per encoder and rung, ${GAP_MS[0] / 1000}-${
    GAP_MS[1] / 1000
  } s apart; wait = request to the keyframe's last packet on 127.0.0.1; crossing = its size at ${
    LINK_BPS / 1000
  } kbit/s`,
);
const results: Result[] = await ladderBaseline(46_100);
let port = 46_200;
for (const encoder of GST_ENCODERS) {
  if (!hasElement(encoder.element)) {
    console.log(`${encoder.name}: not installed (gst-inspect-1.0 ${encoder.element} failed)`);
    continue;
  }
  for (const rung of RUNGS) {
    results.push(await gstreamer(encoder, rung, port));
    port += 10;
  }
}

console.log(
  `\n${"encoder".padEnd(28)} ${"rung".padEnd(12)} ${"wait p50".padStart(9)} ${"p95".padStart(7)} ${
    "max".padStart(7)
  }   ${"keyframe".padStart(8)}   ${"crossing".padStart(8)}   vs ladder`,
);
for (const r of results) {
  const baseline = results.find((b) => b.rung === r.rung)!;
  const p50 = percentile(r.waits, 50);
  const size = percentile(r.sizes, 50);
  console.log(
    `${r.name.padEnd(28)} ${`${r.rung.height}p ${r.rung.bitrate / 1000}k`.padEnd(12)} ${
      num(p50, 0, 6)
    } ms ${num(percentile(r.waits, 95), 0, 4)} ms ${num(Math.max(...r.waits), 0, 4)} ms   ${
      num(size / 1000, 1, 5)
    } kB   ${num((size * 8 * 1000) / LINK_BPS, 0, 5)} ms   ${
      num(p50 / percentile(baseline.waits, 50), 2, 5)
    }×${r.missed ? `  (${r.missed} requests without a keyframe within 1 s)` : ""}`,
  );
}
