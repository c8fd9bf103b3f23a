/**
 * Holes as players meet them, over the real server: two recordings with the vehicle off for a
 * while between them. The hole is slate (filler segments the server answers), so every player
 * plays through it and keeps it on the timeline.
 */
import assert from "node:assert/strict";
import HLS from "hls-parser";
import { createFile, type ISOFile } from "mp4box";
import { parseInitSegment, parseMediaSegment } from "../../lib/media/mod.ts";
import { SLATE_FPS } from "../../lib/slate/mod.ts";
import { gapPiece } from "../../lib/playlist/mod.ts";
import { readBoxes } from "../../lib/media/box.ts";
import { hasChromium, launchChromium } from "../support/browser.ts";
import { setUpVehicle, signedLinks, type VehicleOnServer } from "../support/fleet_api.ts";
import { type CmafFixture, contentDigest, makeCmaf } from "../support/media.ts";
import { servePlayerPages } from "../support/players.ts";
import { startServer } from "../support/server.ts";

const HOLE_MS = 9_000;
/** Frames in a slate piece of `ms`: the keyframe and still frames, at the slate's rate. */
const framesOf = (ms: number) => Math.round((ms * SLATE_FPS) / 1000);

async function record(
  server: string,
  vehicle: VehicleOnServer,
  recordingId: string,
  cmaf: CmafFixture,
  startMs: number,
): Promise<number> {
  const base = `${server}/api/v1/ingest/vehicles/${vehicle.vehicleId}/cameras/front/recordings/` +
    recordingId;
  const put = async (path: string, body: Uint8Array, headers: Record<string, string> = {}) => {
    const response = await fetch(base + path, {
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
  await put("/init", cmaf.init);
  let at = startMs;
  for (const [i, segment] of cmaf.segments.entries()) {
    await put(`/segments/${i}`, segment.bytes, {
      "motorcade-segment-start": new Date(at).toISOString(),
      "motorcade-segment-duration": (segment.durationMs / 1000).toFixed(3),
    });
    at += segment.durationMs;
  }
  return at;
}

/** Runs a command; its stdout, or an Error with its stderr. */
async function run(command: string, args: string[]): Promise<string> {
  const output = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder();
  if (!output.success) throw new Error(`${command} failed: ${text.decode(output.stderr)}`);
  return text.decode(output.stdout) + text.decode(output.stderr);
}

/**
 * What ffmpeg makes of `url` (a playlist or manifest) remuxed to one MP4: its duration and the
 * frames ffprobe decodes from it, and ffmpeg's error lines.
 */
async function remux(url: string): Promise<{ seconds: number; frames: number; errors: string }> {
  const file = await Deno.makeTempFile({ suffix: ".mp4" });
  try {
    const errors = await run("ffmpeg", ["-v", "error", "-y", "-i", url, "-c", "copy", file]);
    const probe = JSON.parse(
      await run("ffprobe", [
        "-v",
        "error",
        "-count_frames",
        "-show_entries",
        "format=duration:stream=nb_read_frames",
        "-of",
        "json",
        file,
      ]),
    );
    return {
      seconds: Number(probe.format.duration),
      frames: Number(probe.streams[0].nb_read_frames),
      errors,
    };
  } finally {
    await Deno.remove(file);
  }
}

/** Boxes as mp4box.js reads them: it throws nothing, so check what it found. */
function mp4box(bytes: Uint8Array): ISOFile {
  const file = createFile();
  const buffer = bytes.slice().buffer as ArrayBuffer & { fileStart: number };
  buffer.fileStart = 0;
  file.appendBuffer(buffer);
  file.flush();
  return file;
}

Deno.test({
  name: "a range with a hole plays through the hole, kept on the timeline",
  sanitizeResources: false,
  async fn(t) {
    await using server = await startServer();
    const vehicle = await setUpVehicle(server.url);
    const cmaf = await makeCmaf({ seconds: 6, size: "320x180" });
    const start = Date.now() - 120_000;
    const aEnd = await record(server.url, vehicle, "a", cmaf, start);
    const bEnd = await record(server.url, vehicle, "b", cmaf, aEnd + HOLE_MS);
    const rangeS = (bEnd - start) / 1000;
    await new Promise((r) => setTimeout(r, 300));
    const links = await signedLinks(server.url, vehicle, "front", {
      from: new Date(start),
      to: new Date(bEnd),
    });

    await t.step("HLS lists the hole as slate pieces on the recordings' own timeline", async () => {
      const text = await (await fetch(links.hls)).text();
      const playlist = HLS.parse(text) as HLS.types.MediaPlaylist;
      const kinds = playlist.segments.map((s) => new URL(s.uri).pathname.split("/").at(-2));
      const filler = playlist.segments.filter((s) => s.uri.includes("/gap/"));
      assert.equal(filler.length, Math.ceil(HOLE_MS / (playlist.targetDuration * 1000)));
      assert.equal(filler.reduce((sum, s) => sum + s.duration, 0), HOLE_MS / 1000);
      assert.ok(!text.includes("#EXT-X-GAP"), "hls.js stalls at EXT-X-GAP");
      // A and B share their encoding: one timeline, one init segment, no discontinuity.
      assert.equal(playlist.segments.filter((s) => s.discontinuity).length, 0, kinds.join());
      assert.equal(text.match(/#EXT-X-MAP/g)?.length, 1, text);
      const after = playlist.segments[playlist.segments.indexOf(filler.at(-1)!) + 1];
      assert.equal(filler[0].programDateTime?.getTime(), aEnd);
      assert.equal(after.programDateTime?.getTime(), aEnd + HOLE_MS, "PDT after the hole");
      assert.match(filler[0].map!.uri, /\/a\/init\.mp4\?/);
      // Every URI states its decode time; they follow the playlist's durations.
      const init = new Uint8Array(await (await fetch(filler[0].map!.uri)).arrayBuffer());
      const timescale = parseInitSegment(init).timescale;
      let elapsed = 0;
      for (const segment of playlist.segments) {
        const ticks = Number(new URL(segment.uri).searchParams.get("t"));
        assert.ok(Math.abs(ticks - elapsed * timescale) <= 1, `${segment.uri}: t=${ticks}`);
        elapsed += segment.duration;
      }
      const pieceResponse = await fetch(filler[1].uri);
      assert.equal(
        pieceResponse.headers.get("cache-control"),
        "public, max-age=31536000, immutable",
      );
      const etag = pieceResponse.headers.get("etag")!;
      const piece = new Uint8Array(await pieceResponse.arrayBuffer());
      const again = await fetch(filler[1].uri, { headers: { "if-none-match": etag } });
      assert.equal(again.status, 304);
      const ranged = await fetch(filler[1].uri, { headers: { range: "bytes=0-7" } });
      assert.equal(ranged.status, 206);
      assert.deepEqual(new Uint8Array(await ranged.arrayBuffer()), piece.subarray(0, 8));

      // Our parser, then one nobody here wrote.
      const track = parseInitSegment(init);
      assert.equal(track.width, 320);
      const media = parseMediaSegment(piece, track);
      assert.equal(media.sampleCount, framesOf(filler[1].duration * 1000), "keyframe and stills");
      assert.ok(media.startsWithKeyframe);
      assert.equal(media.durationInTimescale / track.timescale, filler[1].duration);
      assert.equal(
        media.baseMediaDecodeTime,
        Number(new URL(filler[1].uri).searchParams.get("t")),
        "decode time from the URI, on the recordings' timeline",
      );
      const file = mp4box(new Uint8Array([...init, ...piece]));
      const info = file.getInfo();
      assert.equal(info.videoTracks[0].video!.width, 320);
      assert.equal(info.videoTracks[0].codec, track.codec);
      const moofs = (file as unknown as { moofs: Array<{ mfhd: { sequence_number: number } }> })
        .moofs;
      assert.deepEqual(moofs.map((moof) => moof.mfhd.sequence_number), [2], "piece 1 of 0…4");
      // Presented when its decode time says, as the recording's edit list shifts its own frames.
      const c = Number(new URL(filler[1].uri).searchParams.get("c") ?? 0);
      const trun = (file as unknown as {
        moofs: Array<
          { trafs: Array<{ truns: Array<{ sample_composition_time_offset: number[] }> }> }
        >;
      }).moofs[0].trafs[0].truns[0];
      assert.deepEqual(trun.sample_composition_time_offset, Array(media.sampleCount).fill(c));

      const missing = await fetch(filler[1].uri.replace(/\/\d+\.m4s\?/, "/99.m4s?"));
      assert.equal(missing.status, 404);
      await missing.body?.cancel();
    });

    await t.step("a segment asked for at a decode time is served moved to it", async () => {
      const playlist = HLS.parse(await (await fetch(links.hls)).text()) as HLS.types.MediaPlaylist;
      const init = new Uint8Array(await (await fetch(playlist.segments[0].map!.uri)).arrayBuffer());
      const track = parseInitSegment(init);
      const firstOfB = playlist.segments.find((s) => new URL(s.uri).pathname.includes("/b/"))!;
      const url = new URL(firstOfB.uri);
      const t = Number(url.searchParams.get("t"));
      assert.ok(t > 0, firstOfB.uri);
      const response = await fetch(url);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("cache-control"), "public, max-age=31536000, immutable");
      const etag = response.headers.get("etag")!;
      const moved = new Uint8Array(await response.arrayBuffer());
      assert.equal(parseMediaSegment(moved, track).baseMediaDecodeTime, t);
      const again = await fetch(url, { headers: { "if-none-match": etag } });
      assert.equal(again.status, 304);
      await again.body?.cancel();
      const ranged = await fetch(url, { headers: { range: "bytes=8-15" } });
      assert.equal(ranged.status, 206);
      assert.deepEqual(new Uint8Array(await ranged.arrayBuffer()), moved.subarray(8, 16));
      // Without `t`: the stored bytes, as before (B's own media time starts at 0).
      url.searchParams.delete("t");
      const plain = await fetch(url);
      const stored = new Uint8Array(await plain.arrayBuffer());
      assert.notEqual(plain.headers.get("etag"), etag);
      assert.equal(parseMediaSegment(stored, track).baseMediaDecodeTime, 0);
      // The same boxes, less a segment index (its times would still be the recording's).
      const types = (bytes: Uint8Array) => readBoxes(bytes, "segment").map((box) => box.type);
      assert.deepEqual(types(moved), types(stored).filter((type) => type !== "sidx"));
      for (const bad of ["x", "-1", "1.5", "99999999999999999"]) {
        url.searchParams.set("t", bad);
        const refused = await fetch(url);
        assert.equal(refused.status, 400, `t=${bad}`);
        await refused.body?.cancel();
      }
      const initAt = new URL(playlist.segments[0].map!.uri);
      initAt.searchParams.set("t", "0");
      const initRefused = await fetch(initAt);
      assert.equal(initRefused.status, 400);
      await initRefused.body?.cancel();
    });

    await t.step(
      "ffmpeg plays HLS and DASH to the range's length, hole included",
      async () => {
        const hls = await remux(links.hls);
        assert.ok(Math.abs(hls.seconds - rangeS) <= 2, `${hls.seconds} s of ${rangeS}`);
        // Both recordings' 150 frames each, and the slate's pieces (its keyframe and still
        // frames, played under the recordings' init), every one decodable.
        const pieces = Math.ceil(HOLE_MS / 2000);
        const slateFrames = Array.from(
          { length: pieces },
          (_, i) => framesOf(gapPiece(HOLE_MS, pieces, i).durationMs),
        ).reduce((a, b) => a + b, 0);
        assert.equal(hls.frames, 300 + slateFrames, hls.errors);
        const probe = JSON.parse(
          await run("ffprobe", ["-v", "error", "-show_streams", "-of", "json", links.dash]),
        );
        assert.equal(probe.streams[0].codec_name, "h264");
        assert.equal(probe.streams[0].width, 320);
        // libavformat keeps one DASH Period: A, the hole and B are one (one encoding).
        const dash = await remux(links.dash);
        assert.ok(Math.abs(dash.seconds - rangeS) <= 2, `${dash.seconds} s of ${rangeS}`);
        assert.equal(dash.frames, 300 + slateFrames, dash.errors);
      },
    );

    for (const player of ["hls", "dash"] as const) {
      await t.step({
        name: `${player === "hls" ? "hls.js" : "dash.js"} in Chromium plays on through the hole`,
        ignore: !hasChromium,
        async fn() {
          await using pages = servePlayerPages();
          await using browser = await launchChromium();
          const page = await browser.newPage();
          try {
            await page.goto(pages.page(player, player === "hls" ? links.hls : links.dash));
            const past = (aEnd + HOLE_MS - start) / 1000 + 1; // a second into b
            await page.waitForFunction(
              (s) => {
                const video = document.querySelector("video")!;
                const errors = (globalThis as { playerErrors?: string[] }).playerErrors ?? [];
                return video.currentTime > s || errors.length > 0 || video.ended;
              },
              past,
              { timeout: 60_000, polling: 250 },
            );
            const state = await page.evaluate(() => ({
              time: document.querySelector("video")!.currentTime,
              duration: document.querySelector("video")!.duration,
              errors: (globalThis as { playerErrors?: string[] }).playerErrors ?? [],
            }));
            assert.deepEqual(state.errors, []);
            assert.ok(state.time > past, `at ${state.time} s`);
            assert.ok(Math.abs(state.duration - rangeS) <= 1, `duration ${state.duration}`);
          } finally {
            await page.close();
          }
        },
      });
    }
    await Deno.remove(vehicle.stateDir, { recursive: true });
  },
});
