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

const PAGE = (player: "hls" | "dash", url: string) =>
  `<!doctype html>
<meta charset="utf-8"><title>${player} player</title>
<video id="video" muted playsinline autoplay style="width:640px"></video>
<script src="/${player}.js"></script>
<script>
  const video = document.getElementById("video");
  window.playerErrors = [];
  const url = ${JSON.stringify(url)};
  if (${JSON.stringify(player)} === "hls") {
    const hls = new Hls();
    hls.on(Hls.Events.ERROR, (_, data) => { if (data.fatal) window.playerErrors.push(data.details); });
    hls.loadSource(url);
    hls.attachMedia(video);
  } else {
    const dash = dashjs.MediaPlayer().create();
    dash.on("error", (e) => window.playerErrors.push(JSON.stringify(e.error ?? e)));
    dash.initialize(video, url, true);
  }
  video.play().catch(() => {});
</script>`;

/** A running player page server; `await using` stops it. */
export interface PlayerPages extends AsyncDisposable {
  /** URL of a page playing `url` with `player`. */
  page(player: "hls" | "dash", url: string): string;
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
      const player = url.searchParams.get("player") === "dash" ? "dash" : "hls";
      return new Response(PAGE(player, url.searchParams.get("url") ?? ""), {
        headers: { "content-type": "text/html" },
      });
    }
    return new Response("not found", { status: 404 });
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  return {
    page: (player, url) => `${base}/play?player=${player}&url=${encodeURIComponent(url)}`,
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
