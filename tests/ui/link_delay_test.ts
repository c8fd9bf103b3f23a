import assert from "node:assert/strict";
import { LinkDelay, REPORT_GAP_MS } from "../../lib/ui/link_delay.ts";

/**
 * Feeds `delay` a stream of 25 fps frames as the page presents them (read every 40 ms, the last
 * frame arrived by then): frame n captured at n × 40 ms (RTP 90 kHz from `rtp0`), arriving at
 * capture + 20 ms (the link) + `queue(t)`; returns the reports.
 */
function feed(
  delay: LinkDelay,
  from: number,
  to: number,
  queue: (t: number) => number,
  rtp0 = 1_000,
): Array<{ at: number; queueMs: number; growth: number }> {
  const reports = [];
  for (let now = from; now < to; now += 40) {
    // The last frame delivered by `now`.
    let n = Math.floor(now / 40);
    while (n > 0 && n * 40 + 20 + queue(n * 40) > now) n -= 1;
    const captured = n * 40;
    const rtp = (rtp0 + captured * 90) % 2 ** 32;
    const report = delay.read(now, 5_000_000 + captured + 20 + queue(captured), rtp);
    if (report) reports.push({ at: now, ...report });
  }
  return reports;
}

Deno.test("the viewer's link delay reports a queue building up within a few hundred ms", () => {
  const delay = new LinkDelay();
  // 10 s clean, then the link carries 300 of 680 kbit/s: the queue grows 1.27 s a second.
  const reports = feed(delay, 0, 11_000, (t) => t < 10_000 ? 0 : (t - 10_000) * 1.27);
  assert.ok(reports.length > 0, "the growing queue was reported");
  const first = reports[0];
  assert.ok(first.at >= 10_000 && first.at <= 10_400, `reported at ${first.at} ms`);
  assert.ok(first.queueMs >= 80, `queue ${first.queueMs} ms`);
  assert.ok(first.growth > 0.8 && first.growth < 1.6, `growth ${first.growth}`);
  for (let i = 1; i < reports.length; i++) {
    assert.ok(reports[i].at - reports[i - 1].at >= REPORT_GAP_MS, "reports are spaced");
  }
  // Frames of uneven size: every third one small, so it comes in sooner than the one before.
  const uneven = feed(
    new LinkDelay(),
    0,
    11_000,
    (t) => t < 10_000 ? 0 : (t - 10_000) * 1.27 - (Math.round(t / 40) % 3 === 1 ? 60 : 0),
  );
  assert.ok(uneven.length > 0 && uneven[0].at <= 10_400, JSON.stringify(uneven[0]));
});

Deno.test("the viewer's link delay ignores a clean link, late keyframes and a slow drift", () => {
  const delay = new LinkDelay();
  // Every 0.5 s a keyframe arrives 130 ms late and the next frames catch up: no queue growing.
  const keyframes = (t: number) => {
    const into = t % 500;
    return into < 40 ? 130 : into < 80 ? 80 : into < 120 ? 30 : 0;
  };
  assert.deepEqual(feed(delay, 0, 20_000, keyframes), []);
  // A link a few percent short of the layer: 0.04 s a second, for 3 s.
  assert.deepEqual(
    feed(new LinkDelay(), 0, 13_000, (t) => t < 10_000 ? 0 : (t - 10_000) * 0.04),
    [],
  );
});

Deno.test("the viewer's link delay survives RTP wrapping and the step of a switch of layer", () => {
  const delay = new LinkDelay();
  // Timestamps wrap 5 s in: still a clean link.
  const rtp0 = 2 ** 32 - 5_000 * 90;
  assert.deepEqual(feed(delay, 0, 10_000, () => 0, rtp0), []);
  // A switch moves the timestamps by up to a frame (Janus carries them on by the time elapsed).
  assert.deepEqual(feed(delay, 10_000, 20_000, (t) => t < 10_300 ? 0 : 40, rtp0), []);
  assert.deepEqual(feed(delay, 20_000, 30_000, (t) => t < 20_300 ? 40 : 0, rtp0), []);
  // And a queue after it is still seen.
  assert.ok(feed(delay, 30_000, 31_000, (t) => (t - 30_000) * 1.27, rtp0).length > 0);
});

Deno.test("the viewer's link delay reports a long queue at the first frame after a gap", () => {
  const delay = new LinkDelay();
  assert.deepEqual(feed(delay, 0, 10_000, () => 0), []);
  // A keyframe the link takes 0.4 s to carry: no frame for 0.4 s, then one 400 ms late.
  const reports = feed(delay, 10_000, 10_600, (t) => t < 10_040 ? 0 : 400 + (t - 10_040));
  assert.ok(reports.length > 0, "reported");
  assert.ok(reports[0].queueMs >= 400 && reports[0].at <= 10_500, JSON.stringify(reports[0]));
});
