/**
 * Who may set a fleet's retention and read its dry-run, and what bad values answer: a fleet's
 * admins and the platform owner set it; operators and viewers may not; another fleet's admin is
 * told the fleet does not exist; a name change stays the owner's alone.
 */
import assert from "node:assert/strict";
import { makeFleet, OWNER, startTestPlatform } from "../support/platform.ts";

Deno.test("a fleet's admins set its retention; operators, viewers and other fleets cannot", async () => {
  await using p = await startTestPlatform({ RETENTION_INTERVAL: "0" });
  const alpha = await makeFleet(p, "Alpha");
  const beta = await makeFleet(p, "Beta");
  const fleet = `/api/v1/fleets/${alpha.fleetId}`;
  const answer = async (response: Response) => ({
    status: response.status,
    body: await response.json(),
  });

  const set = await answer(
    await p.call("PATCH", fleet, { token: alpha.tokens.admin, json: { retentionDays: 90 } }),
  );
  assert.equal(set.status, 200, JSON.stringify(set.body));
  assert.equal(set.body.retentionDays, 90);
  assert.equal(set.body.name, "Alpha");
  const shown = await answer(await p.call("GET", fleet, { token: alpha.tokens.viewer }));
  assert.equal(shown.body.retentionDays, 90, "every role of the fleet sees it");
  const dryRun = await answer(
    await p.call("GET", `${fleet}/retention`, { token: alpha.tokens.admin }),
  );
  assert.equal(dryRun.status, 200);
  assert.equal(dryRun.body.retentionDays, 90);
  assert.deepEqual(dryRun.body.expired, { segments: 0, bytes: 0, recordings: 0 });

  for (const role of ["operator", "viewer"] as const) {
    for (
      const [method, path, json] of [
        ["PATCH", fleet, { retentionDays: 1 }],
        ["GET", `${fleet}/retention`, undefined],
      ] as const
    ) {
      const refused = await answer(await p.call(method, path, { token: alpha.tokens[role], json }));
      assert.equal(refused.status, 403, `${role} ${method} ${path}`);
      assert.equal(refused.body.detail, `Role "${role}" may not do this; it needs one of: admin`);
    }
  }
  const elsewhere = await answer(
    await p.call("PATCH", fleet, { token: beta.tokens.admin, json: { retentionDays: 1 } }),
  );
  assert.equal(elsewhere.status, 404);
  const peek = await p.call("GET", `${fleet}/retention`, { token: beta.tokens.admin });
  assert.equal(peek.status, 404);
  await peek.body?.cancel();

  // A name stays the owner's to give, even beside a retention: nothing of the request is applied.
  const renamed = await answer(
    await p.call("PATCH", fleet, {
      token: alpha.tokens.admin,
      json: { name: "Beta", retentionDays: 7 },
    }),
  );
  assert.equal(renamed.status, 403);
  assert.equal(renamed.body.detail, "Only platform owners may do this");
  assert.equal((await p.registry.fleet(alpha.fleetId)).retentionDays, 90);

  const { accessToken: owner } = await p.login(OWNER.email, OWNER.password);
  const both = await answer(
    await p.call("PATCH", fleet, {
      token: owner,
      json: { name: "Alpha Two", retentionDays: null },
    }),
  );
  assert.equal(both.status, 200, JSON.stringify(both.body));
  assert.deepEqual([both.body.name, both.body.retentionDays], ["Alpha Two", null]);
});

Deno.test("retention values outside 1 to 3650 days are refused with a 400 naming the field", async () => {
  await using p = await startTestPlatform({ RETENTION_INTERVAL: "0" });
  const alpha = await makeFleet(p, "Alpha");
  const fleet = `/api/v1/fleets/${alpha.fleetId}`;
  const cases: Array<[unknown, RegExp]> = [
    [0, /json\.retentionDays: must be at least 1 day, or null to keep recordings forever/],
    [-1, /json\.retentionDays: must be at least 1 day/],
    [10000, /json\.retentionDays: must be at most 3650 days \(ten years\)/],
    [1.5, /json\.retentionDays: must be a whole number of days, or null/],
    ["x", /json\.retentionDays: must be a whole number of days, or null/],
    ["30", /json\.retentionDays: must be a whole number of days, or null/],
  ];
  for (const [retentionDays, detail] of cases) {
    const response = await p.call("PATCH", fleet, {
      token: alpha.tokens.admin,
      json: { retentionDays },
    });
    const problem = await response.json();
    assert.equal(response.status, 400, `${retentionDays}: ${JSON.stringify(problem)}`);
    assert.equal(problem.code, "invalid_request");
    assert.match(problem.detail, detail);
  }
  const queries: Array<[string, RegExp]> = [
    ["0", /Field "retentionDays": must be at least 1 day/],
    ["3651", /Field "retentionDays": must be at most 3650 days/],
    ["x", /query\.retentionDays: must be a whole number of days/],
  ];
  for (const [query, detail] of queries) {
    const response = await p.call("GET", `${fleet}/retention?retentionDays=${query}`, {
      token: alpha.tokens.admin,
    });
    const problem = await response.json();
    assert.equal(response.status, 400, `${query}: ${JSON.stringify(problem)}`);
    assert.match(problem.detail, detail);
  }
  assert.equal((await p.registry.fleet(alpha.fleetId)).retentionDays, null, "nothing changed");
});
