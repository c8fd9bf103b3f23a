/**
 * Sign-in throttling and the bound on password hashing, on a fake clock: what is refused, for how
 * long, and that the real user gets back in.
 */
import assert from "node:assert/strict";
import { addressKey, PasswordWork, type SignInLimits, SignInThrottle } from "../../lib/auth/mod.ts";
import { TooManyRequestsError, UnavailableError } from "../../lib/errors/mod.ts";

const LIMITS: SignInLimits = {
  maxAttempts: 3,
  maxAttemptsPerAddress: 10,
  maxAttemptsPerAccount: 20,
  backoffMs: 1_000,
  maxBackoffMs: 8_000,
};

/** A throttle on a clock the test moves. */
function throttle(limits: Partial<SignInLimits> = {}) {
  const clock = { now: 1_000_000 };
  return { clock, throttle: new SignInThrottle({ ...LIMITS, ...limits }, () => clock.now) };
}

/** The seconds a refused attempt is told to wait, or undefined when it is let through. */
function refusal(t: SignInThrottle, email: string, address: string): number | undefined {
  try {
    t.begin(email, address).abandoned();
    return undefined;
  } catch (error) {
    assert.ok(error instanceof TooManyRequestsError, String(error));
    assert.match(error.message, /^Too many failed sign-ins; try again in \d+ s$/);
    return error.retryAfterSeconds;
  }
}

function fail(t: SignInThrottle, email: string, address: string, times = 1) {
  for (let i = 0; i < times; i++) t.begin(email, address).failed();
}

Deno.test("sign-in throttle backs off an account from one address after the limit, doubling to the cap", () => {
  const { clock, throttle: t } = throttle();
  fail(t, "a@x.test", "10.0.0.1", 3);
  assert.equal(refusal(t, "a@x.test", "10.0.0.1"), 1);
  assert.equal(refusal(t, "A@X.test ", "10.0.0.1"), 1, "emails compare case-insensitively");
  assert.equal(refusal(t, "a@x.test", "10.0.0.2"), undefined, "another address is not held back");
  const waits = [];
  let wait = 1;
  for (let i = 0; i < 6; i++) {
    // Each attempt made as soon as the back-off allows fails again.
    clock.now += wait * 1000;
    fail(t, "a@x.test", "10.0.0.1");
    wait = refusal(t, "a@x.test", "10.0.0.1")!;
    waits.push(wait);
  }
  assert.deepEqual(waits, [2, 4, 8, 8, 8, 8]);
});

Deno.test("sign-in throttle lets the right password in once the back-off passes, and forgets", () => {
  const { clock, throttle: t } = throttle();
  fail(t, "a@x.test", "10.0.0.1", 3);
  assert.equal(refusal(t, "a@x.test", "10.0.0.1"), 1);
  clock.now += 1_000;
  t.begin("a@x.test", "10.0.0.1").succeeded();
  // Success clears the account's count: three more tries before a back-off.
  fail(t, "a@x.test", "10.0.0.1", 2);
  assert.equal(refusal(t, "a@x.test", "10.0.0.1"), undefined);
  // Quiet for the longest back-off, failures are forgotten.
  clock.now += 8_000;
  fail(t, "a@x.test", "10.0.0.1", 2);
  assert.equal(refusal(t, "a@x.test", "10.0.0.1"), undefined);
});

Deno.test("sign-in throttle counts attempts in flight, so parallel guesses cannot pass the limit", () => {
  const { throttle: t } = throttle();
  const through = [];
  let refused = 0;
  for (let i = 0; i < 32; i++) {
    try {
      through.push(t.begin("a@x.test", "10.0.0.1"));
    } catch (error) {
      assert.ok(error instanceof TooManyRequestsError);
      assert.equal(error.retryAfterSeconds, 1);
      refused++;
    }
  }
  assert.equal(through.length, 3);
  assert.equal(refused, 29);
  for (const attempt of through) attempt.failed();
  assert.equal(refusal(t, "a@x.test", "10.0.0.1"), 1);
});

Deno.test("sign-in throttle backs off an address spraying many accounts, known or not", () => {
  const { throttle: t } = throttle();
  for (let i = 0; i < 10; i++) fail(t, `user${i}@x.test`, "10.0.0.9");
  assert.equal(refusal(t, "fresh@x.test", "10.0.0.9"), 1);
  assert.equal(refusal(t, "fresh@x.test", "10.0.0.8"), undefined);
  // Signing in to one's own account does not clear the address's count.
  const { throttle: u } = throttle();
  for (let i = 0; i < 9; i++) fail(u, `user${i}@x.test`, "10.0.0.9");
  u.begin("mine@x.test", "10.0.0.9").succeeded();
  fail(u, "other@x.test", "10.0.0.9");
  assert.equal(refusal(u, "next@x.test", "10.0.0.9"), 1);
});

Deno.test("sign-in throttle backs off an account guessed from many addresses, but not where its user signed in before", () => {
  const { throttle: t } = throttle();
  t.begin("a@x.test", "192.0.2.7").succeeded();
  for (let i = 0; i < 20; i++) fail(t, "a@x.test", `10.0.1.${i}`);
  assert.equal(refusal(t, "a@x.test", "10.0.2.1"), 1, "a new address waits");
  assert.equal(refusal(t, "a@x.test", "192.0.2.7"), undefined, "the user's own address does not");
});

Deno.test("sign-in throttle keys IPv6 clients by their /64", () => {
  assert.equal(addressKey("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
  assert.equal(addressKey("2001:db8:1:2:bbbb:cccc:dddd:eeee"), "2001:db8:1:2::/64");
  assert.equal(addressKey("[2001:0db8::1]"), "2001:db8:0:0::/64");
  assert.equal(addressKey("::ffff:10.1.2.3"), "10.1.2.3");
  assert.equal(addressKey("10.1.2.3"), "10.1.2.3");
  assert.equal(addressKey(undefined), "unknown");
  const { throttle: t } = throttle();
  fail(t, "a@x.test", "2001:db8:1:2::1", 3);
  assert.equal(refusal(t, "a@x.test", "2001:db8:1:2::ffff"), 1);
});

Deno.test("password work runs at most its concurrency at once and refuses past its queue", async () => {
  const work = new PasswordWork(2, 3);
  let running = 0;
  let most = 0;
  const gates: Array<() => void> = [];
  const task = () =>
    new Promise<void>((resolve) => {
      running++;
      most = Math.max(most, running);
      gates.push(() => {
        running--;
        resolve();
      });
    });
  const accepted = Array.from({ length: 5 }, () => work.run(task));
  assert.deepEqual(work.load, { running: 2, waiting: 3 });
  await assert.rejects(work.run(task), (error) => {
    assert.ok(error instanceof UnavailableError);
    assert.equal(error.retryAfterSeconds, 1);
    assert.equal(error.message, "Too many password checks at once; retry in a moment");
    return true;
  });
  for (let i = 0; i < 5; i++) {
    while (gates.length === 0) await new Promise((r) => setTimeout(r, 0));
    gates.shift()!();
  }
  await Promise.all(accepted);
  assert.equal(most, 2);
  assert.deepEqual(work.load, { running: 0, waiting: 0 });
});
