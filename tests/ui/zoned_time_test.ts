import assert from "node:assert/strict";
import { clockTime, dayOf, zonedMidnight } from "../../lib/ui/zoned_time.ts";

Deno.test("zoned time finds midnight and clock times in a fleet's zone across DST", () => {
  // Berlin: UTC+1 in winter, UTC+2 in summer; 2026-03-29 is 23 hours long.
  assert.equal(zonedMidnight("2026-12-06", "Europe/Berlin"), Date.parse("2026-12-05T23:00:00Z"));
  assert.equal(zonedMidnight("2026-07-01", "Europe/Berlin"), Date.parse("2026-06-30T22:00:00Z"));
  assert.equal(
    zonedMidnight("2026-03-30", "Europe/Berlin") - zonedMidnight("2026-03-29", "Europe/Berlin"),
    23 * 3_600_000,
  );
  assert.equal(zonedMidnight("2026-12-06", "UTC"), Date.parse("2026-12-06T00:00:00Z"));
  assert.equal(dayOf(new Date("2026-12-06T23:30:00Z"), "Europe/Berlin"), "2026-12-07");
  assert.equal(clockTime(Date.parse("2026-12-06T08:13:35Z"), "UTC"), "08:13:35");
  assert.equal(clockTime(Date.parse("2026-12-06T23:59:59Z"), "Europe/Berlin", false), "00:59");
  assert.equal(clockTime(Date.parse("2026-12-06T00:00:00Z"), "America/New_York"), "19:00:00");
});
