import assert from "node:assert/strict";
import { HeartbeatHistory } from "../../lib/fleet/mod.ts";

const at = (s: number) => new Date(Date.UTC(2026, 11, 7, 8, 0, s));

Deno.test("heartbeat history keeps the newest heartbeats of each vehicle first, up to its bound", () => {
  const history = new HeartbeatHistory(3, 10);
  for (let s = 0; s < 5; s++) history.record("veh_a", { uptimeS: s }, at(s));
  history.record("veh_b", { uptimeS: 9 }, at(9));
  assert.deepEqual(history.list("veh_a").map((h) => h.status.uptimeS), [4, 3, 2]);
  assert.deepEqual(history.list("veh_a")[0].reportedAt, at(4));
  assert.deepEqual(history.list("veh_b").map((h) => h.status.uptimeS), [9]);
  assert.deepEqual(history.list("veh_c"), []);
});

Deno.test("heartbeat history forgets the vehicle heard from longest ago past its vehicle bound", () => {
  const history = new HeartbeatHistory(2, 2);
  history.record("veh_a", {}, at(0));
  history.record("veh_b", {}, at(1));
  history.record("veh_a", {}, at(2)); // a reported last: b is now the oldest
  history.record("veh_c", {}, at(3));
  assert.equal(history.list("veh_b").length, 0);
  assert.equal(history.list("veh_a").length, 2);
  assert.equal(history.list("veh_c").length, 1);
  history.forget("veh_a");
  assert.deepEqual(history.list("veh_a"), []);
});
