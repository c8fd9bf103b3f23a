import assert from "node:assert/strict";
import { AbrController, AdaptiveAbr, createAbr, type LinkSample } from "../../lib/live/abr.ts";
import { outboundVideoStats } from "../../lib/janus/admin.ts";
import { ViewerMessage } from "../../lib/live/protocol.ts";
import type { LiveContext } from "../../lib/live/context.ts";
import { ViewerSession } from "../../lib/live/viewer_session.ts";
import { ConfigError, parseConfig } from "../../lib/config/mod.ts";
import {
  liveServerEnv,
  requireLiveNamespace,
  SignalingClient,
  startLiveVehicle,
} from "../support/live.ts";
import { WebrtcViewer } from "../support/webrtc_viewer.ts";

/** Rungs like the new default floor: 240p 200k, 480p 700k, 720p 1.5M. */
const RUNGS = [200_000, 700_000, 1_500_000];
/** A clean second at the top rung, as a WHEP viewer's (Janus-only) sample looks. */
const CLEAN: LinkSample = { loss: 0, jitterMs: 17, nackRate: 0, rttMs: 2, sentBitrate: 1_500_000 };

/** An adaptive controller at `layer` that has seen `n` clean samples (its baselines). */
function warmed(layer = 2, n = 5): AdaptiveAbr {
  const abr = new AdaptiveAbr(RUNGS, layer);
  for (let i = 0; i < n; i++) {
    const decision = abr.observe({ ...CLEAN, sentBitrate: RUNGS[abr.layer] });
    assert.equal(decision, null, `warm-up moved: ${decision?.reason}`);
  }
  return abr;
}

Deno.test("adaptive ABR steps down on heavy loss at once", () => {
  const abr = warmed();
  const decision = abr.observe({ ...CLEAN, loss: 0.1, sentBitrate: 1_500_000 });
  assert.ok(decision && decision.layer < 2, JSON.stringify(decision));
  assert.match(decision.reason, /^down: 10\.0% loss/);
});

Deno.test("adaptive ABR steps down on a NACK rate after two samples, without loss", () => {
  const abr = warmed();
  assert.equal(abr.observe({ ...CLEAN, nackRate: 0.05 }), null);
  const decision = abr.observe({ ...CLEAN, nackRate: 0.05 });
  assert.ok(decision && decision.layer < 2);
  assert.match(decision.reason, /5\.0% NACKed/);
});

Deno.test("adaptive ABR steps down on jitter rising above its baseline beside a queue forming", () => {
  const abr = warmed();
  assert.equal(abr.observe({ ...CLEAN, jitterMs: 30, rttMs: 40 }), null); // 13 ms over: noise
  // Alone, jitter is no reason: a source short of CPU sends in bursts too (measured 41-85 ms).
  for (let i = 0; i < 5; i++) assert.equal(abr.observe({ ...CLEAN, jitterMs: 85 }), null);
  // With 48 ms of queue (under the 80 ms limit) it is, for two samples in a row.
  assert.equal(abr.observe({ ...CLEAN, jitterMs: 45, rttMs: 50 }), null);
  const decision = abr.observe({ ...CLEAN, jitterMs: 45, rttMs: 50 });
  assert.ok(decision && decision.layer < 2, JSON.stringify(decision));
  assert.match(decision.reason, /jitter 45 ms/);
});

Deno.test("adaptive ABR steps down on a queue building up (RTT over baseline) before any loss", () => {
  const slow = warmed();
  assert.equal(slow.observe({ ...CLEAN, rttMs: 90 }), null); // 88 ms of queue: once is not enough
  const decision = slow.observe({ ...CLEAN, rttMs: 100 });
  assert.ok(decision && decision.layer < 2);
  assert.match(decision.reason, /queue 98 ms/);
  // 160-175 ms of queue at once (measured: an 8-packet queue at 400 kbit/s) is enough alone.
  const fast = warmed();
  const now = fast.observe({ ...CLEAN, rttMs: 170 });
  assert.ok(now && now.layer < 2);
  assert.match(now.reason, /queue 168 ms/);
});

