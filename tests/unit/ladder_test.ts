import assert from "node:assert/strict";
import { parseConfig } from "../../lib/config/mod.ts";
import { LiveLadderSchema } from "../../lib/fleet/schemas.ts";
import {
  deriveRungs,
  ladderRungs,
  parseLadder,
  type Rung,
  rungBitrate,
} from "../../lib/live/ladder.ts";

const show = (rungs: Rung[]) => rungs.map((r) => `${r.height}:${r.bitrate / 1000}k`).join(",");

Deno.test("ladder derives 240p, 540p and the source's height from a 720p camera", () => {
  assert.equal(show(deriveRungs(720)), "240:200k,540:680k,720:1040k");
});

Deno.test("ladder derives rungs for common source heights, the top capped at 1080p", () => {
  assert.equal(show(deriveRungs(1080)), "240:200k,540:680k,1080:1910k");
  assert.equal(show(deriveRungs(2160)), "240:200k,540:680k,1080:1910k");
  assert.equal(show(deriveRungs(480)), "240:200k,360:370k,480:570k");
  assert.equal(show(deriveRungs(576)), "240:200k,360:370k,576:740k");
  assert.equal(show(deriveRungs(360)), "240:200k,288:260k,360:370k");
});

Deno.test("ladder gives a source at or below 240p three distinct rungs under it", () => {
  assert.equal(show(deriveRungs(240)), "120:71k,168:120k,240:200k");
  assert.equal(show(deriveRungs(144)), "72:33k,100:54k,144:93k");
});

Deno.test("ladder rounds odd source heights down to even ones", () => {
  assert.equal(show(deriveRungs(719)), "240:200k,540:680k,718:1030k");
  assert.equal(show(deriveRungs(241)), "120:71k,168:120k,240:200k");
  assert.equal(show(deriveRungs(1081)), "240:200k,540:680k,1080:1910k");
});

Deno.test("ladder never derives two rungs of one height, nor a rung above the source", () => {
  for (let source = 16; source <= 2400; source++) {
    const rungs = deriveRungs(source);
    assert.equal(rungs.length, 3);
    for (let i = 0; i < 3; i++) {
      assert.ok(
        rungs[i].height % 2 === 0 && rungs[i].height <= source,
        `${source}: ${show(rungs)}`,
      );
      if (i > 0) {
        assert.ok(rungs[i].height > rungs[i - 1].height, `${source}: ${show(rungs)}`);
        assert.ok(rungs[i].bitrate > rungs[i - 1].bitrate, `${source}: ${show(rungs)}`);
      }
    }
  }
});

Deno.test("ladder rates follow the per-pixel rule: 200 kbit/s at 240p, ∝ height^1.5", () => {
  assert.equal(rungBitrate(240), 200_000);
  assert.equal(rungBitrate(480), 570_000);
  assert.equal(rungBitrate(960), 1_600_000);
});

Deno.test("ladder refuses a source too small to derive from", () => {
  assert.throws(() => deriveRungs(8), /Cannot derive a ladder from source height 8: under 16/);
  assert.throws(() => deriveRungs(Number.NaN), /Cannot derive a ladder from source height NaN/);
});

Deno.test("ladder setting auto derives from the source, 720p when the vehicle does not say", () => {
  assert.equal(parseLadder(" AUTO "), "auto");
  assert.equal(show(ladderRungs("auto", 1080)), "240:200k,540:680k,1080:1910k");
  assert.equal(show(ladderRungs("auto")), "240:200k,540:680k,720:1040k");
  const given = parseLadder("120:150k,180:300k,240:600k");
  assert.equal(show(ladderRungs(given, 1080)), "120:150k,180:300k,240:600k");
  assert.throws(() => parseLadder("automatic"), /Invalid ladder rung "automatic"/);
});

Deno.test("LIVE_LADDER defaults to auto and still takes three rungs or off", () => {
  assert.equal(parseConfig({}).live!.ladder, "auto");
  assert.equal(
    parseConfig({ LIVE_LADDER: "480:600k,720:1500k,1080:3m" }).live!.ladder,
    "480:600k,720:1500k,1080:3m",
  );
  assert.equal(parseConfig({ LIVE_LADDER: "off" }).live!.ladder, null);
  assert.throws(
    () => parseConfig({ LIVE_LADDER: "best" }),
    /LIVE_LADDER must be auto, off or three rungs height:bitrate lowest first .*got "best"/,
  );
});

Deno.test("a fleet's ladder takes auto or three rungs, and names what is wrong", () => {
  assert.equal(LiveLadderSchema.parse("auto"), "auto");
  assert.equal(LiveLadderSchema.parse(null), null);
  const refused = LiveLadderSchema.safeParse("240:200k,540:680k");
  assert.ok(!refused.success);
  assert.match(refused.error.issues[0].message, /Ladder must have 3 rungs, got 2 \(e\.g\. "auto"/);
});
