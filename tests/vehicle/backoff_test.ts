import assert from "node:assert/strict";
import {
  fullJitter,
  MAX_RETRY_AFTER_MS,
  parseRetryAfter,
  RateLimiter,
  retryDelay,
} from "../../vehicle/backoff.ts";
import { formatDuration } from "../../vehicle/uploader.ts";

const POLICY = { baseMs: 1_000, capMs: 60_000 };

Deno.test("full jitter stays between 0 and the doubling ceiling, capped", () => {
  for (let attempt = 0; attempt < 12; attempt++) {
    const ceiling = Math.min(60_000, 1_000 * 2 ** attempt);
    assert.equal(fullJitter(attempt, POLICY, () => 0), 0);
    assert.ok(fullJitter(attempt, POLICY, () => 0.999999) < ceiling);
    assert.ok(fullJitter(attempt, POLICY, () => 0.999999) >= ceiling - 1);
    for (let i = 0; i < 200; i++) {
      const delay = fullJitter(attempt, POLICY);
      assert.ok(delay >= 0 && delay < ceiling, `attempt ${attempt}: ${delay}`);
    }
  }
  assert.ok(fullJitter(1_000, POLICY, () => 0.5) <= 30_000, "a huge attempt count stays capped");
  const samples = Array.from({ length: 2000 }, () => fullJitter(3, POLICY));
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  assert.ok(mean > 3_000 && mean < 5_000, `uniform over [0, 8000): mean ${mean}`);
});

Deno.test("Retry-After is read as seconds or as an HTTP date", () => {
  const now = Date.parse("2026-11-24T10:00:00Z");
  assert.equal(parseRetryAfter("120", now), 120_000);
  assert.equal(parseRetryAfter(" 0 ", now), 0);
  assert.equal(parseRetryAfter("Tue, 24 Nov 2026 10:00:30 GMT", now), 30_000);
  assert.equal(parseRetryAfter("Tue, 24 Nov 2026 09:00:00 GMT", now), 0, "a past date: now");
  assert.equal(parseRetryAfter("99999999", now), MAX_RETRY_AFTER_MS, "clipped");
  assert.equal(parseRetryAfter("soon", now), undefined);
  assert.equal(parseRetryAfter("-5", now), undefined);
  assert.equal(parseRetryAfter("1.5", now), undefined);
  assert.equal(parseRetryAfter(null, now), undefined);
});

Deno.test("a retry never comes sooner than Retry-After asks", () => {
  assert.equal(retryDelay(0, 7_000, POLICY, () => 0.99), 7_000);
  assert.equal(retryDelay(6, 7_000, POLICY, () => 0.5), 30_000, "64 s capped to 60 s, halved");
  assert.equal(retryDelay(2, undefined, POLICY, () => 0.5), 2_000);
});

Deno.test("rate limiter holds the average upload rate to its cap", () => {
  let now = 0;
  const limiter = new RateLimiter(100_000, () => now);
  assert.equal(limiter.take(100_000), 0, "a full bucket lets a burst go");
  assert.equal(limiter.take(50_000), 500, "then 50 kB wait half a second");
  now += 500;
  assert.equal(limiter.take(50_000), 0);
  // A segment larger than the bucket waits for a full bucket and leaves a debt.
  now += 1_000;
  assert.equal(limiter.take(250_000), 0);
  assert.equal(limiter.take(10_000), 1_600);
  // Over a long run, bytes sent / time stays at the cap.
  let sent = 0;
  now = 0;
  const steady = new RateLimiter(200_000, () => now);
  while (now < 60_000) {
    const wait = steady.take(64_000);
    if (wait > 0) now += wait;
    else sent += 64_000;
  }
  const rate = sent / 60;
  assert.ok(rate <= 200_000 * 1.06 && rate > 200_000 * 0.9, `rate ${rate}`);
  assert.throws(() => new RateLimiter(0), RangeError);
});

Deno.test("segment durations are formatted as the server expects", () => {
  assert.equal(formatDuration(2), "2.000");
  assert.equal(formatDuration(0.92), "0.920");
  assert.equal(formatDuration(2.002002), "2.002002");
  assert.equal(formatDuration(1.9999999), "2.000");
});
