/**
 * The player matrix: players nobody here wrote, on one time range of the real agent's video
 * that holds a hole (recording A, the vehicle off for 20 s, recording B). Each plays the range
 * to the end with no error lines and decodes every frame of both recordings; the duration it
 * reports or the file it writes spans the range, hole included, within one segment; the
 * browser players also seek into B and go on.
 */
import assert from "node:assert/strict";
import { hasChromium, launchChromium } from "../support/browser.ts";
import { signedLinks } from "../support/fleet_api.ts";
import {
  ffmpegDecode,
  ffmpegSave,
  ffprobePlay,
  gstreamer,
  mpv,
  type NativeRunner,
  vlc,
} from "../support/native_players.ts";
import { type BrowserPlayer, playThrough, servePlayerPages } from "../support/players.ts";
import { recordTwoWithHole, type TwoRecordings } from "../support/two_recordings.ts";

/** One segment: how far a duration or a position may be off. */
const SEGMENT_S = 2;
/**
 * Browser players run this many times faster than real time. Not faster: at 8× dash.js 5.2
 * never jumps a hole it jumps at 1×, 2× and 4× (its gap check runs on a 250 ms timer).
 */
const RATE = 4;
/**
 * Chromium's `totalVideoFrames` is not an exact count of a stream's frames: it came out 1–6
 * short over two recordings for every browser player (frames queued when a player jumps a hole
 * or ends a Period are flushed uncounted), while one recording alone counted 241–245 of its 241.
 * So browsers may miss up to this many seconds of frames; `video.played` must still cover both
 * recordings to within half a second of their ends.
 */
const BROWSER_FRAME_SLACK_S = 1;
/**
 * hls.js reports buffering as non-fatal "errors": each EXT-X-GAP fragment it skips, and a stall
 * (`bufferStalledError`, which a loaded machine also causes for an instant). They are not error
 * lines of the stream; how long playback stood still is checked instead.
 */
const NOT_AN_ERROR = /^mediaError: (fragGap|bufferStalledError|bufferNudgeOnStall)$/;
/**
 * Longest a browser player may stand still once playing, in wall-clock ms: Shaka and dash.js
 * jumped an EXT-X-GAP / Period gap in 2–3 s, hls.js stood 5–10 s at one.
 */
const MAX_STALL_MS = 4_000;
const NATIVE_TIMEOUT_MS = 30_000;

type Format = "hls" | "dash";

/** What a cell saw: the common shape every runner returns. */
interface Played {
  frames: number;
  /** Duration the player reported or wrote. */
  durationS?: number;
  /** Decoded frames' times on the player's timeline. */
  times?: number[];
  errors: string[];
  /** Browser players: how they played through and after a seek into B. */
  browser?: {
    ended: boolean;
    played: Array<[number, number]>;
    afterSeekS?: number;
    seekPastS: number;
    longestStallMs: number;
    warnings: string[];
  };
}

interface Browsers {
  pages: ReturnType<typeof servePlayerPages>;
  browser: Awaited<ReturnType<typeof launchChromium>>;
}

const native = (runner: NativeRunner) => (f: TwoRecordings, format: Format): Promise<Played> =>
  runner(f.links[format], f.workDir, NATIVE_TIMEOUT_MS);

const inBrowser =
  (player: BrowserPlayer) =>
  async (f: TwoRecordings, format: Format, b: Browsers): Promise<Played> => {
    const seek = { toS: f.b.fromS + 2, pastS: f.b.fromS + 5 };
    const run = await playThrough(b.browser, b.pages.page(player, f.links[format]), {
      rate: RATE,
      timeoutMs: (f.rangeS / RATE) * 1000 + 40_000,
      seek,
    });
    return {
      frames: run.frames,
      durationS: run.durationS,
      errors: run.errors,
      browser: {
        ended: run.ended,
        played: run.played,
        afterSeekS: run.afterSeekS,
        seekPastS: seek.pastS,
        warnings: run.warnings,
        longestStallMs: run.longestStallMs,
      },
    };
  };

