/** Synthetic recordings and segments for the playlist tests. */
import type { TimelineRecording, TimelineSegmentInput } from "../../lib/playlist/mod.ts";

/** 2026-11-24T03:00:00.000Z: the start of most test recordings. */
export const T0 = Date.UTC(2026, 10, 24, 3, 0, 0);

/** A recording with an init segment (or, with `initKey: null`, an MPEG-TS one). */
export function recording(
  id: string,
  startedAtMs = T0,
  initKey: string | null = `cam/${id}/init.mp4`,
): TimelineRecording {
  return { id, initKey, startedAt: new Date(startedAtMs) };
}

/** `count` back-to-back segments of `recordingId` from `sequence`, starting at `startMs`. */
export function run(
  recordingId: string,
  options: {
    sequence?: number;
    count: number;
    startMs?: number;
    durationMs?: number;
    extension?: string;
  },
): TimelineSegmentInput[] {
  const durationMs = options.durationMs ?? 2000;
  const first = options.sequence ?? 0;
  return Array.from({ length: options.count }, (_, i) => ({
    recordingId,
    sequence: first + i,
    startMs: (options.startMs ?? T0) + i * durationMs,
    durationMs,
    objectKey: `cam/${recordingId}/${String(first + i).padStart(10, "0")}.${
      options.extension ?? "m4s"
    }`,
    size: 250_000,
  }));
}

/** A small deterministic pseudo-random generator (mulberry32). */
export function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates with `next`. */
export function shuffle<T>(items: T[], next: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}
