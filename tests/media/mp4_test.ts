import assert from "node:assert/strict";
import {
  frameRate,
  MediaFormatError,
  parseInitSegment,
  parseMediaSegment,
  sniffMediaType,
} from "../../lib/media/mod.ts";
import { makeCmaf, run } from "./cmaf_fixture.ts";

/** ffprobe's JSON for `file`, with the given extra arguments. */
async function ffprobe(file: string, ...args: string[]) {
  return JSON.parse(await run("ffprobe", ["-v", "error", "-of", "json", ...args, file]));
}

/** The bytes of ffprobe's `-show_data` hex dump. */
function hexDump(dump: string): Uint8Array {
  const hex = dump.split("\n").map((line) => line.slice(10, 50).replaceAll(" ", "")).join("");
  return Uint8Array.from(hex.match(/../g)!, (pair) => parseInt(pair, 16));
}

Deno.test("init segment info matches ffprobe for ffmpeg-made H.264 CMAF", async () => {
  await using cmaf = await makeCmaf();
  const initBytes = await Deno.readFile(cmaf.init);
  const init = parseInitSegment(initBytes);
  // ffprobe states profile and level only once it has seen a frame.
  const joined = `${cmaf.dir}/joined.mp4`;
  await Deno.writeFile(joined, concat(initBytes, await Deno.readFile(cmaf.segments[0])));
  const [stream] = (await ffprobe(joined, "-show_streams", "-show_data")).streams;
  const avcC = hexDump(stream.extradata);
  const hex = (byte: number) => byte.toString(16).padStart(2, "0");
  assert.equal(init.codec, `avc1.${hex(avcC[1])}${hex(avcC[2])}${hex(avcC[3])}`);
  assert.equal(stream.codec_tag_string, "avc1");
  assert.equal(avcC[1], 0x64); // High, as ffprobe says
  assert.equal(stream.profile, "High");
  assert.equal(avcC[3], stream.level);
  assert.equal(init.width, stream.width);
  assert.equal(init.height, stream.height);
  assert.equal(`1/${init.timescale}`, stream.time_base);
  assert.equal(init.trackId, Number(stream.id));
});

Deno.test("media segment timing and keyframes match ffprobe's packets", async () => {
  await using cmaf = await makeCmaf();
  const initBytes = await Deno.readFile(cmaf.init);
  const init = parseInitSegment(initBytes);
  assert.equal(cmaf.segments.length, 3);
  let expectedStart = 0;
  for (const path of cmaf.segments) {
    const segment = await Deno.readFile(path);
    const info = parseMediaSegment(segment, init);
    // ffprobe reads a media segment only behind its init segment.
    const joined = `${path}.joined.mp4`;
    await Deno.writeFile(joined, concat(initBytes, segment));
    const { packets } = await ffprobe(joined, "-show_packets");
    assert.equal(info.sampleCount, packets.length);
    const dts = packets.map((p: { dts_time: string }) => Math.round(Number(p.dts_time) * 12800));
    assert.equal(info.baseMediaDecodeTime, Math.min(...dts));
    assert.equal(
      info.durationInTimescale,
      packets.reduce((sum: number, p: { duration: string }) => sum + Number(p.duration), 0),
    );
    assert.equal(info.startsWithKeyframe, packets[0].flags.startsWith("K"));
    assert.equal(info.startsWithKeyframe, true);
    assert.equal(info.baseMediaDecodeTime, expectedStart);
    expectedStart += info.durationInTimescale;
    assert.equal(frameRate(info.sampleCount, info.durationInTimescale, init.timescale), "25");
  }
});

Deno.test("a segment cut off a keyframe says it does not start with one", async () => {
  await using cmaf = await makeCmaf({ seconds: 2 });
  const init = parseInitSegment(await Deno.readFile(cmaf.init));
  const bytes = await Deno.readFile(cmaf.segments[0]);
  // Rewrite trun's first_sample_flags to a non-sync, dependent sample.
  const trun = indexOf(bytes, "trun");
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  const flags = view.getUint32(trun + 8) & 0xffffff; // after size, type
  assert.ok(flags & 0x4, "ffmpeg writes first_sample_flags");
  const firstFlagsAt = trun + 16 + (flags & 0x1 ? 4 : 0); // after sample_count, data_offset
  view.setUint32(firstFlagsAt, 0x01010000);
  assert.equal(parseMediaSegment(bytes, init).startsWithKeyframe, false);
});

