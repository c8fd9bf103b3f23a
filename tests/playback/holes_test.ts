/**
 * Holes as players meet them, over the real server: two recordings with the vehicle off for a
 * while between them. The hole is slate (filler segments the server answers), so every player
 * plays through it and keeps it on the timeline.
 */
import assert from "node:assert/strict";
import HLS from "hls-parser";
import { createFile, type ISOFile } from "mp4box";
import { parseInitSegment, parseMediaSegment } from "../../lib/media/mod.ts";
import { hasChromium, launchChromium } from "../support/browser.ts";
import { setUpVehicle, signedLinks, type VehicleOnServer } from "../support/fleet_api.ts";
import { type CmafFixture, contentDigest, makeCmaf } from "../support/media.ts";
import { servePlayerPages } from "../support/players.ts";
import { startServer } from "../support/server.ts";

const HOLE_MS = 9_000;

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

    await t.step("HLS lists the hole as slate pieces between discontinuities", async () => {
      const text = await (await fetch(links.hls)).text();
      const playlist = HLS.parse(text) as HLS.types.MediaPlaylist;
      const kinds = playlist.segments.map((s) => new URL(s.uri).pathname.split("/").at(-2));
      const filler = playlist.segments.filter((s) => s.uri.includes("/gap/"));
      assert.equal(filler.length, Math.ceil(HOLE_MS / (playlist.targetDuration * 1000)));
      assert.equal(filler.reduce((sum, s) => sum + s.duration, 0), HOLE_MS / 1000);
      assert.ok(!text.includes("#EXT-X-GAP"), "hls.js stalls at EXT-X-GAP");
      assert.equal(playlist.segments.filter((s) => s.discontinuity).length, 2, kinds.join());
      const after = playlist.segments[playlist.segments.indexOf(filler.at(-1)!) + 1];
      assert.equal(filler[0].programDateTime?.getTime(), aEnd);
      assert.equal(after.programDateTime?.getTime(), aEnd + HOLE_MS, "PDT after the hole");
      assert.match(filler[0].map!.uri, /\/gap\/avc1\.[0-9a-f]{6}_320x180_\d+\/init\.mp4\?/);

      const init = new Uint8Array(await (await fetch(filler[0].map!.uri)).arrayBuffer());
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
      assert.equal(media.sampleCount, 1);
      assert.ok(media.startsWithKeyframe);
      assert.equal(media.durationInTimescale / track.timescale, filler[1].duration);
      assert.equal(media.baseMediaDecodeTime / track.timescale, filler[0].duration);
      const file = mp4box(new Uint8Array([...init, ...piece]));
      const info = file.getInfo();
      assert.equal(info.videoTracks[0].video!.width, 320);
      assert.equal(info.videoTracks[0].codec, track.codec);
      const moofs = (file as unknown as { moofs: Array<{ mfhd: { sequence_number: number } }> })
        .moofs;
      assert.deepEqual(moofs.map((moof) => moof.mfhd.sequence_number), [2], "piece 1 of 0…4");

      const missing = await fetch(filler[1].uri.replace(/\/\d+\.m4s\?/, "/99.m4s?"));
      assert.equal(missing.status, 404);
      await missing.body?.cancel();
    });

    await t.step(
      "ffmpeg plays HLS to the range's length, hole included; ffprobe opens DASH",
      async () => {
        const hls = await remux(links.hls);
        assert.ok(Math.abs(hls.seconds - rangeS) <= 2, `${hls.seconds} s of ${rangeS}`);
        // Both recordings' 150 frames each, and the slate's pieces, every one decodable.
        const pieces = Math.ceil(HOLE_MS / 2000);
        assert.equal(hls.frames, 300 + pieces, hls.errors);
        // libavformat reads `$Number$` (not `$Number%010d$`). It plays one Period only
        // (dashdec picks one), so it cannot stand for DASH players: the browser players do.
        const probe = JSON.parse(
          await run("ffprobe", ["-v", "error", "-show_streams", "-of", "json", links.dash]),
        );
        assert.equal(probe.streams[0].codec_name, "h264");
        assert.equal(probe.streams[0].width, 320);
        const dash = await remux(links.dash);
        console.log(`ffmpeg over the MPD: ${dash.seconds} s, ${dash.frames} frames`);
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
