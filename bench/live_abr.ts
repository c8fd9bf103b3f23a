/**
 * Benchmark: live ABR on a throttled link (issue 13), the current controller beside the one
 * before it in the same run. The demo's vehicle (1280x720, 25 fps, 2 Mbit/s) with the default
 * ladder, watched by headless Chromium through WHEP and through the vehicle page's "Watch live"
 * (WebSocket); htb on `lo` shapes only the media Janus sends to that viewer's port
 * (`tests/support/abr_link.ts`): 1 Mbit/s behind a 38 kB queue (300 ms), 300 kbit/s (the same
 * queue: 1 s), recovery, a delay-only link (70 % of the top layer's rate, a queue that never
 * drops), recovery. For each controller (`LIVE_ABR=classic`, `adaptive`) and viewer it prints
 * per phase: time to step down, longest freeze (Chromium's freezes, or no frame decoded; the
 * gaps between presented frames are in the full report), time back to the top after recovery,
 * fewest frames decoded in a second, and the mean delivered bitrate (RTP payload) as a fraction
 * of the link's rate (goal >= 0.6 on throttled links).
 *
 *   bash scripts/netns.sh deno run -A bench/live_abr.ts [--controllers classic,adaptive]
 *     [--viewers WHEP,WebSocket] [--hold 12]
 */
import { parseArgs } from "node:util";
import {
  ABR_PHASES,
  type AbrSessionReport,
  CLEAN_PHASE,
  DEFAULT_LADDER,
  DEMO_SOURCE,
  describeSession,
  type ViewerKind,
  watchThrottled,
} from "../tests/support/abr_link.ts";
import { launchChromium } from "../tests/support/browser.ts";
import { liveServerEnv, requireLiveNamespace, startLiveVehicle } from "../tests/support/live.ts";
import { machineLine, num, verdict } from "./support/report.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    controllers: { type: "string", default: "classic,adaptive" },
    viewers: { type: "string", default: "WHEP,WebSocket" },
    hold: { type: "string", default: "12" },
  },
});
const controllers = values.controllers.split(",").map((c) => c.trim());
for (const c of controllers) {
  if (c !== "classic" && c !== "adaptive") {
    throw new RangeError(`Invalid controller "${c}": expected classic or adaptive`);
  }
}
const viewers = values.viewers.split(",").map((v) => v.trim()) as ViewerKind[];
for (const v of viewers) {
  if (v !== "WHEP" && v !== "WebSocket") {
    throw new RangeError(`Invalid viewer "${v}": expected WHEP or WebSocket`);
  }
}
const holdMs = Number(values.hold) * 1000;
if (!(holdMs >= 5_000)) throw new RangeError(`Invalid --hold "${values.hold}": at least 5 s`);
const phases = ABR_PHASES.map((p) => ({ ...p, holdMs }));
const TOP_HEIGHT = 720;
const GOAL_SHARE = 0.6;

requireLiveNamespace();
console.log(machineLine());
console.log(
  `ladder ${DEFAULT_LADDER}; source ${DEMO_SOURCE.join(" ")}; phases of ${holdMs / 1000} s`,
);

const results: Array<{ controller: string; report: AbrSessionReport }> = [];
for (const controller of controllers) {
  await using live = await startLiveVehicle({
    env: {
      ...liveServerEnv({ ladder: DEFAULT_LADDER, graceSeconds: 3 }),
      LIVE_ABR: controller,
      LOG_LEVEL: "debug",
      ACCESS_TOKEN_TTL: "1h",
    },
    args: DEMO_SOURCE,
  });
  await using browser = await launchChromium();
  for (const kind of viewers) {
    console.log(`\n${controller}, ${kind} viewer:`);
    const report = await watchThrottled({
      kind,
      browser,
      serverUrl: live.server.url,
      vehicle: live.vehicle,
      topHeight: TOP_HEIGHT,
      phases,
      serverLogs: live.server.logs,
    });
    console.log(describeSession(report));
    results.push({ controller, report });
  }
}

/** A table row: the label padded to the longest, then the figures. */
const row = (label: string, ...figures: string[]) =>
  console.log(`${label.padEnd(46)} ${figures.join("   ")}`);
const seconds = (value: number | null) => value === null ? "   never" : num(value / 1000, 1);
console.log(
  "\nper phase: step down (s), longest freeze (ms), back to top (s), min frames/s, share",
);
row(
  "phase / viewer / controller",
  "step down",
  "freeze ms",
  "to top",
  "min fps",
  "kbit/s",
  "of link",
);
for (const name of [CLEAN_PHASE, ...phases.map((p) => p.name)]) {
  for (const kind of viewers) {
    for (const { controller, report } of results.filter((r) => r.report.viewer === kind)) {
      const p = name === CLEAN_PHASE
        ? report.clean
        : report.phases.find((phase) => phase.name === name);
      if (!p) continue;
      row(
        `${name} / ${kind} / ${controller}`,
        seconds(p.stepDownMs),
        num(p.longestFreezeMs, 0),
        p.rate === null && name !== CLEAN_PHASE ? seconds(p.backToTopMs) : "       —",
        num(p.minFramesPerSecond, 1),
        num(p.meanBitrate / 1000, 0),
        p.linkShare === null ? "       —" : num(p.linkShare, 2),
      );
    }
  }
}
console.log("");
for (const { controller, report } of results) {
  const throttled = report.phases.filter((p) => p.linkShare !== null);
  const worst = Math.min(...throttled.map((p) => p.linkShare!));
  console.log(
    `${controller} ${report.viewer}: ${report.warmed ? "" : "never at the top on a clean link; "}` +
      `delivered ${worst.toFixed(2)} of the link at worst ` +
      `(goal >= ${GOAL_SHARE}): ${verdict(worst >= GOAL_SHARE)}; test's processes ` +
      `${report.cpuCores.toFixed(2)} cores, machine ${(report.cpuBusy * 100).toFixed(0)} % busy`,
  );
}