Deno.test("init segment info matches ffprobe for H.265 (hvc1)", async () => {
  await using cmaf = await makeCmaf({ seconds: 2, codec: "h265" });
  const initBytes = await Deno.readFile(cmaf.init);
  const init = parseInitSegment(initBytes);
  const joined = `${cmaf.dir}/joined.mp4`;
  await Deno.writeFile(joined, concat(initBytes, await Deno.readFile(cmaf.segments[0])));
  const [stream] = (await ffprobe(joined, "-show_streams")).streams;
  assert.equal(stream.codec_tag_string, "hvc1");
  assert.equal(stream.profile, "Main");
  // Main profile (1), compatible with Main and Main 10 (flags 1 and 2, bit-reversed: 6).
  assert.match(init.codec, new RegExp(`^hvc1\\.1\\.6\\.L${stream.level}(\\.[0-9A-F]{2})*$`));
  assert.equal(init.width, 640);
  assert.equal(init.height, 360);
  const info = parseMediaSegment(await Deno.readFile(cmaf.segments[0]), init);
  assert.equal(info.startsWithKeyframe, true);
  assert.equal(info.baseMediaDecodeTime, 0);
});

Deno.test("sniffing tells fMP4 from MPEG-TS from anything else", async () => {
  await using cmaf = await makeCmaf({ seconds: 2 });
  assert.equal(sniffMediaType(await Deno.readFile(cmaf.init)), "fmp4"); // ftyp
  assert.equal(sniffMediaType(await Deno.readFile(cmaf.segments[0])), "fmp4"); // styp
  const ts = `${cmaf.dir}/clip.ts`;
  // deno-fmt-ignore
  await run("ffmpeg", [
    "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25", "-t", "1",
    "-c:v", "libx264", "-f", "mpegts", ts,
  ]);
  const tsBytes = await Deno.readFile(ts);
  assert.equal(sniffMediaType(tsBytes), "mpegts");
  assert.equal(sniffMediaType(tsBytes.subarray(0, 188)), "mpegts");
  assert.equal(sniffMediaType(tsBytes.subarray(0, 300)), "mpegts");

  const box = (size: number, type: string) => {
    const bytes = new Uint8Array(Math.max(size, 8));
    new DataView(bytes.buffer).setUint32(0, size);
    bytes.set(new TextEncoder().encode(type), 4);
    return bytes;
  };
  assert.equal(sniffMediaType(box(24, "moof")), "fmp4");
  assert.equal(sniffMediaType(box(24, "mdat")), undefined); // cannot open a segment
  assert.equal(sniffMediaType(box(4, "moof")), undefined); // smaller than its header
  assert.equal(sniffMediaType(box(9000, "ftyp")), undefined); // no brand list is that long
  assert.equal(sniffMediaType(new TextEncoder().encode("G")), undefined);
  assert.equal(sniffMediaType(new TextEncoder().encode("<html>hello</html>")), undefined);
  assert.equal(sniffMediaType(new Uint8Array(0)), undefined);
  const fakeTs = new Uint8Array(400).fill(0x47);
  fakeTs[376] = 0;
  assert.equal(sniffMediaType(fakeTs), undefined);
});

Deno.test("parsers reject what is not a CMAF init or media segment, saying why", async () => {
  await using cmaf = await makeCmaf({ seconds: 2 });
  const init = await Deno.readFile(cmaf.init);
  const segment = await Deno.readFile(cmaf.segments[0]);
  assert.throws(() => parseInitSegment(init.subarray(0, 100)), MediaFormatError);
  assert.throws(() => parseInitSegment(segment), /Cannot find box "moov"/);
  assert.throws(() => parseMediaSegment(init), /no "moof" box/);
  assert.throws(() => parseMediaSegment(segment.subarray(0, segment.length - 10)), /truncated|fit/);
  assert.throws(() => parseMediaSegment(segment, { ...parseInitSegment(init), trackId: 7 }), /7/);

  const progressive = `${cmaf.dir}/progressive.mp4`;
  // deno-fmt-ignore
  await run("ffmpeg", [
    "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25", "-t", "1",
    "-c:v", "libx264", progressive,
  ]);
  assert.throws(
    () => parseInitSegment(Deno.readFileSync(progressive)),
    (error: Error) => error instanceof MediaFormatError && /mvex/.test(error.message),
  );
});

Deno.test("frame rates reduce to integers or fractions", () => {
  assert.equal(frameRate(50, 25600, 12800), "25");
  assert.equal(frameRate(60, 60060, 30000), "30000/1001");
  assert.throws(() => frameRate(0, 100, 1000), RangeError);
});

function indexOf(bytes: Uint8Array, type: string): number {
  const code = new TextEncoder().encode(type);
  for (let i = 4; i < bytes.length - 4; i++) {
    if (code.every((c, j) => bytes[i + j] === c)) return i - 4;
  }
  throw new Error(`No "${type}" box`);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}
