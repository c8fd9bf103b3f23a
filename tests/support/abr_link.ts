/**
 * Live ABR on a throttled link, as a viewer sees it: htb on `lo` inside the test namespace shapes
 * only what reaches one Chromium viewer's UDP port (Janus's media to it), while headless Chromium
 * watches — through WHEP (its own RTCPeerConnection posting the offer) or through the vehicle
 * page's "Watch live" (the admin's WebSocket viewer). A script installed in the page meters the
 * video every ~100 ms (`getStats` inbound-rtp: frames decoded, picture height, bytes, Chromium's
 * freezes) and every presented frame (`requestVideoFrameCallback`), and {@linkcode runAbrSession}
 * drives one session through the scenarios of issue 13 — 1 Mbit/s with a cellular-sized queue,
 * 300 kbit/s, recovery, a delay-only link (a queue that never drops), recovery — and measures
 * each phase. `tests/live/abr_link_test.ts` asserts on the report, `bench/live_abr.ts` prints it.
 */
import type { Browser, Page } from "playwright-core";
import { CONFIG_VARIABLES } from "../../lib/config/mod.ts";
import { OWNER } from "./platform.ts";

/** The server's default `LIVE_LADDER` (what the demo runs), as its configuration table says. */
export const DEFAULT_LADDER = CONFIG_VARIABLES.find((v) => v.name === "LIVE_LADDER")!.default;

/** The demo vehicle's camera (agent arguments): 1280x720 at 25 fps, 2 Mbit/s. */
export const DEMO_SOURCE = ["--video-size", "1280x720", "--fps", "25", "--bitrate", "2000k"];

// ---------------------------------------------------------------------------------------------
// Shaping

