/**
 * Benchmark: is there a better floor for a poor link than the ladder's 240p rung? Each candidate
 * layer is encoded from a 1280x720 25 fps test picture as the ladder encodes (libx264 ultrafast,
 * zerolatency, baseline, RTP of 1,200 bytes) and sent to a UDP port whose traffic goes through an
 * htb class at `--rate` with a 30-packet pfifo (no netem on this kernel), for `--seconds`. The
 * receiver counts the frames it could show (complete, and no packet missing since the last
 * keyframe), the longest gap between shown frames, and each frame's queue delay (arrival of its
 * last packet against its RTP time, less the smallest such offset).
 *
 * Candidates: the derived floor (240p 25 fps 200 kbit/s, keyframe every 0.5 s), the same with a 2 s
 * GOP, 240p at 5 fps, keyframe-only 240p at 2 fps, and 180p at 25 fps.
 *
 *   bash scripts/netns.sh deno run -A bench/live_floor.ts [--rate 300kbit] [--seconds 15]
 */
import dgram from "node:dgram";
import { parseArgs } from "node:util";
import { requireLiveNamespace } from "../tests/support/live.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rate: { type: "string", default: "300kbit" },
    seconds: { type: "string", default: "15" },
  },
});
const RATE = values.rate;
const SECONDS = Number(values.seconds);
/** Candidate i listens on BASE + i; the htb filter matches BASE's 16 ports. */
const BASE = 47_008;

interface Candidate {
  name: string;
  height: number;
  fps: number;
  bitrate: number;
  keyframes: string[];
}

const halfSecond = ["-force_key_frames", "expr:gte(t,n_forced*0.5)", "-g", "52"];
const CANDIDATES: Candidate[] = [
  {
    name: "240p 25 fps 200k, key 0.5 s (floor)",
    height: 240,
    fps: 25,
    bitrate: 200_000,
    keyframes: halfSecond,
  },
  {
    name: "240p 25 fps 200k, key 2 s",
    height: 240,
    fps: 25,
    bitrate: 200_000,
    keyframes: ["-force_key_frames", "expr:gte(t,n_forced*2)", "-g", "100"],
  },
  {
    name: "240p 5 fps 120k, key 1 s",
    height: 240,
    fps: 5,
    bitrate: 120_000,
    keyframes: ["-force_key_frames", "expr:gte(t,n_forced*1)", "-g", "5"],
  },
  {
    name: "240p 2 fps keyframe-only 150k",
    height: 240,
    fps: 2,
    bitrate: 150_000,
    keyframes: ["-g", "1"],
  },
  {
    name: "180p 25 fps 130k, key 0.5 s",
    height: 180,
    fps: 25,
    bitrate: 130_000,
    keyframes: halfSecond,
  },
];

