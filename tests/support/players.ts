/**
 * A page that plays a URL with hls.js or dash.js in Chromium, served from its own origin on
 * 127.0.0.1 (so playback also proves the server's CORS headers work for third-party players).
 */

// The players' browser bundles, from node_modules (`deno install` puts every package of the
// import map there; the test task runs it). They cannot run in Deno, so nothing imports them.
const modules = new URL("../../node_modules/", import.meta.url);
const SCRIPTS: Record<string, URL> = {
  "/hls.js": new URL("hls.js/dist/hls.min.js", modules),
  "/dash.js": new URL("dashjs/dist/modern/umd/dash.all.min.js", modules),
  "/shaka.js": new URL("shaka-player/dist/shaka-player.compiled.js", modules),
  // medooze's WHEP client (by an author of the WHEP draft): an independent WHEP implementation.
  "/whep.js": new URL("whip-whep/whep.js", modules),
};

/** A page that watches a WHEP endpoint with medooze's WHEPClient; `window.whepError` on failure. */
const WHEP_PAGE = (url: string, token: string) =>
  `<!doctype html>
<meta charset="utf-8"><title>WHEP player</title>
<video id="video" muted playsinline autoplay style="width:640px"></video>
<script type="module">
  import { WHEPClient } from "/whep.js";
  const video = document.getElementById("video");
  const pc = new RTCPeerConnection();
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.ontrack = (event) => {
    video.srcObject = event.streams[0] ?? new MediaStream([event.track]);
    video.play().catch(() => {});
  };
  window.whepState = () => pc.connectionState;
  new WHEPClient().view(pc, ${JSON.stringify(url)}, ${JSON.stringify(token)})
    .catch((error) => (window.whepError = String(error)));
</script>`;

/** The players a page can run: hls.js (HLS), dash.js (DASH), Shaka Player (both). */
export type BrowserPlayer = "hls" | "dash" | "shaka";

// `playerErrors` holds fatal errors (the player gave up), `playerWarnings` the ones it recovers
// from; both as "name: detail" lines. `best`: the best quality there is at each moment (Shaka:
// adaptation off, the highest variant; dash.js: a lowest bitrate above every representation's,
// which leaves it the highest of each Period).
const PAGE = (player: BrowserPlayer, url: string, best = false) =>
  `<!doctype html>
<meta charset="utf-8"><title>${player} player</title>
<video id="video" muted playsinline autoplay style="width:640px"></video>
<script src="/${player}.js"></script>
<script>
  const video = document.getElementById("video");
  window.playerErrors = [];
  window.playerWarnings = [];
  const url = ${JSON.stringify(url)};
  const best = ${JSON.stringify(best)};
  if (${JSON.stringify(player)} === "hls") {
    const hls = new Hls();
    hls.on(Hls.Events.ERROR, (_, data) => {
      const line = data.type + ": " + data.details + (data.response ? " " + data.response.code : "");
      (data.fatal ? window.playerErrors : window.playerWarnings).push(line);
    });
    hls.loadSource(url);
    hls.attachMedia(video);
  } else if (${JSON.stringify(player)} === "shaka") {
    shaka.polyfill.installAll();
    const shakaPlayer = new shaka.Player();
    const shakaError = (error) => {
      const line = "shaka " + error.code + ": " + JSON.stringify(error.data ?? []).slice(0, 300);
      (error.severity === 2 ? window.playerErrors : window.playerWarnings).push(line);
    };
    shakaPlayer.addEventListener("error", (event) => shakaError(event.detail));
    if (best) shakaPlayer.configure({ abr: { enabled: false } });
    shakaPlayer.attach(video)
      .then(() => shakaPlayer.load(url))
      .then(() => {
        if (best) {
          const tracks = shakaPlayer.getVariantTracks().sort((a, b) => b.bandwidth - a.bandwidth);
          shakaPlayer.selectVariantTrack(tracks[0], true);
        }
        video.play().catch(() => {});
      }, shakaError);
  } else {
    const dash = dashjs.MediaPlayer().create();
    dash.on("error", (e) => window.playerErrors.push(JSON.stringify(e.error ?? e)));
    if (best) {
      dash.updateSettings({
        streaming: {
          abr: { minBitrate: { video: 1000000 }, initialBitrate: { video: 1000000 } },
        },
      });
    }
    dash.initialize(video, url, true);
  }
  video.play().catch(() => {});
</script>`;

