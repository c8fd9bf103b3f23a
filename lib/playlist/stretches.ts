/**
 * Stretches: consecutive runs of one encoding (byte-identical init segments) played as one
 * continuous media timeline. Recordings of a camera whose settings did not change share their
 * init segment, so players can go from one to the next, and through the holes between, without a
 * discontinuity: every media segment of a stretch is served with its decode times rewritten to
 * its place on the stretch's timeline (see `stretchTicks`), and every hole inside it is filler
 * served under the stretch's own init segment. Players that ignore EXT-X-DISCONTINUITY, or keep
 * one DASH Period, then see one stream whose timestamps only go forward.
 *
 * Rules:
 * - A run joins the stretch of the run before it when their encodings are equal and, if time
 *   passes between them, holes of that encoding can be filled under its init (`fillsHoles`).
 * - A run with holes inside it needs `fillsHoles` to be part of a stretch at all.
 * - Only stretches that join something (more than one run, or a hole filled inside one) are
 *   returned: a lone run without holes is played as it always was, with its own decode times —
 *   unless `lone` asks for it too. A growing (EVENT) playlist asks: a lone recording may gain a
 *   successor or a hole later, and the URIs it has listed must not change when it does.
 */
import type { Timeline, TimelineRun } from "./timeline.ts";

/** What decides whether runs can share a timeline. */
export interface StretchEncoding {
  /** Equal keys, identical init segments (e.g. a digest of the init's bytes). */
  key: string;
  /** Ticks per second of the encoding's media timeline (the init's `mdhd` timescale). */
  timescale: number;
  /** Whether a hole can be filled by a segment that plays under this encoding's init. */
  fillsHoles: boolean;
}

/** Where a run sits in its stretch. */
export interface RunStretch {
  /** Start of the stretch (its first run's start), ms. */
  startMs: number;
  /** Ticks per second of the stretch's media timeline. */
  timescale: number;
  /** Whether the run continues the stretch an earlier run opened (no discontinuity before it). */
  continues: boolean;
}

/**
 * The runs of `timeline` that belong to a stretch, and where; `encodingOf` tells a run's
 * encoding, undefined when it cannot join one (MPEG-TS, an unreadable init segment).
 */
export function continuousStretches(
  timeline: Timeline,
  encodingOf: (run: TimelineRun) => StretchEncoding | undefined,
  options: { lone?: boolean } = {},
): Map<TimelineRun, RunStretch> {
  const stretches = new Map<TimelineRun, RunStretch>();
  let members: TimelineRun[] = [];
  let encoding: StretchEncoding | undefined;
  let joined = false;
  let holeBefore = false;
  const close = () => {
    if (joined || members.length > 1 || (options.lone && members.length > 0)) {
      const startMs = members[0].startMs;
      members.forEach((run, i) =>
        stretches.set(run, { startMs, timescale: encoding!.timescale, continues: i > 0 })
      );
    }
    members = [];
    encoding = undefined;
    joined = false;
  };
  for (const item of timeline.items) {
    if (item.kind === "gap") {
      holeBefore = true;
      continue;
    }
    const own = encodingOf(item);
    const holesInside = item.entries.some((entry) => entry.kind === "gap");
    if (!own || (holesInside && !own.fillsHoles)) {
      close();
      holeBefore = false;
      continue;
    }
    const fits = encoding !== undefined && own.key === encoding.key &&
      own.timescale === encoding.timescale && (!holeBefore || own.fillsHoles);
    if (!fits) close();
    if (members.length === 0) encoding = own;
    members.push(item);
    if (holesInside) joined = true;
    holeBefore = false;
  }
  close();
  return stretches;
}

/** Decode time, in the stretch's ticks, of what is placed at `ms`. */
export function stretchTicks(stretch: RunStretch, ms: number): number {
  return Math.round(((ms - stretch.startMs) * stretch.timescale) / 1000);
}