Deno.test("adaptive ABR steps down straight to the highest rung the capacity fits", () => {
  // A 1 Mbit/s link under the 1.5M rung: ~1.2M gets through, 0.85 of it fits 700k, not 1.5M.
  const mid = warmed();
  assert.equal(mid.observe({ ...CLEAN, loss: 0.2, sentBitrate: 1_500_000 })?.layer, 1);
  // A 300 kbit/s link: 80% lost, 300k gets through: straight to the floor, skipping 700k.
  const floor = warmed();
  const decision = floor.observe({ ...CLEAN, loss: 0.8, sentBitrate: 1_500_000 });
  assert.equal(decision?.layer, 0);
  assert.match(decision!.reason, /~300 kbit\/s gets through/);
  // A delay-only link: no loss, but the queue grew 0.5 s in a second while 1.5M was sent, so
  // ~1M passes (1.5M / 1.5), which fits 700k.
  const delay = warmed();
  const queued = delay.observe({ ...CLEAN, rttMs: 502 });
  assert.equal(queued?.layer, 1);
  assert.match(queued!.reason, /~1000 kbit\/s gets through/);
  // What the viewer says arrived wins over what Janus sent.
  const told = warmed();
  assert.equal(told.observe({ ...CLEAN, loss: 0.1, receivedBitrate: 250_000 })?.layer, 0);
});

Deno.test("adaptive ABR does not step down twice on a draining queue", () => {
  const abr = warmed();
  assert.equal(abr.observe({ ...CLEAN, rttMs: 300, loss: 0.1 })?.layer, 1);
  // The next readings still show the old queue (RTT is read from reports 1-2 s apart).
  assert.equal(abr.observe({ ...CLEAN, rttMs: 300, loss: 0.05, sentBitrate: 700_000 }), null);
  assert.equal(abr.observe({ ...CLEAN, rttMs: 120, sentBitrate: 700_000 }), null);
  assert.equal(abr.layer, 1);
  // But a queue still growing after the step down (from the first reading after it, which may
  // still show the old layer's queue) is a reason to go lower.
  const still = warmed();
  assert.equal(still.observe({ ...CLEAN, rttMs: 300, loss: 0.1 })?.layer, 1);
  assert.equal(still.observe({ ...CLEAN, rttMs: 500, sentBitrate: 700_000 }), null);
  const lower = still.observe({ ...CLEAN, rttMs: 700, sentBitrate: 700_000 });
  assert.equal(lower?.layer, 0);
  assert.match(lower!.reason, /queue still growing/);
});

Deno.test("adaptive ABR steps up at once when the receiver's estimate fits the next rung with margin", () => {
  const abr = warmed(0, 2);
  assert.equal(
    abr.observe({ ...CLEAN, sentBitrate: 200_000, availableBitrate: 1_000_000 })?.layer,
    1,
  );
  assert.equal(abr.probing, false);
  const tight = warmed(0, 2); // 800k does not fit 700k with a 1.25 margin: probe instead
  const decision = tight.observe({ ...CLEAN, sentBitrate: 200_000, availableBitrate: 800_000 });
  assert.equal(decision?.layer, 1);
  assert.match(decision!.reason, /^probe up: 700 kbit\/s/);
  assert.equal(tight.probing, true);
});

Deno.test("adaptive ABR never steps down on the receiver's estimate alone", () => {
  // Measured: Chromium estimated 160-190 kbit/s while 410 kbit/s arrived cleanly.
  const abr = warmed();
  for (let i = 0; i < 10; i++) {
    assert.equal(abr.observe({ ...CLEAN, availableBitrate: 180_000 }), null);
  }
});

Deno.test("adaptive ABR steps down at once, to the rung it carries, when the viewer's REMB collapses", () => {
  const abr = warmed();
  // The first REMB only sets where it stood; one near the rung's rate, or one that did not fall,
  // is no reason to move (Chromium's REMB sits ~0.85 of what arrives on a link at the edge).
  assert.equal(abr.remb(1_200_000), null);
  assert.equal(abr.remb(1_300_000), null);
  assert.equal(abr.remb(1_150_000), null, "a fall to 0.77 of the rung's rate is no collapse");
  const decision = abr.remb(300_000);
  assert.ok(decision, "a REMB fallen to a fifth of the rung's rate steps down");
  assert.equal(decision.layer, 0, "straight past the 700k rung it cannot carry");
  assert.match(decision.reason, /^down: REMB fell to 300 kbit\/s from 1150 kbit\/s/);
  assert.equal(abr.remb(150_000), null, "at the floor there is nowhere to go");

  // From the middle rung, a REMB that still carries it is no collapse of that rung.
  const middle = warmed(1, 2);
  assert.equal(middle.remb(900_000), null);
  assert.equal(middle.remb(600_000), null, "0.86 of the 700k rung");
  assert.equal(middle.remb(420_000), null, "0.6 of the rung: a link at 1 Mbit/s under a 1.5M rung");
  assert.equal(middle.remb(300_000)?.layer, 0);
});

