/**
 * Sign-in under a guessing flood, on the real server over loopback: failed sign-ins back off per
 * account and client address (429 with Retry-After), the right password works once the back-off
 * passes, and password hashing is bounded so other requests keep being answered.
 */
import assert from "node:assert/strict";
import { OWNER } from "../support/platform.ts";
import { startServer, type TestServer } from "../support/server.ts";

/** Short back-offs, so a test can wait one out. */
const SHORT = { SIGNIN_BACKOFF: "1s", SIGNIN_MAX_BACKOFF: "2s" };
/** Limits no test reaches, to isolate the one a test is about. */
const UNREACHED = {
  SIGNIN_MAX_ATTEMPTS: "100000",
  SIGNIN_MAX_PER_ADDRESS: "100000",
  SIGNIN_MAX_PER_ACCOUNT: "100000",
};

/** Signs in; `from` sets X-Forwarded-For (the server trusts it in the tests that pass it). */
async function signIn(
  server: TestServer,
  credentials: { email: string; password: string },
  from?: string,
): Promise<{ status: number; retryAfter: string | null; body: Record<string, unknown> }> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (from) headers["x-forwarded-for"] = from;
  const response = await fetch(`${server.url}/api/v1/auth/login`, {
    method: "POST",
    headers,
    body: JSON.stringify(credentials),
  });
  return {
    status: response.status,
    retryAfter: response.headers.get("retry-after"),
    body: await response.json(),
  };
}

/** Asserts a 429 problem with a whole-seconds Retry-After, and returns those seconds. */
function assertBackoff(answer: Awaited<ReturnType<typeof signIn>>, label: string): number {
  assert.equal(answer.status, 429, `${label}: ${JSON.stringify(answer.body)}`);
  assert.equal(answer.body.code, "too_many_requests", label);
  assert.match(String(answer.body.detail), /^Too many failed sign-ins; try again in \d+ s$/, label);
  assert.match(answer.retryAfter ?? "", /^[1-9]\d*$/, `${label}: Retry-After`);
  return Number(answer.retryAfter);
}

const WRONG = { email: OWNER.email, password: "not-the-password" };

Deno.test("sign-in backs off an account after repeated wrong passwords, parallel ones too, and lets the right one in once it passes", async () => {
  await using server = await startServer({ ...SHORT, SIGNIN_MAX_ATTEMPTS: "5" });
  const answers = await Promise.all(Array.from({ length: 32 }, () => signIn(server, WRONG)));
  const wrong = answers.filter((a) => a.status === 401).length;
  const backedOff = answers.filter((a) => a.status === 429);
  assert.ok(wrong >= 1 && wrong <= 5, `at most 5 passwords checked, got ${wrong}`);
  assert.equal(wrong + backedOff.length, 32, JSON.stringify(answers.map((a) => a.status)));
  for (const answer of backedOff) assertBackoff(answer, "parallel guess");

  const early = await signIn(server, OWNER);
  const wait = assertBackoff(early, "right password during the back-off");
  assert.ok(wait <= 2, `Retry-After ${wait} s is within SIGNIN_MAX_BACKOFF`);
  await new Promise((resolve) => setTimeout(resolve, wait * 1000 + 100));
  const later = await signIn(server, OWNER);
  assert.equal(later.status, 200, JSON.stringify(later.body));
  assert.ok(later.body.accessToken);
});

Deno.test("sign-in backs off a client address that tries many accounts, not other addresses", async () => {
  await using server = await startServer({
    ...SHORT,
    ...UNREACHED,
    TRUST_PROXY: "true",
    SIGNIN_MAX_PER_ADDRESS: "6",
  });
  const sprayer = "203.0.113.5";
  for (let i = 0; i < 6; i++) {
    const answer = await signIn(
      server,
      { email: `guess${i}@x.test`, password: "password" },
      sprayer,
    );
    assert.equal(answer.status, 401, `guess ${i}`);
  }
  assertBackoff(
    await signIn(server, { email: "guess6@x.test", password: "password" }, sprayer),
    "seventh account",
  );
  assertBackoff(await signIn(server, OWNER, sprayer), "even the right password from there");
  // The address the trusted proxy appended counts, not what the client wrote before it.
  assertBackoff(await signIn(server, OWNER, `198.51.100.9, ${sprayer}`), "a forged first hop");
  assert.equal((await signIn(server, OWNER, "203.0.113.6")).status, 200, "another address");
});

Deno.test("sign-in backs off an account guessed from many addresses, except where its user signed in before", async () => {
  await using server = await startServer({
    ...SHORT,
    ...UNREACHED,
    TRUST_PROXY: "true",
    SIGNIN_MAX_PER_ACCOUNT: "4",
  });
  const home = "192.0.2.10";
  assert.equal((await signIn(server, OWNER, home)).status, 200, "the user at home");
  for (let i = 1; i <= 4; i++) {
    assert.equal((await signIn(server, WRONG, `203.0.113.${i}`)).status, 401, `guess ${i}`);
  }
  assertBackoff(await signIn(server, WRONG, "203.0.113.5"), "a fifth address");
  assertBackoff(await signIn(server, OWNER, "203.0.113.6"), "a new address, right password");
  assert.equal((await signIn(server, OWNER, home)).status, 200, "home is not locked out");
});

Deno.test("a sign-in flood leaves /healthz answered, and checks past the queue get 503 with Retry-After", async () => {
  await using server = await startServer({
    ...UNREACHED,
    PASSWORD_HASH_AT_ONCE: "1",
    PASSWORD_HASH_QUEUE: "4",
  });
  let flooding = true;
  const health: number[] = [];
  const probe = (async () => {
    while (flooding) {
      const started = performance.now();
      const response = await fetch(`${server.url}/healthz`);
      await response.body?.cancel();
      assert.equal(response.status, 200, "/healthz during the flood");
      health.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  })();
  const statuses = new Map<number, number>();
  try {
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all(
        Array.from(
          { length: 48 },
          (_, i) => signIn(server, { email: `flood${round}-${i}@x.test`, password: "password" }),
        ),
      );
      for (const answer of answers) {
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        if (answer.status === 503) {
          assert.equal(answer.retryAfter, "1");
          assert.equal(answer.body.detail, "Too many password checks at once; retry in a moment");
        } else assert.equal(answer.status, 401, JSON.stringify(answer.body));
      }
    }
  } finally {
    flooding = false;
    await probe;
  }
  assert.ok((statuses.get(503) ?? 0) > 0, `some checks were refused: ${[...statuses]}`);
  assert.ok(health.length > 0, "/healthz was answered during the flood");
  const sorted = health.toSorted((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))];
  console.log(
    `flood answers ${JSON.stringify(Object.fromEntries(statuses))}; /healthz ${health.length} ` +
      `answers, p50 ${at(0.5).toFixed(1)} ms, p99 ${at(0.99).toFixed(1)} ms`,
  );
});