async function run(command: string, ...args: string[]): Promise<void> {
  const out = await new Deno.Command(command, { args, stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${command} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** Shapes UDP traffic to BASE's ports on lo to `rate`, everything else unlimited. */
async function shape(rate: string): Promise<void> {
  const tc = (...args: string[]) => run("tc", ...args);
  await tc("qdisc", "add", "dev", "lo", "root", "handle", "1:", "htb", "default", "10");
  await tc("class", "add", "dev", "lo", "parent", "1:", "classid", "1:10", "htb", "rate", "10gbit");
  await tc(
    ..."class add dev lo parent 1: classid 1:20 htb".split(" "),
    ...["rate", rate, "ceil", rate, "burst", "4k"],
  );
  await tc(..."qdisc add dev lo parent 1:20 handle 20: pfifo limit 30".split(" "));
  await tc(
    ..."filter add dev lo parent 1: protocol ip prio 1 u32 match ip protocol 17 0xff".split(" "),
    ...["match", "ip", "dport", String(BASE), "0xfff0", "flowid", "1:20"],
  );
}

interface Packet {
  at: number;
  seq: number;
  ts: number;
  marker: boolean;
  keyframe: boolean;
  bytes: number;
}

/** Whether an H.264 RTP payload starts a keyframe (IDR, or SPS ahead of one). */
function startsKeyframe(packet: Uint8Array): boolean {
  const nal = packet[12] & 0x1f;
  if (nal === 28) return (packet[13] & 0x1f) === 5; // FU-A
  if (nal === 24) return [5, 7].includes(packet[15] & 0x1f); // STAP-A
  return nal === 5 || nal === 7;
}

async function measure(candidate: Candidate, port: number): Promise<string> {
  const packets: Packet[] = [];
  const socket = dgram.createSocket("udp4");
  socket.on("message", (message: Uint8Array) => {
    packets.push({
      at: performance.now(),
      seq: (message[2] << 8) | message[3],
      ts: ((message[4] << 24) >>> 0) + (message[5] << 16) + (message[6] << 8) + message[7],
      marker: (message[1] & 0x80) !== 0,
      keyframe: startsKeyframe(message),
      bytes: message.length + 28, // with UDP and IP headers
    });
  });
  await new Promise<void>((resolve) => socket.bind(port, "127.0.0.1", () => resolve()));
  const scale = `scale=-2:${candidate.height}`;
  await new Deno.Command("ffmpeg", {
    args: [
      ...["-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi"],
      ...["-i", "testsrc2=size=1280x720:rate=25", "-t", String(SECONDS)],
      ...["-vf", candidate.fps === 25 ? scale : `fps=${candidate.fps},${scale}`],
      ...[
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-tune",
        "zerolatency",
        "-profile:v",
        "baseline",
      ],
      ...candidate.keyframes,
      ...["-sc_threshold", "0", "-b:v", String(candidate.bitrate)],
      ...["-maxrate", String(candidate.bitrate), "-bufsize", String(candidate.bitrate / 2)],
      ...[
        "-threads",
        "1",
        "-payload_type",
        "96",
        "-f",
        "rtp",
        `rtp://127.0.0.1:${port}?pkt_size=1200`,
      ],
    ],
    stdout: "null",
  }).output();
  await new Promise((resolve) => setTimeout(resolve, 1_500)); // the queue drains
  socket.close();
  packets.sort((a, b) => a.seq - b.seq);
  const frames = new Map<
    number,
    { last: number; keyframe: boolean; whole: boolean; seqs: number[] }
  >();
  for (const p of packets) {
    const frame = frames.get(p.ts) ?? { last: 0, keyframe: false, whole: false, seqs: [] };
    frame.last = Math.max(frame.last, p.at);
    frame.keyframe ||= p.keyframe;
    frame.whole ||= p.marker;
    frame.seqs.push(p.seq);
    frames.set(p.ts, frame);
  }
  let next = packets[0]?.seq ?? 0;
  let broken = false;
  const shown: { at: number; ts: number }[] = [];
  for (const [ts, frame] of [...frames].sort((a, b) => a[0] - b[0])) {
    const first = Math.min(...frame.seqs);
    const last = Math.max(...frame.seqs);
    const missing = first !== next || frame.seqs.length !== last - first + 1 || !frame.whole;
    next = last + 1;
    if (frame.keyframe && !missing) broken = false;
    else if (missing) broken = true;
    if (!broken) shown.push({ at: frame.last, ts });
  }
  const offset = Math.min(...shown.map((s) => s.at - s.ts / 90));
  const delays = shown.map((s) => s.at - s.ts / 90 - offset).sort((a, b) => a - b);
  let gap = 0;
  for (let i = 1; i < shown.length; i++) gap = Math.max(gap, shown[i].at - shown[i - 1].at);
  const kbps = packets.reduce((sum, p) => sum + p.bytes, 0) * 8 / SECONDS / 1000;
  const p = (q: number) =>
    delays[Math.min(delays.length - 1, Math.floor(delays.length * q))] ?? NaN;
  return `| ${candidate.name} | ${kbps.toFixed(0)} | ${shown.length}/${
    SECONDS * candidate.fps
  } | ` +
    `${gap.toFixed(0)} | ${p(0.5).toFixed(0)} / ${p(0.95).toFixed(0)} |`;
}

requireLiveNamespace();
await shape(RATE);
console.log(`floor candidates through htb at ${RATE}, ${SECONDS} s each`);
console.log(
  "| candidate | kbit/s received | frames shown | longest gap, ms | queue delay p50 / p95, ms |",
);
console.log("| --- | --- | --- | --- | --- |");
for (const [i, candidate] of CANDIDATES.entries()) console.log(await measure(candidate, BASE + i));