/** A running player page server; `await using` stops it. */
export interface PlayerPages extends AsyncDisposable {
  /** URL of a page playing `url` with `player`; `best`: the best quality at each moment. */
  page(player: BrowserPlayer, url: string, options?: { best?: boolean }): string;
  /** URL of a page watching the WHEP endpoint `url` with `token`. */
  whep(url: string, token: string): string;
}

/** Serves player pages on a free port of 127.0.0.1. */
export function servePlayerPages(): PlayerPages {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const url = new URL(request.url);
    const script = SCRIPTS[url.pathname];
    if (script) {
      return new Response(await Deno.readFile(script), {
        headers: { "content-type": "text/javascript" },
      });
    }
    if (url.pathname === "/whep") {
      const page = WHEP_PAGE(
        url.searchParams.get("url") ?? "",
        url.searchParams.get("token") ?? "",
      );
      return new Response(page, { headers: { "content-type": "text/html" } });
    }
    if (url.pathname === "/play") {
      const asked = url.searchParams.get("player");
      const player = asked === "dash" || asked === "shaka" ? asked : "hls";
      const best = url.searchParams.get("quality") === "best";
      return new Response(PAGE(player, url.searchParams.get("url") ?? "", best), {
        headers: { "content-type": "text/html" },
      });
    }
    return new Response("not found", { status: 404 });
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  return {
    page: (player, url, options) =>
      `${base}/play?player=${player}&url=${encodeURIComponent(url)}` +
      (options?.best ? "&quality=best" : ""),
    whep: (url, token) =>
      `${base}/whep?url=${encodeURIComponent(url)}&token=${encodeURIComponent(token)}`,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/**
 * Opens `pageUrl` (a player page) in `browser` and waits until the video has played past
 * `seconds`; returns the time reached. Throws with the player's errors if it fails.
 */
export async function playsPast(
  browser: import("playwright-core").Browser,
  pageUrl: string,
  seconds: number,
): Promise<number> {
  const page = await browser.newPage();
  try {
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    await page.goto(pageUrl);
    await page.waitForFunction(
      (s) => {
        const video = document.querySelector("video")!;
        const errors = (globalThis as { playerErrors?: string[] }).playerErrors ?? [];
        return video.currentTime > s || errors.length > 0;
      },
      seconds,
      { timeout: 30_000 },
    );
    const state = await page.evaluate(() => ({
      time: document.querySelector("video")!.currentTime,
      width: document.querySelector("video")!.videoWidth,
      errors: (globalThis as { playerErrors?: string[] }).playerErrors ?? [],
    }));
    if (state.errors.length || pageErrors.length || state.width === 0) {
      throw new Error(
        `Player failed: ${JSON.stringify({ ...state, pageErrors })}`,
      );
    }
    return state.time;
  } finally {
    await page.close();
  }
}

/** What a browser player did with a whole range: see {@linkcode playThrough}. */
export interface BrowserPlayback {
  /** Frames the browser decoded (`getVideoPlaybackQuality().totalVideoFrames`) up to the end. */
  frames: number;
  /** The player's duration of the presentation. */
  durationS: number;
  /** The stretches of the timeline played (`video.played`), in seconds. */
  played: Array<[number, number]>;
  /** Whether the video reached its end (`ended`). */
  ended: boolean;
  /** Fatal player errors, page errors, and why playback stopped early (a stall, a timeout). */
  errors: string[];
  /** Errors the player recovered from. */
  warnings: string[];
  /** After the end, a seek to `seekS`: the time reached within the seek's wait. */
  afterSeekS?: number;
  /** Longest wall-clock time the position stood still once playing, before the end, in ms. */
  longestStallMs: number;
  /** The picture sizes shown while playing to the end (`WxH`), each change of size in order. */
  sizes: string[];
}

/**
 * Opens `pageUrl` (a player page), plays it to the end at `rate` times real time, then seeks to
 * `seek.toS` and waits until playback passes `seek.pastS`. Every wait is bounded: a player that
 * stops advancing for `stallMs` (or runs out of `timeoutMs`) ends the run with an error line.
 */
export async function playThrough(
  browser: import("playwright-core").Browser,
  pageUrl: string,
  options: {
    rate: number;
    timeoutMs: number;
    stallMs?: number;
    seek?: { toS: number; pastS: number };
  },
): Promise<BrowserPlayback> {
  const page = await browser.newPage();
  const pageErrors: string[] = [];
  page.on("pageerror", (error) => pageErrors.push(`page: ${error.message}`));
  const stallMs = options.stallMs ?? 10_000;
  type State = {
    time: number;
    ended: boolean;
    duration: number;
    frames: number;
    errors: string[];
    warnings: string[];
    played: Array<[number, number]>;
    size: string;
  };
  const sizes: string[] = [];
  const state = () =>
    page.evaluate((rate): State => {
      const video = document.querySelector("video")!;
      // Players set the rate back on loads and seeks; keep asking for ours.
      if (video.playbackRate !== rate) video.playbackRate = rate;
      const played: Array<[number, number]> = [];
      for (let i = 0; i < video.played.length; i++) {
        played.push([video.played.start(i), video.played.end(i)]);
      }
      const g = globalThis as { playerErrors?: string[]; playerWarnings?: string[] };
      return {
        time: video.currentTime,
        ended: video.ended,
        duration: video.duration,
        frames: video.getVideoPlaybackQuality().totalVideoFrames,
        errors: [...(g.playerErrors ?? [])],
        warnings: [...(g.playerWarnings ?? [])],
        played,
        size: `${video.videoWidth}x${video.videoHeight}`,
      };
    }, options.rate).then((s) => {
      if (s.time > 0 && sizes.at(-1) !== s.size) sizes.push(s.size);
      return s;
    });
  let longestStallMs = 0;
  /** Polls until `done` holds, errors appear, time stops moving for `stallMs`, or time runs out. */
  const until = async (done: (s: State) => boolean, what: string, deadline: number) => {
    let s = await state();
    let lastMove = Date.now();
    let lastTime = s.time;
    while (!done(s) && s.errors.length === 0 && pageErrors.length === 0) {
      if (s.time > 0) longestStallMs = Math.max(longestStallMs, Date.now() - lastMove);
      if (Date.now() > deadline) return { s, stop: `timed out ${what} at ${s.time.toFixed(2)} s` };
      if (Date.now() - lastMove > stallMs) {
        return { s, stop: `stalled ${what} at ${s.time.toFixed(2)} s for ${stallMs} ms` };
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
      s = await state();
      if (s.time !== lastTime) [lastTime, lastMove] = [s.time, Date.now()];
    }
    return { s, stop: undefined };
  };
  try {
    const deadline = Date.now() + options.timeoutMs;
    await page.goto(pageUrl);
    const end = await until((s) => s.ended, "playing to the end", deadline);
    const result: BrowserPlayback = {
      frames: end.s.frames,
      durationS: end.s.duration,
      played: end.s.played,
      ended: end.s.ended,
      errors: [...end.s.errors, ...pageErrors, ...(end.stop ? [end.stop] : [])],
      warnings: end.s.warnings,
      longestStallMs,
      sizes: [...sizes],
    };
    if (options.seek && result.errors.length === 0) {
      const { toS, pastS } = options.seek;
      await page.evaluate((to) => {
        const video = document.querySelector("video")!;
        video.currentTime = to;
        video.play().catch(() => {});
      }, toS);
      const seek = await until(
        (s) => s.time > pastS,
        `after seeking to ${toS} s`,
        Math.min(deadline, Date.now() + 30_000),
      );
      result.afterSeekS = seek.s.time;
      result.errors.push(...seek.s.errors, ...pageErrors, ...(seek.stop ? [seek.stop] : []));
      result.warnings = seek.s.warnings;
    }
    return result;
  } finally {
    await page.close();
  }
}