Deno.test("adaptive ABR ends a probe below where it started when the REMB shows the link collapsed", () => {
  const abr = warmed(1, 2);
  abr.remb(900_000);
  for (let i = 0; i < 4 && !abr.probing; i++) abr.observe({ ...CLEAN, sentBitrate: RUNGS[1] });
  assert.ok(abr.probing && abr.layer === 2, "probing the top rung");
  const decision = abr.remb(250_000);
  assert.equal(decision?.layer, 0, JSON.stringify(decision));
  assert.match(decision!.reason, /^probe failed: REMB fell/);
});

Deno.test("adaptive ABR steps down at once on the queue the viewer measures growing", () => {
  const abr = warmed(1, 2);
  assert.equal(abr.viewerQueue(60, 1.3), null, "under 80 ms: not yet a queue");
  assert.equal(abr.viewerQueue(120, 0.05), null, "a queue growing 5% is a link at the edge");
  assert.equal(abr.viewerQueue(150, 0.58), null, "as a busy machine's encoder, or a keyframe");
  // 680 kbit/s into 300 kbit/s: the queue grows 1.27 s a second; 300 kbit/s gets through.
  const decision = abr.viewerQueue(120, 1.27);
  assert.equal(decision?.layer, 0, JSON.stringify(decision));
  assert.match(decision!.reason, /^down: viewer's queue 120 ms, growing 1\.27 s\/s, ~308 kbit\/s/);
  assert.equal(abr.viewerQueue(400, 1.5), null, "at the floor there is nowhere to go");

  // From the top: a queue growing 0.5 s/s is what a source short of CPU shows on a clean link, not
  // a reason to act at once; one growing 1 s/s (half the top rung gets through) is.
  const top = warmed(2, 3);
  assert.equal(top.viewerQueue(150, 0.5), null);
  assert.equal(top.viewerQueue(150, 1.0)?.layer, 0);
  // Just after that step down the queue still drains: not a reason to go lower.
  assert.equal(top.viewerQueue(300, 1.5), null);

  // A probe that queues goes back to where it started, whatever the growth read at its keyframe.
  const probing = warmed(1, 2);
  for (let i = 0; i < 4 && !probing.probing; i++) {
    probing.observe({ ...CLEAN, sentBitrate: RUNGS[1] });
  }
  assert.ok(probing.probing && probing.layer === 2, "probing the top rung");
  const failed = probing.viewerQueue(290, 1.1);
  assert.equal(failed?.layer, 1, JSON.stringify(failed));
  assert.match(failed!.reason, /^probe failed: viewer's queue 290 ms/);
});

Deno.test("adaptive ABR keeps a probe after clean samples and climbs on", () => {
  const abr = warmed(0, 2);
  assert.match(abr.observe({ ...CLEAN, sentBitrate: 200_000 })!.reason, /^probe up/);
  assert.equal(abr.observe({ ...CLEAN, sentBitrate: 700_000 }), null);
  const held = abr.observe({ ...CLEAN, sentBitrate: 700_000 });
  assert.equal(held?.layer, 2);
  assert.match(held!.reason, /^probe held; probe up: 1500 kbit\/s/);
});

Deno.test("adaptive ABR retreats from a probe at the first sign of a queue and waits longer", () => {
  const abr = warmed(1, 2);
  assert.equal(abr.observe({ ...CLEAN, sentBitrate: 700_000 })?.layer, 2); // probe
  const back = abr.observe({ ...CLEAN, rttMs: 90, sentBitrate: 1_500_000 }); // one weak sign
  assert.equal(back?.layer, 1);
  assert.match(back!.reason, /^probe failed: queue 88 ms/);
  assert.equal(abr.probing, false);
  // The hold-off doubled (3 -> 5 samples): no probe for 4 clean samples, one on the 5th.
  for (let i = 0; i < 4; i++) assert.equal(abr.observe({ ...CLEAN, sentBitrate: 700_000 }), null);
  assert.equal(abr.observe({ ...CLEAN, sentBitrate: 700_000 })?.layer, 2);
  // A freeze the viewer reports ends a probe too.
  const frozen = abr.observe({ ...CLEAN, freezeSeconds: 0.3 });
  assert.match(frozen!.reason, /^probe failed: viewer froze 0\.3 s/);
});

Deno.test("adaptive ABR's short checks end a probe at its first NACKs and leave a collapsed link", () => {
  const abr = warmed(1, 2);
  assert.equal(abr.observe({ ...CLEAN, sentBitrate: 700_000 })?.layer, 2); // probe
  // 250 ms later: clean, then one NACK in 30 packets (3.3%): back at once.
  assert.equal(abr.check({ ...CLEAN }), null);
  const back = abr.check({ ...CLEAN, nackRate: 1 / 30 });
  assert.equal(back?.layer, 1);
  assert.match(back!.reason, /^probe failed: 3\.3% NACKed/);
  // Outside a probe a small NACK rate waits for the whole sample, a collapse does not; nor
  // right after a step down, whose NACKs are the old layer's.
  assert.equal(abr.check({ ...CLEAN, nackRate: 0.6 }), null);
  const steady = warmed();
  assert.equal(steady.check({ ...CLEAN, nackRate: 0.05 }), null);
  const collapsed = steady.check({ ...CLEAN, nackRate: 0.6, sentBitrate: 1_500_000 });
  assert.equal(collapsed?.layer, 0); // ~600k gets through: 700k does not fit
  assert.equal(steady.check({ ...CLEAN, nackRate: 0.6 }), null); // not twice before a sample
  // Everything lost: nothing gets through, straight to the floor.
  const cut = warmed();
  assert.equal(cut.check({ ...CLEAN, loss: 0.4, nackRate: 1 })?.layer, 0);
});

Deno.test("adaptive ABR probes a rung that failed again only once the link is quiet", () => {
  const abr = warmed(1, 2);
  assert.equal(abr.observe({ ...CLEAN, sentBitrate: 700_000 })?.layer, 2);
  assert.equal(abr.observe({ ...CLEAN, loss: 0.1 })?.layer, 1); // failed
  // A link just under the rung: no loss, but keyframes queue 25-40 ms: no probe however long.
  for (let i = 0; i < 20; i++) {
    assert.equal(abr.observe({ ...CLEAN, rttMs: i % 2 ? 27 : 42, sentBitrate: 700_000 }), null);
  }
  // Quiet again (the link recovered): a probe after 3 quiet samples.
  assert.equal(abr.observe({ ...CLEAN, sentBitrate: 700_000 }), null);
  assert.equal(abr.observe({ ...CLEAN, sentBitrate: 700_000 }), null);
  assert.equal(abr.observe({ ...CLEAN, sentBitrate: 700_000 })?.layer, 2);
});

Deno.test("adaptive ABR steps down on the viewer's freezes and its jitter buffer growing", () => {
  const froze = warmed();
  assert.match(froze.observe({ ...CLEAN, freezeSeconds: 0.6 })!.reason, /viewer froze 0\.6 s/);
  const buffer = warmed();
  for (let i = 0; i < 3; i++) assert.equal(buffer.observe({ ...CLEAN, jitterBufferMs: 40 }), null);
  assert.equal(buffer.observe({ ...CLEAN, jitterBufferMs: 220 }), null); // alone: no reason
  assert.equal(buffer.observe({ ...CLEAN, jitterBufferMs: 220, rttMs: 50 }), null);
  const decision = buffer.observe({ ...CLEAN, jitterBufferMs: 250, rttMs: 50 });
  assert.match(decision!.reason, /viewer buffer 250 ms/);
});

Deno.test("adaptive ABR is back at the top within 10 samples of a link recovering", () => {
  const abr = warmed();
  // A long bad spell: down to the floor, failed probes pushing the hold-off to its longest.
  assert.equal(abr.observe({ ...CLEAN, loss: 0.8 })?.layer, 0);
  for (let i = 0; i < 40; i++) {
    const layer = abr.layer;
    abr.observe(layer === 0 ? { ...CLEAN, sentBitrate: 200_000 } : { ...CLEAN, rttMs: 200 });
  }
  assert.equal(abr.layer, 0);
  let samples = 0;
  while (abr.layer < 2 && samples < 30) {
    samples += 1;
    abr.observe({ ...CLEAN, sentBitrate: RUNGS[abr.layer] });
  }
  console.log(`top again after ${samples} clean samples`);
  assert.ok(samples <= 10, `${samples} samples`);
});

Deno.test("adaptive ABR learns what each rung really sends", () => {
  const abr = warmed(2, 2);
  for (let i = 0; i < 6; i++) abr.observe({ ...CLEAN, sentBitrate: 420_000 });
  assert.ok(Math.abs(abr.rate(2) - 420_000) < 1, String(abr.rate(2)));
  assert.equal(abr.rate(1), 700_000);
});

Deno.test("createAbr picks the classic controller or the adaptive one", () => {
  assert.ok(createAbr("classic", RUNGS, 1) instanceof AbrController);
  assert.ok(createAbr("adaptive", RUNGS, 1) instanceof AdaptiveAbr);
  assert.equal(parseConfig({}).live?.abr, "adaptive");
  assert.equal(parseConfig({ LIVE_ABR: "classic" }).live?.abr, "classic");
  assert.throws(
    () => parseConfig({ LIVE_ABR: "fast" }),
    (e) =>
      e instanceof ConfigError &&
      /LIVE_ABR must be adaptive or classic, got "fast"/.test(e.message),
  );
});

Deno.test("admin statistics read the viewer's NACKs from stats.in", () => {
  const stats = outboundVideoStats({
    webrtc: {
      media: {
        0: {
          type: "video",
          rtcp: { main: { rtt: 160, "jitter-remote": 44, "lost-by-remote": 6 } },
          stats: { in: { nacks: 48 }, out: { packets: 601, bytes_lastsec: 55860, nacks: 0 } },
        },
      },
    },
  });
  assert.equal(stats?.nacksReceived, 48);
  assert.equal(stats?.rttMs, 160);
  assert.equal(stats?.bytesLastSecond, 55860);
});

Deno.test("a viewer session turns the viewer's counters into what the next sample carries", () => {
  const context = { settings: { abr: "adaptive" } } as unknown as LiveContext;
  const viewer = new ViewerSession(
    "v",
    "s",
    { kind: "whep", offer: "", codec: {} } as never,
    "auto",
    context,
    3,
    undefined,
    RUNGS,
  );
  assert.ok(viewer.abr instanceof AdaptiveAbr);
  const first = {
    bytesReceived: 0,
    totalFreezesDuration: 1,
    jitterBufferDelay: 2,
    jitterBufferEmittedCount: 100,
  };
  viewer.report(first, 0);
  assert.deepEqual(viewer.reported, {});
  viewer.report({
    bytesReceived: 125_000,
    totalFreezesDuration: 1.3,
    jitterBufferDelay: 5,
    jitterBufferEmittedCount: 120,
  }, 1000);
  const second = viewer.reported;
  assert.equal(second.receivedBitrate, 1_000_000);
  assert.ok(Math.abs(second.freezeSeconds! - 0.3) < 1e-9);
  assert.equal(second.jitterBufferMs, 150); // 3 s over 20 frames
  // Freezes add up until a sample takes them.
  viewer.report({
    bytesReceived: 250_000,
    totalFreezesDuration: 1.5,
    jitterBufferDelay: 5,
    jitterBufferEmittedCount: 140,
  }, 2000);
  const third = viewer.reported;
  assert.ok(Math.abs(third.freezeSeconds! - 0.5) < 1e-9);
  const classic = { settings: { abr: "classic" } } as unknown as LiveContext;
  assert.ok(
    new ViewerSession(
      "c",
      "s",
      { kind: "whep", offer: "", codec: {} } as never,
      "auto",
      classic,
      3,
      undefined,
      RUNGS,
    ).abr instanceof AbrController,
  );
});

Deno.test("viewer stats messages carry Chromium's counters, bounded", () => {
  const ok = ViewerMessage.safeParse({
    type: "stats",
    id: "w",
    framesDecoded: 120,
    bytesReceived: 1_234_567,
    totalFreezesDuration: 0.4,
    jitterBufferDelay: 3.2,
    jitterBufferEmittedCount: 120,
    freezeCount: 1,
  });
  assert.ok(ok.success);
  for (const bad of [{ bytesReceived: -1 }, { freezeCount: 1.5 }, { jitterBufferDelay: 1e12 }]) {
    const parsed = ViewerMessage.safeParse({ type: "stats", id: "w", ...bad });
    assert.equal(parsed.success, false, JSON.stringify(bad));
  }
  // The queue the viewer measures: bounded, both fields required.
  assert.ok(
    ViewerMessage.safeParse({ type: "delay", id: "w", queueMs: 120, growth: 1.27 }).success,
  );
  for (
    const bad of [
      { queueMs: -1, growth: 1 },
      { queueMs: 1e9, growth: 1 },
      { queueMs: 100, growth: 1e6 },
      { queueMs: 100 },
      { queueMs: "100", growth: 1 },
    ]
  ) {
    const parsed = ViewerMessage.safeParse({ type: "delay", id: "w", ...bad });
    assert.equal(parsed.success, false, JSON.stringify(bad));
  }
});

const SMALL = ["--video-size", "320x240", "--fps", "15", "--bitrate", "400k"];
/** The viewer's UDP ports: 46992–47007, one u32 match (port & 0xfff0). */
const VIEWER_PORTS: [number, number] = [46_992, 47_007];

async function tc(...args: string[]): Promise<void> {
  const out = await new Deno.Command("tc", { args, stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`tc ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** Limits what reaches the viewer's ports to `rate` with a short queue (no netem on this kernel). */
async function throttle(rate: string): Promise<void> {
  await tc(
    "class",
    "change",
    "dev",
    "lo",
    "parent",
    "1:",
    "classid",
    "1:20",
    "htb",
    "rate",
    rate,
    "ceil",
    rate,
    "burst",
    "4k",
  );
}

Deno.test({
  name:
    "live ABR: a viewer whose downlink is throttled steps down within seconds, and back up after",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    requireLiveNamespace();
    // Traffic to the viewer's ports goes through class 1:20; everything else is unlimited.
    await tc("qdisc", "add", "dev", "lo", "root", "handle", "1:", "htb", "default", "10");
    await tc(
      "class",
      "add",
      "dev",
      "lo",
      "parent",
      "1:",
      "classid",
      "1:10",
      "htb",
      "rate",
      "10gbit",
    );
    await tc(
      "class",
      "add",
      "dev",
      "lo",
      "parent",
      "1:",
      "classid",
      "1:20",
      "htb",
      "rate",
      "1gbit",
    );
    await tc("qdisc", "add", "dev", "lo", "parent", "1:20", "handle", "20:", "pfifo", "limit", "8");
    await tc(
      "filter",
      "add",
      "dev",
      "lo",
      "parent",
      "1:",
      "protocol",
      "ip",
      "prio",
      "1",
      "u32",
      "match",
      "ip",
      "protocol",
      "17",
      "0xff",
      "match",
      "ip",
      "dport",
      String(VIEWER_PORTS[0]),
      "0xfff0",
      "flowid",
      "1:20",
    );
    await using live = await startLiveVehicle({
      env: liveServerEnv({ ladder: "120:100k,180:250k,240:700k" }),
      args: SMALL,
    });
    const { server, vehicle: v } = live;
    const client = await SignalingClient.connect(server.url, v.ownerToken);
    const viewer = new WebrtcViewer({ portRange: VIEWER_PORTS });
    const layerAtLeast = (n: number) => (m: Record<string, unknown>) =>
      m.type === "layer" && Number(m.layer) >= n;
    try {
      client.send({
        type: "watch",
        id: "abr",
        fleetId: v.fleetId,
        vehicleId: v.vehicleId,
        camera: "front",
      });
      const offer = await client.next((m) => m.type === "offer");
      assert.equal(offer.layers, 3);
      client.send({ type: "answer", id: "abr", sdp: await viewer.answer(String(offer.sdp)) });
      await viewer.waitFor((c) => c.keyframes > 0, 30_000);
      // A clean link: the controller climbs to the top layer.
      await client.next(layerAtLeast(2), 40_000);

      await throttle("200kbit");
      const throttledAt = performance.now();
      const down = await client.next((m) => m.type === "layer" && Number(m.layer) < 2, 20_000);
      const stepDownMs = performance.now() - throttledAt;
      console.log(
        `stepped down to ${down.layer} after ${Math.round(stepDownMs)} ms (${down.reason})`,
      );

      await throttle("1gbit");
      const freedAt = performance.now();
      await client.next(layerAtLeast(2), 90_000);
      console.log(
        `back to the top layer ${Math.round(performance.now() - freedAt)} ms after recovery`,
      );
    } catch (error) {
      console.log(JSON.stringify(client.messages).slice(0, 2000));
      throw error;
    } finally {
      await viewer.close();
      client.close();
      await tc("qdisc", "del", "dev", "lo", "root").catch(() => {});
    }
  },
});
