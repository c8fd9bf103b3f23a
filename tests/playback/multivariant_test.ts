/**
 * Both renditions of a range as one HLS multivariant playlist, through the real server from a
 * signed link: the proxy complete, full quality only where a recall brought it (a gap elsewhere).
 * hls.js and Shaka Player (in Chromium) play it to the end, switching at the gaps; ffmpeg, which
 * plays one variant, plays the proxy (listed first) end to end. The range's DASH MPD cuts Periods
 * where full quality starts and stops (the proxy alone, both, the proxy alone): dash.js and Shaka
 * play it to the end, asked for their best quality show full quality exactly where it was
 * recalled, and ffmpeg reads its longest Period.
 */
import assert from "node:assert/strict";
import { hasChromium, launchChromium } from "../support/browser.ts";
import { setUpVehicle, signedLinks } from "../support/fleet_api.ts";
import { contentDigest, makeCmaf } from "../support/media.ts";
import { ffmpegDecode } from "../support/native_players.ts";
import { playThrough, servePlayerPages } from "../support/players.ts";
import { startServer } from "../support/server.ts";

const SECONDS = 12;
// Same frames and keyframe times, as the capture makes both renditions from one ffmpeg; full
// quality at a vehicle camera's bitrate, above Shaka's default bandwidth estimate (1 Mbit/s):
// Shaka starting on a variant whose first segments are gaps skips ahead to its first segment
// instead of switching (5.x), so what it starts on matters.
const full = await makeCmaf({ seconds: SECONDS, size: "640x360", bitrate: "2000k" });
const proxy = await makeCmaf({ seconds: SECONDS, size: "320x180", bitrate: "100k" });
/** Full-quality segments uploaded (by a recall): the middle of the range, 4-10 s. */
const RECALLED = [2, 3, 4];