/**
 * What a player cannot do by its own design, and the strongest check that still holds. None is
 * left: libavformat's one DASH Period and VLC 3's stop at an fMP4 HLS discontinuity no longer
 * matter since recordings of one encoding play as one stretch (one Period, no discontinuity).
 */
interface Limitation {
  why: string;
  check(f: TwoRecordings, played: Played): void;
}

/** The matrix: player × format, each with the function that plays it. */
const CELLS: Array<{
  player: string;
  formats: Format[];
  browser?: true;
  play: (f: TwoRecordings, format: Format, b: Browsers) => Promise<Played>;
  limits?: Partial<Record<Format, Limitation>>;
}> = [
  { player: "hls.js", formats: ["hls"], browser: true, play: inBrowser("hls") },
  { player: "Shaka Player", formats: ["hls", "dash"], browser: true, play: inBrowser("shaka") },
  { player: "dash.js", formats: ["dash"], browser: true, play: inBrowser("dash") },
  {
    player: "ffmpeg (decode)",
    formats: ["hls", "dash"],
    play: native(ffmpegDecode),
  },
  {
    player: "ffmpeg (save a file)",
    formats: ["hls", "dash"],
    play: native(ffmpegSave),
  },
  {
    player: "ffprobe",
    formats: ["hls", "dash"],
    play: native(ffprobePlay),
  },
  { player: "GStreamer playbin", formats: ["hls", "dash"], play: native(gstreamer("playbin")) },
  { player: "GStreamer playbin3", formats: ["hls", "dash"], play: native(gstreamer("playbin3")) },
  {
    player: "VLC",
    formats: ["hls", "dash"],
    play: native(vlc),
  },
  { player: "mpv", formats: ["hls", "dash"], play: native(mpv) },
];

/** Asserts `played` is the whole range: every frame, no errors, the hole kept on the timeline. */
function assertPlaysThrough(f: TwoRecordings, played: Played) {
  const seen = JSON.stringify({ ...played, times: undefined }).slice(0, 2_000);
  const recovered = played.browser?.warnings.filter((w) => !NOT_AN_ERROR.test(w)) ?? [];
  assert.deepEqual([...played.errors, ...recovered], [], `error lines: ${seen}`);
  const both = f.a.frames + f.b.frames;
  const slack = played.browser ? BROWSER_FRAME_SLACK_S * f.fps : 0;
  assert.ok(
    played.frames >= both - slack,
    `decoded ${played.frames} frames, recordings A and B hold ${f.a.frames} + ${f.b.frames}: ${seen}`,
  );
  if (played.durationS !== undefined) {
    assert.ok(
      Math.abs(played.durationS - f.rangeS) <= SEGMENT_S,
      `duration ${played.durationS} s, the range (hole included) is ${f.rangeS} s`,
    );
  }
  if (played.times?.length) {
    // On the player's timeline B's frames come after the hole, and the last ends the range.
    const first = Math.min(...played.times);
    const at = played.times.map((t) => t - first);
    const end = Math.max(...at) + 1 / f.fps;
    assert.ok(
      Math.abs(end - f.rangeS) <= SEGMENT_S,
      `frames span ${end.toFixed(3)} s of the timeline, the range is ${f.rangeS} s`,
    );
    const fromB = at.filter((t) => t >= f.b.fromS - SEGMENT_S).length;
    // A file a player writes may lack the last packets its encoder gave out (VLC's transcode to
    // MPEG-TS loses its last 3 of 502 at exit): those, decoded and counted, have no time here.
    const unwritten = Math.max(0, played.frames - played.times.length);
    assert.ok(
      fromB >= f.b.frames - unwritten,
      `${fromB} frames from ${f.b.fromS - SEGMENT_S} s on, recording B holds ${f.b.frames}`,
    );
  }
  if (played.browser) {
    const { ended, played: ranges, afterSeekS, seekPastS, longestStallMs } = played.browser;
    assert.ok(ended, `did not reach the end: ${seen}`);
    assert.ok(longestStallMs <= MAX_STALL_MS, `stood still for ${longestStallMs} ms: ${seen}`);
    const covers = (from: number, to: number) =>
      ranges.some(([start, end]) => start <= from && end >= to);
    assert.ok(covers(f.a.fromS + 0.5, f.a.toS - 0.5), `A not played through: ${seen}`);
    assert.ok(covers(f.b.fromS + 0.5, f.b.toS - 0.5), `B not played through: ${seen}`);
    assert.ok(
      afterSeekS !== undefined && afterSeekS > seekPastS,
      `after a seek into B reached ${afterSeekS} s, not past ${seekPastS} s`,
    );
  }
}

