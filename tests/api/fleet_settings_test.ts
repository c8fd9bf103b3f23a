/** Fleet settings: time zone, default segment length and live quality ladder, validated. */
import assert from "node:assert/strict";
import { makeFleet, startTestPlatform } from "../support/platform.ts";

Deno.test("a fleet's admin sets its time zone, segment length and live ladder, and reads them back", async () => {
  await using p = await startTestPlatform();
  const fleet = await makeFleet(p, "Settings");
  const path = `/api/v1/fleets/${fleet.fleetId}`;
  const fresh = await (await p.call("GET", path, { token: fleet.tokens.viewer })).json();
  assert.deepEqual(
    [fresh.timeZone, fresh.segmentSeconds, fresh.liveLadder],
    ["UTC", null, null],
  );
  const changed = await p.call("PATCH", path, {
    token: fleet.tokens.admin,
    json: {
      timeZone: "Europe/Berlin",
      segmentSeconds: 4,
      liveLadder: "360:400k,720:1500k,1080:3m",
    },
  });
  assert.equal(changed.status, 200);
  const read = await (await p.call("GET", path, { token: fleet.tokens.viewer })).json();
  assert.equal(read.timeZone, "Europe/Berlin");
  assert.equal(read.segmentSeconds, 4);
  assert.equal(read.liveLadder, "360:400k,720:1500k,1080:3m");
  assert.equal(read.retentionDays, null, "untouched settings stay");

  const reset = await p.call("PATCH", path, {
    token: fleet.tokens.admin,
    json: { timeZone: null, liveLadder: null },
  });
  const back = await reset.json();
  assert.deepEqual([back.timeZone, back.segmentSeconds, back.liveLadder], ["UTC", 4, null]);
});

Deno.test("fleet settings refuse an unknown time zone, a segment length out of range and a bad ladder", async () => {
  await using p = await startTestPlatform();
  const fleet = await makeFleet(p, "Refuse");
  const path = `/api/v1/fleets/${fleet.fleetId}`;
  for (
    const [json, rule] of [
      [{ timeZone: "Mars/Olympus" }, /json\.timeZone: must be an IANA time zone/],
      [{ segmentSeconds: 60 }, /json\.segmentSeconds: must be at most 30 seconds/],
      [{ segmentSeconds: 0.1 }, /json\.segmentSeconds: must be at least 0\.5 seconds/],
      [{ liveLadder: "720:1500k,1080:3m" }, /json\.liveLadder: Ladder must have 3 rungs, got 2/],
      [
        { liveLadder: "1080:3m,720:1500k,480:600k" },
        /json\.liveLadder: Ladder rungs must go from lowest/,
      ],
    ] as const
  ) {
    const response = await p.call("PATCH", path, { token: fleet.tokens.admin, json });
    assert.equal(response.status, 400, JSON.stringify(json));
    assert.match((await response.json()).detail, rule);
  }
  const viewer = await p.call("PATCH", path, {
    token: fleet.tokens.viewer,
    json: { timeZone: "Europe/Berlin" },
  });
  assert.equal(viewer.status, 403);
  await viewer.body?.cancel();
});