async function tc(...args: string[]): Promise<void> {
  const out = await new Deno.Command("tc", { args, stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`tc ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

/** The queue in front of the shaped link: a drop-tail buffer of `bytes`. */
export interface LinkQueue {
  bytes: number;
}

/** A byte fifo's arguments (at least one full packet). */
const bfifo = (bytes: number) => ["bfifo", "limit", String(Math.max(1_600, Math.round(bytes)))];

/** Rate above which the link counts as unshaped. */
const FREE_RATE = "10gbit";

/**
 * A shaped path to one UDP port on `lo` (htb: class 1:20 for the port, 1:10 unlimited for the
 * rest); created unshaped. `await using` removes the qdisc whatever happened.
 */
export class ShapedLink implements AsyncDisposable {
  #open = true;
  /** The rate now, bits per second (null: unshaped). */
  rate: number | null = null;

  private constructor(readonly port: number) {}

  /** Classifies UDP to `port` on `lo` into a shaped class (unshaped until {@linkcode shape}). */
  static async open(port: number): Promise<ShapedLink> {
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new RangeError(`Cannot shape port "${port}": not a UDP port`);
    }
    await tc("qdisc", "del", "dev", "lo", "root").catch(() => {});
    const link = new ShapedLink(port);
    try {
      const lo = ["dev", "lo"];
      await tc("qdisc", "add", ...lo, "root", "handle", "1:", "htb", "default", "10");
      for (const id of ["1:10", "1:20"]) {
        await tc("class", "add", ...lo, "parent", "1:", "classid", id, "htb", "rate", FREE_RATE);
      }
      await tc("qdisc", "add", ...lo, "parent", "1:20", "handle", "20:", ...bfifo(64 << 20));
      await tc(
        ...["filter", "add", ...lo, "parent", "1:", "protocol", "ip", "prio", "1", "u32"],
        ...["match", "ip", "protocol", "17", "0xff"],
        ...["match", "ip", "dport", String(port), "0xffff", "flowid", "1:20"],
      );
    } catch (error) {
      await link.close();
      throw error;
    }
    return link;
  }

  /**
   * Limits the port's traffic to `rate` bit/s behind `queue`; the queue changes in place (what it
   * holds stays, as on a link whose rate falls).
   */
  async shape(rate: number, queue: LinkQueue): Promise<void> {
    if (!(rate > 0)) throw new RangeError(`Cannot shape to rate "${rate}": must be positive`);
    await tc(
      "qdisc",
      "change",
      "dev",
      "lo",
      "parent",
      "1:20",
      "handle",
      "20:",
      ...bfifo(queue.bytes),
    );
    await tc(
      ...["class", "change", "dev", "lo", "parent", "1:", "classid", "1:20", "htb"],
      ...["rate", String(Math.round(rate)), "ceil", String(Math.round(rate))],
      ...["burst", "4k", "cburst", "4k"],
    );
    this.rate = rate;
  }

  /** Lifts the limit (the queue drains at once; nothing queued is dropped). */
  async free(): Promise<void> {
    await tc(
      ...["class", "change", "dev", "lo", "parent", "1:", "classid", "1:20", "htb"],
      ...["rate", FREE_RATE, "ceil", FREE_RATE],
    );
    this.rate = null;
  }

  /** What the shaped class sent and dropped so far (`tc -s`). */
  async counters(): Promise<{ sentBytes: number; dropped: number }> {
    const out = await new Deno.Command("tc", {
      args: ["-s", "class", "show", "dev", "lo", "classid", "1:20"],
      stdout: "piped",
      stderr: "null",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    const match = /Sent (\d+) bytes \d+ pkt \(dropped (\d+)/.exec(text);
    return { sentBytes: Number(match?.[1] ?? 0), dropped: Number(match?.[2] ?? 0) };
  }

  /** Removes the qdisc; idempotent. */
  async close(): Promise<void> {
    if (!this.#open) return;
    this.#open = false;
    await tc("qdisc", "del", "dev", "lo", "root").catch(() => {});
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Metering in the page

/** One reading of the viewer's video, every ~100 ms (wall-clock ms, the test's clock). */
export interface MeterSample {
  t: number;
  /** Which RTCPeerConnection of the page (a WebSocket viewer's restart makes another). */
  pc: number;
  framesDecoded: number;
  framesDropped: number;
  frameHeight: number;
  bytesReceived: number;
  packetsLost: number;
  freezeCount: number;
  freezesMs: number;
  jitterMs: number;
  /** Chromium's estimate of what it can receive (candidate pair), bit/s, when it has one. */
  incomingBitrate: number | null;
  rttMs: number | null;
}

/** What the page recorded since the last read. */
interface MeterChunk {
  samples: MeterSample[];
  frames: number[];
  port: number | null;
}

/**
 * Runs in the page (serialized by Playwright, so self-contained): keeps each RTCPeerConnection
 * the page makes (a subclass in place of the global), and every ~100 ms reads the newest one's
 * video statistics and hooks `requestVideoFrameCallback` on the page's `<video>`.
 */
function installMeter(): void {
  const scope = globalThis as unknown as Record<string, unknown>;
  if (scope.__abrMeter) return;
  const peers: RTCPeerConnection[] = [];
  const Native = globalThis.RTCPeerConnection;
  class MeteredPeerConnection extends Native {
    constructor(configuration?: RTCConfiguration) {
      super(configuration);
      peers.push(this);
    }
  }
  scope.RTCPeerConnection = MeteredPeerConnection;
  const wall = () => performance.timeOrigin + performance.now();
  const meter = {
    samples: [] as unknown[],
    frames: [] as number[],
    port: null as number | null,
    take() {
      return {
        samples: meter.samples.splice(0),
        frames: meter.frames.splice(0),
        port: meter.port,
      };
    },
  };
  scope.__abrMeter = meter;
  const hooked = new WeakSet<HTMLVideoElement>();
  const hook = (video: HTMLVideoElement) => {
    if (hooked.has(video)) return;
    hooked.add(video);
    const onFrame = () => {
      meter.frames.push(wall());
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  };
  let busy = false;
  setInterval(async () => {
    const video = document.querySelector("video");
    if (video) hook(video);
    const pc = peers.at(-1);
    if (!pc || busy) return;
    busy = true;
    try {
      const report = await pc.getStats();
      // deno-lint-ignore no-explicit-any
      const all = [...report.values()] as any[];
      const inbound = all.find((s) => s.type === "inbound-rtp" && s.kind === "video");
      const transport = all.find((s) => s.type === "transport");
      const pair = all.find((s) =>
        s.type === "candidate-pair" &&
        (transport?.selectedCandidatePairId
          ? s.id === transport.selectedCandidatePairId
          : s.nominated && s.state === "succeeded")
      );
      const local = pair && all.find((s) => s.id === pair.localCandidateId);
      if (local?.port) meter.port = local.port;
      if (!inbound) return;
      meter.samples.push({
        t: wall(),
        pc: peers.length,
        framesDecoded: inbound.framesDecoded ?? 0,
        framesDropped: inbound.framesDropped ?? 0,
        frameHeight: inbound.frameHeight ?? 0,
        bytesReceived: inbound.bytesReceived ?? 0,
        packetsLost: inbound.packetsLost ?? 0,
        freezeCount: inbound.freezeCount ?? 0,
        freezesMs: Math.round((inbound.totalFreezesDuration ?? 0) * 1000),
        jitterMs: Math.round((inbound.jitter ?? 0) * 1000),
        incomingBitrate: pair?.availableIncomingBitrate ?? null,
        rttMs: pair?.currentRoundTripTime !== undefined
          ? Math.round(pair.currentRoundTripTime * 1000)
          : null,
      });
    } catch {
      // a closed connection: the next tick reads the next one
    } finally {
      busy = false;
    }
  }, 100);
}

/** A Chromium page watching live, metered. */
export interface MeteredViewer extends AsyncDisposable {
  /** "WHEP" or "WebSocket". */
  kind: string;
  page: Page;
  /** Every sample so far, oldest first. */
  samples: MeterSample[];
  /** Wall-clock times of presented frames. */
  frames: number[];
  /** The viewer's local UDP port (its selected ICE candidate), once connected. */
  port: number | null;
  /** Reads what the page recorded since the last poll. */
  poll(): Promise<void>;
}

/** How long a poll waits for a busy page before going on (the read lands at a later poll). */
const POLL_WAIT_MS = 3_000;

function meteredViewer(kind: string, page: Page, close: () => Promise<void>): MeteredViewer {
  let pending: Promise<void> | null = null;
  let failure: unknown = null;
  const viewer: MeteredViewer = {
    kind,
    page,
    samples: [],
    frames: [],
    port: null,
    async poll() {
      // One read at a time; a page too busy to answer keeps its samples for the next poll.
      pending ??= page.evaluate(() =>
        (globalThis as unknown as { __abrMeter: { take(): unknown } }).__abrMeter.take()
      ).then((result) => {
        const chunk = result as MeterChunk;
        viewer.samples.push(...chunk.samples);
        viewer.frames.push(...chunk.frames);
        if (chunk.port) viewer.port = chunk.port;
      }, (error) => {
        failure = error;
      }).finally(() => pending = null);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        pending,
        new Promise((resolve) => timer = setTimeout(resolve, POLL_WAIT_MS)),
      ]);
      clearTimeout(timer);
      if (failure) throw failure;
    },
    [Symbol.asyncDispose]: close,
  };
  return viewer;
}

/** Runs in the page: a WHEP player — offers recvonly video, POSTs it, applies the answer. */
async function whepInPage(o: { url: string; token: string }): Promise<string> {
  const pc = new RTCPeerConnection();
  pc.addTransceiver("video", { direction: "recvonly" });
  const video = document.createElement("video");
  video.muted = true;
  video.autoplay = true;
  video.playsInline = true;
  video.width = 640;
  document.body.append(video);
  pc.ontrack = (event) => {
    video.srcObject = event.streams[0] ?? new MediaStream([event.track]);
    video.play().catch(() => {});
  };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise<void>((resolve) => {
    if (pc.iceGatheringState === "complete") return resolve();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && resolve();
    setTimeout(resolve, 2_000);
  });
  const response = await fetch(o.url, {
    method: "POST",
    headers: { "content-type": "application/sdp", authorization: `Bearer ${o.token}` },
    body: pc.localDescription!.sdp,
  });
  const text = await response.text();
  if (response.status !== 201) throw new Error(`WHEP answered ${response.status}: ${text}`);
  await pc.setRemoteDescription({ type: "answer", sdp: text });
  (globalThis as unknown as { __whep: unknown }).__whep = {
    pc,
    location: new URL(response.headers.get("location")!, o.url).href,
  };
  return response.headers.get("location") ?? "";
}

/** Opens a WHEP viewer of `whepUrl` (with a live-link or user `token`) in a new page. */
export async function openWhepViewer(
  browser: Browser,
  whepUrl: string,
  token: string,
): Promise<MeteredViewer> {
  const page = await browser.newPage();
  try {
    await page.evaluate(installMeter);
    await page.evaluate(whepInPage, { url: whepUrl, token });
  } catch (error) {
    await page.close();
    throw error;
  }
  return meteredViewer("WHEP", page, async () => {
    await page.evaluate(async () => {
      const whep =
        (globalThis as unknown as { __whep?: { pc: RTCPeerConnection; location: string } })
          .__whep;
      whep?.pc.close();
      if (whep) await fetch(whep.location, { method: "DELETE" }).catch(() => {});
    }).catch(() => {});
    await page.close();
  });
}

/**
 * Opens the vehicle page as the platform owner in a new page and clicks "Watch live" on
 * `camera`: the admin's WebSocket viewer, its RTCPeerConnection metered.
 */
export async function openAdminViewer(
  browser: Browser,
  serverUrl: string,
  vehicle: { fleetId: string; vehicleId: string },
  camera = "front",
): Promise<MeteredViewer> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  try {
    await page.addInitScript(installMeter);
    const vehiclePath = `/admin/fleets/${vehicle.fleetId}/vehicles/${vehicle.vehicleId}`;
    await page.goto(`${serverUrl}${vehiclePath}`);
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    await page.getByLabel("Email").fill(OWNER.email);
    await page.getByLabel("Password").fill(OWNER.password);
    await Promise.all([
      page.waitForURL((url) => url.pathname === vehiclePath),
      page.getByRole("button", { name: "Sign in" }).click(),
    ]);
    await page.getByRole("button", { name: `Watch live ${camera}` }).click();
  } catch (error) {
    await page.close();
    throw error;
  }
  return meteredViewer("WebSocket", page, async () => {
    await page.getByRole("button", { name: "Close" }).click({ timeout: 2_000 }).catch(() => {});
    await page.close();
  });
}

// ---------------------------------------------------------------------------------------------
// The session

/** A phase of the session: the link's state and what was measured while it held. */
export interface PhaseReport {
  name: string;
  /** The link's rate, bit/s (null: unshaped). */
  rate: number | null;
  /** The queue in front of it. */
  queue: string;
  start: number;
  end: number;
  /** Picture height when the phase began, and its lowest and last within it. */
  heightAtStart: number;
  lowestHeight: number;
  heightAtEnd: number;
  /** ms from the phase's start to the first picture below `heightAtStart` (null: never). */
  stepDownMs: number | null;
  /** ms from the phase's start until the picture is at the top again (recovery phases). */
  backToTopMs: number | null;
  /**
   * Longest freeze of the stream, ms: the longest a frame took to follow the one before (Chromium's
   * freezes, inbound-rtp), or the longest no frame was decoded, whichever is longer.
   */
  longestFreezeMs: number;
  /**
   * Longest time between two frames the page presented (requestVideoFrameCallback), ms: also
   * counts the page's own stalls (a busy renderer), so it is shown, not asserted.
   */
  longestPresentedGapMs: number;
  /** Longest gap between two of the page's 100 ms samples: how long the page itself stalled. */
  longestPageStallMs: number;
  /** Chromium's own count and total of freezes (inbound-rtp) within the phase. */
  freezes: number;
  freezesMs: number;
  /** Fewest frames decoded in any 1 s window of the phase. */
  minFramesPerSecond: number;
  /** Mean payload bitrate received, bit/s, and as a fraction of the link's rate. */
  meanBitrate: number;
  linkShare: number | null;
  /** Packets the shaped queue dropped in the phase. */
  dropped: number;
}

/** One viewer's session through every phase. */
export interface AbrSessionReport {
  viewer: string;
  /** The top picture height (the source's). */
  topHeight: number;
  /** Whether the picture reached the top (for 5 s) before the throttling. */
  warmed: boolean;
  /**
   * Those last 5 s at the top, unshaped: what the machine alone costs (a busy CPU starves the
   * ladder and the renderer too), to read the throttled phases against. Null if never at the top.
   */
  clean: PhaseReport | null;
  /** Mean payload bitrate at the top before the throttling, bit/s (1 Mbit/s if never there). */
  topBitrate: number;
  warmMs: number;
  phases: PhaseReport[];
  /** Mean busy share of the machine's CPUs over the session, 0–1. */
  cpuBusy: number;
  /** Cores the processes in view (in the test namespace: the test's own) used on average. */
  cpuCores: number;
  /** Notable moments (phase changes, layer switches the server logged), for failure messages. */
  timeline: string[];
}

/** The link's states in order: name, rate (null to free it), queue, how long (or until top). */
export interface PhasePlan {
  name: string;
  rate: number | "delay-only" | null;
  queue?: LinkQueue;
  /** Hold the state this long (ms); recovery phases end 2 s after the top or at this bound. */
  holdMs: number;
}

/** The name of the clean link's figures (the warm-up's last 5 s at the top). */
export const CLEAN_PHASE = "clean link";

/** The session of issue 13: 1 Mbit/s, 300 kbit/s, recovery, delay-only, recovery. */
export const ABR_PHASES: PhasePlan[] = [
  // A cellular bottleneck's buffer: ~300 ms at the link's rate.
  { name: "1 Mbit/s", rate: 1_000_000, queue: { bytes: 1_000_000 / 8 * 0.3 }, holdMs: 12_000 },
  // The same buffer in bytes as the rate falls (the radio's buffer stays): 1 s at 300 kbit/s.
  { name: "300 kbit/s", rate: 300_000, queue: { bytes: 1_000_000 / 8 * 0.3 }, holdMs: 12_000 },
  { name: "recovery", rate: null, holdMs: 12_000 },
  // A queue that never drops (64 MB), at 70 % of the top layer's rate: only the delay grows.
  { name: "delay-only", rate: "delay-only", queue: { bytes: 64 << 20 }, holdMs: 12_000 },
  { name: "recovery after delay", rate: null, holdMs: 12_000 },
];

/** CPU seconds used so far by the processes this one can see (in the test namespace: the test's). */
function processCpuSeconds(): number {
  let ticks = 0;
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
    } catch { /* gone */ }
  }
  return ticks / 100;
}

function cpuTimes(): { busy: number; total: number } {
  try {
    const line = Deno.readTextFileSync("/proc/stat").split("\n")[0];
    const values = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = values[3] + (values[4] ?? 0);
    const total = values.reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return { busy: 0, total: 0 };
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `viewer` every 250 ms until `done` holds or `timeoutMs` passes; false on timeout. */
async function pollUntil(
  viewer: MeteredViewer,
  done: () => boolean,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    await viewer.poll();
    if (done()) return true;
    await sleep(250);
  }
  await viewer.poll();
  return done();
}

/** The last sample's height, 0 before any. */
function heightNow(viewer: MeteredViewer): number {
  return viewer.samples.at(-1)?.frameHeight ?? 0;
}

/** Measures `viewer` over [start, end]. */
export function measure(
  viewer: { samples: MeterSample[]; frames: number[] },
  start: number,
  end: number,
): Omit<PhaseReport, "name" | "rate" | "queue" | "backToTopMs" | "dropped" | "linkShare"> {
  const samples = viewer.samples.filter((s) => s.t >= start && s.t <= end);
  const before = viewer.samples.filter((s) => s.t < start).at(-1) ?? samples[0];
  const heightAtStart = before?.frameHeight ?? 0;
  const down = samples.find((s) => s.frameHeight > 0 && s.frameHeight < heightAtStart);
  const frames = viewer.frames.filter((t) => t <= end);
  let longest = 0;
  // A freeze that began before the phase counts only from the phase's start.
  let previous = Math.max(start, frames.filter((t) => t < start).at(-1) ?? start);
  for (const t of frames.filter((t) => t >= start)) {
    longest = Math.max(longest, t - previous);
    previous = t;
  }
  longest = Math.max(longest, end - previous);
  // The stream: Chromium's freezes, and runs of samples without a newly decoded frame.
  let streamFreeze = 0;
  let decodedAt = start;
  let stall = 0;
  const all = before && before !== samples[0] ? [before, ...samples] : samples;
  for (let i = 1; i < all.length; i++) {
    const [a, b] = [all[i - 1], all[i]];
    stall = Math.max(stall, b.t - Math.max(a.t, start));
    if (a.pc !== b.pc || b.framesDecoded > a.framesDecoded) {
      decodedAt = b.t;
      if (a.pc === b.pc && b.freezeCount > a.freezeCount) {
        // A freeze that began in the phase before counts only from this phase's start.
        streamFreeze = Math.max(streamFreeze, Math.min(b.freezesMs - a.freezesMs, b.t - start));
      }
    } else streamFreeze = Math.max(streamFreeze, b.t - decodedAt);
  }
  if (samples.length === 0) streamFreeze = end - start;
  // Fewest frames decoded over any 1 s, from consecutive samples of the same connection.
  let minFps = Infinity;
  for (const s of samples) {
    if (s.t < start + 1_000) continue;
    const back = viewer.samples.findLast((b) => b.t <= s.t - 1_000);
    if (!back) continue;
    const decoded = back.pc === s.pc ? s.framesDecoded - back.framesDecoded : 0;
    minFps = Math.min(minFps, decoded * 1_000 / (s.t - back.t));
  }
  let bytes = 0;
  let freezes = 0;
  let freezesMs = 0;
  for (let i = 1; i < all.length; i++) {
    if (all[i].pc !== all[i - 1].pc) continue;
    bytes += all[i].bytesReceived - all[i - 1].bytesReceived;
    freezes += all[i].freezeCount - all[i - 1].freezeCount;
    freezesMs += all[i].freezesMs - all[i - 1].freezesMs;
  }
  const seconds = (end - start) / 1_000;
  return {
    start,
    end,
    heightAtStart,
    lowestHeight: samples.length ? Math.min(...samples.map((s) => s.frameHeight || Infinity)) : 0,
    heightAtEnd: samples.at(-1)?.frameHeight ?? 0,
    stepDownMs: down ? Math.round(down.t - start) : null,
    longestFreezeMs: Math.round(streamFreeze),
    longestPresentedGapMs: Math.round(longest),
    longestPageStallMs: Math.round(stall),
    freezes,
    freezesMs,
    minFramesPerSecond: Number.isFinite(minFps) ? Math.round(minFps * 10) / 10 : 0,
    meanBitrate: seconds > 0 ? Math.round(bytes * 8 / seconds) : 0,
  };
}

/**
 * Drives `viewer` through `phases` on `link` (whose port is the viewer's): warms up until the
 * picture is at `topHeight` for 5 s (at most `warmTimeoutMs`, 30 s), then holds each phase and
 * measures it. `serverLogs`, when given, feeds the server's layer decisions into the timeline.
 * Never throws on what it measures; the caller asserts on the report.
 */
export async function runAbrSession(options: {
  viewer: MeteredViewer;
  link: ShapedLink;
  topHeight: number;
  phases?: PhasePlan[];
  warmTimeoutMs?: number;
  serverLogs?: string[];
  log?: (line: string) => void;
}): Promise<AbrSessionReport> {
  const { viewer, link, topHeight } = options;
  const phases = options.phases ?? ABR_PHASES;
  const log = options.log ?? (() => {});
  const timeline: string[] = [];
  const t0 = Date.now();
  const note = (what: string) => {
    const line = `+${((Date.now() - t0) / 1000).toFixed(1)} s ${what}`;
    timeline.push(line);
    log(`  [${viewer.kind}] ${line}`);
  };
  const logsFrom = options.serverLogs?.length ?? 0;
  const cpuStart = cpuTimes();
  const ownStart = processCpuSeconds();

  // Warm up: the top picture for 5 s in a row; its rate is read over the last 3.
  let topSince: number | null = null;
  const warm = await pollUntil(viewer, () => {
    const at = heightNow(viewer) >= topHeight;
    topSince = at ? topSince ?? Date.now() : null;
    return topSince !== null && Date.now() - topSince >= 5_000;
  }, options.warmTimeoutMs ?? 30_000);
  const warmMs = Date.now() - t0;
  note(warm ? `top (${topHeight}p) playing` : `warm-up timed out at ${heightNow(viewer)}p`);
  const clean: PhaseReport | null = warm
    ? {
      name: CLEAN_PHASE,
      rate: null,
      queue: "—",
      ...measure(viewer, Date.now() - 5_000, Date.now()),
      backToTopMs: null,
      linkShare: null,
      dropped: 0,
    }
    : null;
  // Without a top to measure, the delay-only link runs at 70 % of 1 Mbit/s.
  const topBitrate = warm ? measure(viewer, Date.now() - 3_000, Date.now()).meanBitrate : 1e6;

  const reports: PhaseReport[] = [];
  for (const plan of phases) {
    let rate: number | null = null;
    let queueText = "—";
    if (plan.rate === null) {
      await link.free();
    } else {
      rate = plan.rate === "delay-only" ? Math.round(topBitrate * 0.7) : plan.rate;
      const queue = plan.queue ?? { bytes: rate / 8 * 0.3 };
      const queueMs = queue.bytes * 8 / rate * 1000;
      queueText = queueMs > 10_000
        ? `${Math.round(queue.bytes / 1e6)} MB (never drops)`
        : `${Math.round(queue.bytes / 1000)} kB (${Math.round(queueMs)} ms)`;
      await link.shape(rate, queue);
    }
    const dropsBefore = (await link.counters()).dropped;
    const start = Date.now();
    note(
      `${plan.name}: ${
        rate === null ? "unshaped" : `${Math.round(rate / 1000)} kbit/s, queue ${queueText}`
      }`,
    );
    let topAt: number | null = null;
    await pollUntil(viewer, () => {
      if (plan.rate === null) {
        if (topAt === null && heightNow(viewer) >= topHeight) topAt = Date.now();
        if (topAt !== null && Date.now() - topAt >= 2_000) return true;
      }
      return Date.now() - start >= plan.holdMs;
    }, plan.holdMs + 1_000);
    const end = Date.now();
    const measured = measure(viewer, start, end);
    const backToTop = plan.rate === null
      ? viewer.samples.find((s) => s.t >= start && s.frameHeight >= topHeight)
      : undefined;
    const report: PhaseReport = {
      name: plan.name,
      rate,
      queue: queueText,
      ...measured,
      backToTopMs: backToTop ? Math.round(backToTop.t - start) : null,
      linkShare: rate ? Math.round(measured.meanBitrate / rate * 100) / 100 : null,
      dropped: (await link.counters()).dropped - dropsBefore,
    };
    reports.push(report);
    note(`${plan.name} done: ${describePhase(report)}`);
  }
  await link.free();
  const cpuEnd = cpuTimes();
  const cpuBusy = cpuEnd.total > cpuStart.total
    ? (cpuEnd.busy - cpuStart.busy) / (cpuEnd.total - cpuStart.total)
    : 0;
  const cpuCores = (processCpuSeconds() - ownStart) / ((Date.now() - t0) / 1000);
  for (const line of (options.serverLogs ?? []).slice(logsFrom)) {
    if (!/"msg":"viewer layer"|"msg":"[^"]*abr[^"]*"/i.test(line)) continue;
    try {
      const record = JSON.parse(line);
      const at = (Date.parse(record.time) - t0) / 1000;
      timeline.push(`+${at.toFixed(1)} s server: layer ${record.layer} (${record.reason ?? ""})`);
    } catch { /* not JSON */ }
  }
  let shown = 0;
  for (const s of viewer.samples) {
    if (s.t < t0 || s.frameHeight === shown) continue;
    timeline.push(`+${((s.t - t0) / 1000).toFixed(1)} s picture ${shown}p -> ${s.frameHeight}p`);
    shown = s.frameHeight;
  }
  timeline.sort((a, b) => parseFloat(a.slice(1)) - parseFloat(b.slice(1)));
  return {
    viewer: viewer.kind,
    topHeight,
    warmed: warm,
    clean,
    topBitrate,
    warmMs,
    phases: reports,
    cpuBusy,
    cpuCores,
    timeline,
  };
}

const ms = (value: number | null) => value === null ? "never" : `${(value / 1000).toFixed(1)} s`;

/** One line of a phase's figures. */
export function describePhase(p: PhaseReport): string {
  return [
    `${p.heightAtStart}p -> lowest ${p.lowestHeight}p, end ${p.heightAtEnd}p`,
    `step down ${ms(p.stepDownMs)}`,
    ...(p.rate === null && p.name !== CLEAN_PHASE ? [`back to top ${ms(p.backToTopMs)}`] : []),
    `longest freeze ${p.longestFreezeMs} ms`,
    `presented-frame gap ${p.longestPresentedGapMs} ms, page stalled ${p.longestPageStallMs} ms`,
    `Chromium freezes ${p.freezes} (${p.freezesMs} ms)`,
    `min ${p.minFramesPerSecond} frames/s`,
    `mean ${Math.round(p.meanBitrate / 1000)} kbit/s` +
    (p.linkShare !== null ? ` = ${p.linkShare.toFixed(2)} of the link` : ""),
    `${p.dropped} dropped by the queue`,
  ].join(", ");
}

/** The whole report, a line per phase, and the timeline. */
export function describeSession(report: AbrSessionReport): string {
  return [
    `${report.viewer}: ` +
    (report.warmed
      ? `top ${report.topHeight}p at ${Math.round(report.topBitrate / 1000)} kbit/s after ` +
        ms(report.warmMs)
      : `never at the top (${report.topHeight}p) for 5 s in ${ms(report.warmMs)}`) +
    `; CPU: the test's processes ${report.cpuCores.toFixed(2)} cores, ` +
    `the machine ${(report.cpuBusy * 100).toFixed(0)} % busy`,
    ...(report.clean ? [report.clean] : []).concat(report.phases).map((p) =>
      `  ${p.name.padEnd(22)} ${describePhase(p)}`
    ),
    "  timeline:",
    ...report.timeline.map((line) => `    ${line}`),
  ].join("\n");
}

// ---------------------------------------------------------------------------------------------
// One viewer, start to end

/** The viewer kinds: Chromium's RTCPeerConnection through WHEP, or the vehicle page's player. */
export type ViewerKind = "WHEP" | "WebSocket";

/** A camera's live link (WHEP URL and its token), made by `ownerToken`. */
export async function liveLink(
  serverUrl: string,
  vehicle: {
    fleetId: string;
    vehicleId: string;
    ownerToken: string;
    cameras: Record<string, string>;
  },
  camera = "front",
): Promise<{ whepUrl: string; token: string }> {
  const path = `/api/v1/fleets/${vehicle.fleetId}/vehicles/${vehicle.vehicleId}/cameras/${
    vehicle.cameras[camera]
  }/live-links`;
  const response = await fetch(serverUrl + path, {
    method: "POST",
    headers: { authorization: `Bearer ${vehicle.ownerToken}`, "content-type": "application/json" },
    body: JSON.stringify({ ttlSeconds: 3600 }),
  });
  const text = await response.text();
  if (response.status !== 201) throw new Error(`POST ${path}: ${response.status} ${text}`);
  return JSON.parse(text);
}

/**
 * Watches `vehicle`'s front camera in `browser` as a `kind` viewer, waits (at most
 * `connectTimeoutMs`) until it decodes video and its UDP port is known, shapes that port and runs
 * {@linkcode runAbrSession}. Everything it made is closed and the qdisc removed at the end.
 */
export async function watchThrottled(options: {
  kind: ViewerKind;
  browser: Browser;
  serverUrl: string;
  vehicle: {
    fleetId: string;
    vehicleId: string;
    ownerToken: string;
    cameras: Record<string, string>;
  };
  topHeight: number;
  phases?: PhasePlan[];
  connectTimeoutMs?: number;
  serverLogs?: string[];
  log?: (line: string) => void;
}): Promise<AbrSessionReport> {
  const { kind, browser, serverUrl, vehicle } = options;
  const viewer = kind === "WHEP"
    ? await (async () => {
      const { whepUrl, token } = await liveLink(serverUrl, vehicle);
      return await openWhepViewer(browser, whepUrl, token);
    })()
    : await openAdminViewer(browser, serverUrl, vehicle);
  await using _viewer = viewer;
  const connected = await pollUntil(
    viewer,
    () => viewer.port !== null && (viewer.samples.at(-1)?.framesDecoded ?? 0) > 0,
    options.connectTimeoutMs ?? 45_000,
  );
  if (!connected) {
    throw new Error(
      `The ${kind} viewer decoded no video within ${options.connectTimeoutMs ?? 45_000} ms ` +
        `(port ${viewer.port}, last sample ${JSON.stringify(viewer.samples.at(-1) ?? null)})`,
    );
  }
  await using link = await ShapedLink.open(viewer.port!);
  options.log?.(`  [${kind}] viewer on UDP port ${viewer.port}, shaped by htb on lo`);
  return await runAbrSession({
    viewer,
    link,
    topHeight: options.topHeight,
    phases: options.phases,
    serverLogs: options.serverLogs,
    log: options.log,
  });
}
