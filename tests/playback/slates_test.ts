import assert from "node:assert/strict";
import { createFile } from "mp4box";
import { createLogger } from "../../lib/log/mod.ts";
import { parseInitSegment, parseMediaSegment } from "../../lib/media/mod.ts";
import { encodingKey, parseEncodingKey, Slates, slateSegment } from "../../lib/slate/mod.ts";

const H264 = { codec: "avc1.64001f", width: 640, height: 360, timescale: 12800 };
const H265 = { codec: "hvc1.1.6.L93.B0", width: 640, height: 360, timescale: 90000 };

/** ffprobe's count of decoded frames and duration of a file, and ffmpeg's decode errors. */
async function decode(bytes: Uint8Array) {
  const file = await Deno.makeTempFile({ suffix: ".mp4" });
  try {
    await Deno.writeFile(file, bytes);
    const probe = await new Deno.Command("ffprobe", {
      args: [
        "-v",
        "error",
        "-count_frames",
        "-show_entries",
        "format=duration:stream=nb_read_frames,codec_name,width",
        "-of",
        "json",
        file,
      ],
    }).output();
    const errors = await new Deno.Command("ffmpeg", {
      args: ["-v", "error", "-i", file, "-f", "null", "-"],
    }).output();
    const json = JSON.parse(new TextDecoder().decode(probe.stdout));
    return {
      codec: json.streams[0].codec_name as string,
      width: json.streams[0].width as number,
      frames: Number(json.streams[0].nb_read_frames),
      seconds: Number(json.format.duration),
      errors: new TextDecoder().decode(errors.stderr),
    };
  } finally {
    await Deno.remove(file);
  }
}

Deno.test("a slate is made once per encoding, and its pieces play as the hole they fill", async () => {
  const dir = await Deno.makeTempDir({ prefix: "motorcade-slates-" });
  try {
    const slates = new Slates({ dir });
    for (const encoding of [H264, H265]) {
      const slate = (await slates.get(encoding))!;
      assert.ok(slate, encoding.codec);
      assert.equal(slate.key, encodingKey(encoding));
      assert.equal(await slates.get(encoding), slate, "kept in memory");
      assert.equal(slate.codec.split(".")[0], encoding.codec.split(".")[0]);
      const track = parseInitSegment(slate.init);
      assert.deepEqual([track.width, track.height, track.timescale], [
        640,
        360,
        encoding.timescale,
      ]);

      // A hole of 9.001 s in 5 pieces: each piece starts where the one before it ends.
      const pieces = [0, 1, 2, 3, 4].map((i) => slateSegment(slate, 9001, 5, i));
      let next = 0;
      for (const piece of pieces) {
        const media = parseMediaSegment(piece, track);
        assert.equal(media.baseMediaDecodeTime, next);
        assert.ok(media.startsWithKeyframe);
        next += media.durationInTimescale;
      }
      assert.equal(next, Math.round(9.001 * encoding.timescale));

      const whole = new Uint8Array(
        [slate.init, ...pieces].reduce((n, part) => n + part.length, 0),
      );
      let at = 0;
      for (const part of [slate.init, ...pieces]) {
        whole.set(part, at);
        at += part.length;
      }
      // mp4box.js, which nobody here wrote, reads the same fragments.
      const file = createFile();
      const buffer = whole.slice().buffer as ArrayBuffer & { fileStart: number };
      buffer.fileStart = 0;
      file.appendBuffer(buffer);
      file.flush();
      const info = file.getInfo();
      assert.equal(info.videoTracks[0].codec, slate.codec);
      const moofs = (file as unknown as { moofs: Array<{ mfhd: { sequence_number: number } }> })
        .moofs;
      assert.deepEqual(moofs.map((moof) => moof.mfhd.sequence_number), [1, 2, 3, 4, 5]);

      const decoded = await decode(whole);
      assert.equal(decoded.errors, "");
      // A piece made to play under a recording's init: at its decode time on the stretch, and
      // at least 25 frames however short (libavformat's DASH reader ends a stream at a segment
      // of 21 or fewer).
      const under = parseMediaSegment(
        slateSegment(slate, 600, 1, 0, { decodeTime: 123_456, compositionOffset: 1024 }),
        track,
      );
      assert.equal(under.baseMediaDecodeTime, 123_456);
      assert.equal(under.sampleCount, 25);
      assert.equal(under.durationInTimescale, Math.round(0.6 * encoding.timescale));
      // Each piece of 1.8 s: the keyframe and still frames at the slate's 25 fps.
      assert.equal(decoded.frames, 5 * 45);
      assert.equal(decoded.width, 640);
      assert.ok(Math.abs(decoded.seconds - 9.001) < 0.01, `${decoded.seconds} s`);
    }
    // Kept on disk: another Slates over the same folder reads it instead of making it again.
    const again = await new Slates({ dir, ffmpeg: "/nonexistent/ffmpeg" }).get(H264);
    assert.equal(again?.digest, (await slates.get(H264))!.digest);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("without ffmpeg there is no slate, and that is logged once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "motorcade-slates-" });
  try {
    const records: Array<Record<string, unknown>> = [];
    const logger = createLogger("info", (record) => records.push(record));
    const slates = new Slates({ dir, logger, ffmpeg: "/nonexistent/ffmpeg" });
    assert.equal(await slates.get(H264), undefined);
    assert.equal(await slates.get(H265), undefined);
    assert.equal(records.filter((r) => r.level === "warn").length, 1);
    assert.match(String(records[0].msg), /Cannot make slates/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("encoding keys name only encodings a slate can be made for", () => {
  assert.deepEqual(parseEncodingKey(encodingKey(H265)), H265);
  for (
    const key of [
      "vp09.00.10.08_640x360_90000",
      "avc1.64001f_0x360_90000",
      "avc1.64001f_8192x360_90000",
      "avc1.64001f_640x360_0",
      "avc1.64001f_640x360",
      "../avc1.64001f_640x360_90000",
    ]
  ) {
    assert.equal(parseEncodingKey(key), undefined, key);
  }
});