Deno.test({
  name: "every player plays a range with a hole through both recordings, on the true timeline",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const started = Date.now();
    await using f = await recordTwoWithHole({ recordS: 10, holeS: 20 });
    await using pages = servePlayerPages();
    await using browser = hasChromium ? await launchChromium() : undefined;
    console.log(
      `fixture in ${((Date.now() - started) / 1000).toFixed(1)} s: range ${f.rangeS} s; A ${
        JSON.stringify({ ...f.a, id: undefined })
      }; B ${JSON.stringify({ ...f.b, id: undefined })}`,
    );

    await t.step("the fixture holds two recordings of every segment with a hole between", () => {
      for (const r of [f.a, f.b]) {
        assert.ok(r.segmentCount >= 4, `${r.segmentCount} segments`);
        assert.ok(
          Math.abs(r.frames / f.fps - (r.toS - r.fromS)) <= 0.5,
          `${r.frames} frames over ${r.toS - r.fromS} s`,
        );
      }
      assert.ok(f.b.fromS - f.a.toS >= 15, `hole of ${f.b.fromS - f.a.toS} s`);
    });

    const grid: string[] = [];
    for (const cell of CELLS) {
      for (const format of cell.formats) {
        const limit = cell.limits?.[format];
        const ok = await t.step({
          name: limit
            ? `${cell.player} plays what it can of the ${format.toUpperCase()} range (${limit.why})`
            : `${cell.player} plays the ${format.toUpperCase()} range to the end`,
          ignore: cell.browser && !browser,
          fn: async () => {
            const cellStarted = Date.now();
            const played = await cell.play(f, format, { pages, browser: browser! });
            console.log(
              `${cell.player} ${format} in ${((Date.now() - cellStarted) / 1000).toFixed(1)} s: ${
                JSON.stringify({
                  ...played,
                  times: played.times &&
                    `${played.times.length} from ${Math.min(...played.times)} to ${
                      Math.max(...played.times)
                    }`,
                  errors: played.errors.slice(0, 8),
                }).slice(0, 1_500)
              }`,
            );
            if (limit) limit.check(f, played);
            else assertPlaysThrough(f, played);
          },
        });
        const verdict = ok ? (limit ? `pass, limited: ${limit.why}` : "pass") : "FAIL";
        grid.push(`${cell.player} ${format}: ${verdict}`);
      }
    }

    await t.step({
      name: "hls.js hears 404 for a range wholly inside the hole",
      ignore: !browser,
      fn: async () => {
        const from = new Date(f.from.getTime() + (f.a.toS + 5) * 1000);
        const links = await signedLinks(f.server.url, f.vehicle, "front", {
          from,
          to: new Date(from.getTime() + 5_000),
        });
        const run = await playThrough(browser!, pages.page("hls", links.hls), {
          rate: RATE,
          timeoutMs: 20_000,
        });
        assert.ok(
          run.errors.some((e) => /manifestLoadError 404/.test(e)),
          `hls.js errors: ${JSON.stringify(run.errors)}`,
        );
      },
    });
    console.log(`matrix in ${((Date.now() - started) / 1000).toFixed(1)} s:\n${grid.join("\n")}`);
  },
});