Deno.test({
  name: "a multivariant playlist plays the proxy everywhere and full quality where recalled",
  ignore: !hasChromium,
  async fn(t) {
    await using server = await startServer();
    const vehicle = await setUpVehicle(server.url);
    const base = `${server.url}/api/v1/ingest/vehicles/${vehicle.vehicleId}/cameras/front`;
    const put = async (path: string, body: Uint8Array, headers: Record<string, string>) => {
      const response = await fetch(`${base}/recordings/${path}`, {
        method: "PUT",
        body: body as BodyInit,
        headers: {
          authorization: `Bearer ${await vehicle.tokens!.token()}`,
          "content-digest": await contentDigest(body),
          ...headers,
        },
      });
      assert.equal(response.status, 201, await response.text());
    };
    const start = Date.now() - 120_000;
    const timing = (i: number, fixture: typeof full) => ({
      "motorcade-segment-start": new Date(start + i * 2000).toISOString(),
      "motorcade-segment-duration": (fixture.segments[i].durationMs / 1000).toFixed(3),
    });
    const PROXY = { "motorcade-rendition": "proxy" };
    await put("r1-p/init", proxy.init, PROXY);
    for (const i of proxy.segments.keys()) {
      await put(`r1-p/segments/${i}`, proxy.segments[i].bytes, { ...PROXY, ...timing(i, proxy) });
    }
    await put("r1/init", full.init, {});
    for (const i of RECALLED) {
      await put(`r1/segments/${i}`, full.segments[i].bytes, {
        "motorcade-upload-kind": "recall",
        "motorcade-recall-id": "rcl_test",
        ...timing(i, full),
      });
    }
    const to = new Date(start + SECONDS * 1000);
    let links: { multivariant: string; multivariantDash: string } | undefined;
    const until = Date.now() + 10_000;
    // The indexer is asynchronous: wait until the playlist lists every segment.
    let variants: string[] = [];
    while (Date.now() < until) {
      links = await signedLinks(server.url, vehicle, "front", {
        from: new Date(start),
        to,
      }) as unknown as { multivariant: string; multivariantDash: string };
      const text = await (await fetch(links.multivariant)).text();
      variants = text.split("\n").filter((line) => line.startsWith("http"));
      if (variants.length === 2) {
        const fullText = await (await fetch(variants[1])).text();
        if ((fullText.match(/\.m4s\?/g) ?? []).length === SECONDS / 2) break;
      }
      await new Promise((r) => setTimeout(r, 200));
    }

    await t.step("the proxy variant comes first, then full quality with gaps", async () => {
      const master = await (await fetch(links!.multivariant)).text();
      const infs = master.split("\n").filter((line) => line.startsWith("#EXT-X-STREAM-INF"));
      assert.match(infs[0], /RESOLUTION=320x180/);
      assert.match(infs[1], /RESOLUTION=640x360/);
      assert.equal(variants.length, 2, master);
      const [proxyText, fullText] = await Promise.all(
        variants.map(async (url) => await (await fetch(url)).text()),
      );
      const durations = (text: string) => text.match(/#EXTINF:[\d.]+/g);
      assert.deepEqual(durations(fullText), durations(proxyText), "the same entries");
      assert.equal((proxyText.match(/#EXT-X-GAP/g) ?? []).length, 0);
      assert.equal(
        (fullText.match(/#EXT-X-GAP/g) ?? []).length,
        SECONDS / 2 - RECALLED.length,
        fullText,
      );
      assert.ok(fullText.includes("/r1/0000000002.m4s"), fullText);
    });

    await t.step("ffmpeg plays the first variant, the proxy, end to end", async () => {
      const work = await Deno.makeTempDir({ prefix: "motorcade-multivariant-" });
      try {
        const played = await ffmpegDecode(links!.multivariant, work, 60_000);
        assert.equal(played.frames, SECONDS * 25, played.errors.join("\n"));
      } finally {
        await Deno.remove(work, { recursive: true });
      }
    });

    await t.step(
      "the DASH MPD lists the proxy alone, then both, then the proxy alone",
      async () => {
        const mpd = await (await fetch(links!.multivariantDash)).text();
        const periods = [
          ...mpd.matchAll(/<Period id="([^"]+)" start="([^"]+)" duration="([^"]+)"/g),
        ]
          .map(([, id, start, duration]) => [id.split("-")[0], start, duration]);
        assert.deepEqual(periods, [
          ["proxy", "PT0S", "PT4S"],
          ["proxy+full", "PT4S", "PT6S"],
          ["proxy", "PT10S", "PT2S"],
        ], mpd);
        // Each Representation lists only segments the server has: proxy 0-11, full 2-4.
        const urls = [...mpd.matchAll(/<SegmentURL media="([^"]+)"/g)].map(([, url]) =>
          new URL(url.replaceAll("&amp;", "&")).pathname.split("/").slice(-2).join("/")
        );
        assert.deepEqual(urls.filter((u) => u.startsWith("r1/")), [
          "r1/2.m4s",
          "r1/3.m4s",
          "r1/4.m4s",
        ]);
        assert.equal(urls.filter((u) => u.startsWith("r1-p/")).length, SECONDS / 2);
      },
    );

    await t.step("ffprobe reads the DASH MPD's longest Period: both renditions", async () => {
      const probe = await new Deno.Command("ffprobe", {
        args: [
          "-v",
          "error",
          "-show_entries",
          "stream=width,height",
          "-of",
          "json",
          links!.multivariantDash,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const errors = new TextDecoder().decode(probe.stderr);
      assert.ok(probe.success, errors);
      const { streams } = JSON.parse(new TextDecoder().decode(probe.stdout));
      assert.deepEqual(
        streams.map((s: { width: number; height: number }) => `${s.width}x${s.height}`).sort(),
        ["320x180", "640x360"],
        errors,
      );
    });

    await t.step("ffmpeg decodes the DASH MPD's longest Period", async () => {
      const played = await ffmpegDecode(links!.multivariantDash, "", 60_000);
      assert.equal(played.frames, RECALLED.length * 2 * 25, played.errors.join("\n"));
    });

    await using pages = servePlayerPages();
    await using browser = await launchChromium();
    const dashPlays = [["dash", false], ["shaka", false], ["dash", true], ["shaka", true]] as const;
    for (const [player, best] of dashPlays) {
      const how = best ? " at its best quality (full where recalled)" : "";
      await t.step(`${player} plays the DASH MPD${how} to the end`, async () => {
        const page = pages.page(player, links!.multivariantDash, { best });
        const played = await playThrough(browser, page, {
          rate: best ? 1 : 2, // at its best, slower: each size shows long enough to be seen
          timeoutMs: 60_000,
        });
        assert.deepEqual(played.errors, [], JSON.stringify(played));
        assert.ok(played.ended, JSON.stringify(played));
        assert.ok(Math.abs(played.durationS - SECONDS) < 1, JSON.stringify(played));
        const covered = played.played.reduce((sum, [a, b]) => sum + b - a, 0);
        assert.ok(covered > SECONDS - 1, JSON.stringify(played));
        // Asked for its best: the proxy, full quality where it was recalled, the proxy again.
        if (best) assert.deepEqual(played.sizes, ["320x180", "640x360", "320x180"]);
      });
    }
    for (const player of ["hls", "shaka"] as const) {
      await t.step(`${player} plays it to the end`, async () => {
        const played = await playThrough(browser, pages.page(player, links!.multivariant), {
          rate: 2,
          timeoutMs: 60_000,
        });
        assert.deepEqual(played.errors, [], JSON.stringify(played));
        assert.ok(played.ended, JSON.stringify(played));
        assert.ok(Math.abs(played.durationS - SECONDS) < 1, JSON.stringify(played));
        const covered = played.played.reduce((sum, [a, b]) => sum + b - a, 0);
        assert.ok(covered > SECONDS - 1, JSON.stringify(played));
      });
    }
    await Deno.remove(vehicle.stateDir, { recursive: true });
  },
});

Deno.test({
  name: "a renditions MPD plays across a hole between two proxy recordings",
  ignore: !hasChromium,
  async fn(t) {
    await using server = await startServer();
    const vehicle = await setUpVehicle(server.url);
    const base = `${server.url}/api/v1/ingest/vehicles/${vehicle.vehicleId}/cameras/front`;
    const put = async (path: string, body: Uint8Array, headers: Record<string, string>) => {
      const response = await fetch(`${base}/recordings/${path}`, {
        method: "PUT",
        body: body as BodyInit,
        headers: {
          authorization: `Bearer ${await vehicle.tokens!.token()}`,
          "content-digest": await contentDigest(body),
          ...headers,
        },
      });
      assert.equal(response.status, 201, await response.text());
    };
    const start = Date.now() - 120_000;
    // r2-p: 0-6 s; nothing 6-10 s (capture restarted); r3-p: 10-16 s, full quality 12-14 s.
    const upload = async (recording: string, fixture: typeof full, i: number, atMs: number) => {
      const rendition = recording.endsWith("-p") ? "proxy" : "full";
      if (i === 0 || rendition === "full") {
        await put(`${recording}/init`, fixture.init, { "motorcade-rendition": rendition });
      }
      await put(`${recording}/segments/${i}`, fixture.segments[i].bytes, {
        "motorcade-rendition": rendition,
        "motorcade-segment-start": new Date(start + atMs).toISOString(),
        "motorcade-segment-duration": (fixture.segments[i].durationMs / 1000).toFixed(3),
      });
    };
    for (const i of [0, 1, 2]) await upload("r2-p", proxy, i, i * 2000);
    for (const i of [0, 1, 2]) await upload("r3-p", proxy, i, 10_000 + i * 2000);
    await upload("r3", full, 1, 12_000);
    const expected = [
      ["proxy", "PT0S", "PT10S"],
      ["proxy", "PT10S", "PT2S"],
      ["proxy+full", "PT12S", "PT2S"],
      ["proxy", "PT14S", "PT2S"],
    ];
    let url = "";
    let periods: string[][] = [];
    const until = Date.now() + 10_000;
    while (Date.now() < until) {
      const links = await signedLinks(server.url, vehicle, "front", {
        from: new Date(start),
        to: new Date(start + 16_000),
      }) as unknown as { multivariantDash: string };
      url = links.multivariantDash;
      const mpd = await (await fetch(url)).text();
      periods = [...mpd.matchAll(/<Period id="([^"]+)" start="([^"]+)" duration="([^"]+)"/g)]
        .map(([, id, start, duration]) => [id.split("-")[0], start, duration]);
      if (periods.length === expected.length) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.deepEqual(periods, expected);

    await using pages = servePlayerPages();
    await using browser = await launchChromium();
    for (const player of ["dash", "shaka"] as const) {
      await t.step(
        `${player} plays it through the hole to the end, at its best quality`,
        async () => {
          const played = await playThrough(browser, pages.page(player, url, { best: true }), {
            rate: 1,
            timeoutMs: 60_000,
          });
          assert.deepEqual(played.errors, [], JSON.stringify(played));
          assert.ok(played.ended, JSON.stringify(played));
          assert.ok(Math.abs(played.durationS - 16) < 1, JSON.stringify(played));
          assert.deepEqual(played.sizes, ["320x180", "640x360", "320x180"], JSON.stringify(played));
        },
      );
    }
    await Deno.remove(vehicle.stateDir, { recursive: true });
  },
});
