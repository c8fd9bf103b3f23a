/**
 * The checks ingest runs before storing media: real ffmpeg CMAF passes, and each kind of damage a
 * player would trip on is refused with a message naming it.
 */
import assert from "node:assert/strict";
import {
  checkMediaSegment,
  checkTransportStream,
  MediaFormatError,
  parseInitSegment,
} from "../../lib/media/mod.ts";
import { makeCmaf, run } from "./cmaf_fixture.ts";

/** An init segment and its first two media segments, as bytes. */
async function cmafBytes(codec: "h264" | "h265") {
  await using cmaf = await makeCmaf({ seconds: 4, codec });
  return {
    init: await Deno.readFile(cmaf.init),
    segments: await Promise.all(cmaf.segments.map((path) => Deno.readFile(path))),
  };
}

const h264 = await cmafBytes("h264");
const h265 = await cmafBytes("h265");
const h264Init = parseInitSegment(h264.init);
const h265Init = parseInitSegment(h265.init);

/** Offset of the first box of `type` (its size field), searched as bytes. */
function boxAt(bytes: Uint8Array, type: string): number {
  const code = new TextEncoder().encode(type);
  for (let i = 4; i + 4 <= bytes.length; i++) {
    if (code.every((c, j) => bytes[i + j] === c)) return i - 4;
  }
  throw new Error(`No "${type}" box`);
}

function refuses(bytes: Uint8Array, pattern: RegExp, init = h264Init) {
  assert.throws(
    () => checkMediaSegment(bytes, init),
    (error: Error) => {
      assert.ok(error instanceof MediaFormatError, String(error));
      assert.match(error.message, pattern);
      return true;
    },
  );
}

Deno.test("real ffmpeg CMAF passes the media checks, with its init segment and without", () => {
  for (const segment of [...h264.segments, ...h265.segments]) checkMediaSegment(segment);
  for (const segment of h264.segments) checkMediaSegment(segment, h264Init);
  for (const segment of h265.segments) checkMediaSegment(segment, h265Init);
  assert.equal(h264Init.nalLengthSize, 4);
  assert.equal(h265Init.nalLengthSize, 4);
  assert.ok(h264Init.codec.startsWith("avc1.") && h265Init.codec.startsWith("hvc1."));
});

Deno.test("media check refuses a truncated segment and garbage after its last box", () => {
  const segment = h264.segments[0];
  for (const init of [h264Init, undefined]) {
    refuses(segment.subarray(0, segment.length - 10), /"mdat".*does not fit/, init);
    refuses(segment.subarray(0, 30), /at byte 24.*(truncated|does not fit)/, init);
    const junk = Uint8Array.from([...segment, ...new TextEncoder().encode("garbage bytes!")]);
    refuses(junk, new RegExp(`at byte ${segment.length}`), init);
  }
});

Deno.test("media check refuses a styp followed by garbage", () => {
  const styp = h264.segments[0].subarray(0, 24);
  assert.equal(new TextDecoder().decode(styp.subarray(4, 8)), "styp");
  const garbage = new Uint8Array(4000).map((_, i) => (i * 37 + 11) % 256);
  for (const init of [h264Init, undefined]) {
    refuses(Uint8Array.from([...styp, ...garbage]), /box at byte 24 of media segment/, init);
    refuses(styp, /no "moof" box/, init);
  }
});

Deno.test("media check refuses samples that do not fit their mdat, and names the numbers", () => {
  const segment = h264.segments[0].slice();
  const view = new DataView(segment.buffer);
  // Shrink mdat by 1000 bytes and cut them off: the boxes still tile, the samples overflow.
  const mdat = boxAt(segment, "mdat");
  view.setUint32(mdat, view.getUint32(mdat) - 1000);
  const cut = segment.subarray(0, segment.length - 1000);
  const trun = boxAt(cut, "trun");
  const count = view.getUint32(trun + 12);
  for (const init of [h264Init, undefined]) {
    refuses(
      cut,
      new RegExp(`box "trun" says ${count} samples of \\d+ bytes but "mdat" holds \\d+`),
      init,
    );
  }

  // A data offset pointing past the mdat.
  const moved = h264.segments[0].slice();
  const movedView = new DataView(moved.buffer);
  const trunFlags = movedView.getUint32(boxAt(moved, "trun") + 8) & 0xffffff;
  assert.ok(trunFlags & 0x1, "ffmpeg writes a data offset");
  movedView.setInt32(boxAt(moved, "trun") + 16, moved.length + 100);
  refuses(moved, /puts its samples at byte \d+, outside "mdat"/);
});

Deno.test("media check refuses a fragment without the boxes a player reads", () => {
  for (
    const [type, message] of [
      ["tfdt", /Cannot find box "tfdt"/],
      ["trun", /has no "trun"/],
      ["mfhd", /Cannot find box "mfhd"/],
    ] as const
  ) {
    const segment = h264.segments[0].slice();
    segment.set(new TextEncoder().encode("free"), boxAt(segment, type) + 4);
    refuses(segment, message);
  }
});

Deno.test("media check refuses another track or another codec than the recording's init", () => {
  const segment = h264.segments[0].slice();
  const tfhd = boxAt(segment, "tfhd");
  new DataView(segment.buffer).setUint32(tfhd + 12, 2);
  refuses(segment, /fragments are of track 2, not track 1 of the recording's init segment/);
  checkMediaSegment(segment); // on its own, track 2 is as good as 1

  refuses(h265.segments[0], /first sample is not H\.264 as the recording's init segment/);
  refuses(h265.segments[1], /not H\.264/);
  refuses(h264.segments[0], /first sample is not H\.265/, h265Init);
  refuses(h264.segments[1], /not H\.265/, h265Init);
});

Deno.test("media check refuses a sample whose NAL unit lengths overrun it", () => {
  const segment = h264.segments[1].slice();
  const view = new DataView(segment.buffer);
  const trun = boxAt(segment, "trun");
  const flags = view.getUint32(trun + 8) & 0xffffff;
  const dataOffset = view.getInt32(trun + 16);
  const moof = boxAt(segment, "moof");
  assert.ok(flags & 0x1);
  const firstNal = moof + dataOffset;
  view.setUint32(firstNal, view.getUint32(firstNal) + 5000);
  refuses(segment, /sample 1 of track 1 has a NAL unit of \d+ bytes where \d+ remain/);
});

Deno.test("init check refuses an ftyp followed by garbage, a truncated moov and bytes after it", () => {
  const ftyp = h264.init.subarray(0, new DataView(h264.init.buffer).getUint32(0));
  const garbage = new Uint8Array(600).map((_, i) => (i * 91 + 7) % 256);
  assert.throws(() => parseInitSegment(Uint8Array.from([...ftyp, ...garbage])), MediaFormatError);
  assert.throws(
    () => parseInitSegment(h264.init.subarray(0, h264.init.length - 40)),
    /"moov".*does not fit/,
  );
  assert.throws(
    () => parseInitSegment(Uint8Array.from([...h264.init, 0, 0, 0])),
    /truncated/,
  );
});

Deno.test("transport stream check wants whole packets, each on the sync byte", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // deno-fmt-ignore
    await run("ffmpeg", [
      "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25", "-t", "1",
      "-c:v", "libx264", "-f", "mpegts", `${dir}/clip.ts`,
    ]);
    const ts = await Deno.readFile(`${dir}/clip.ts`);
    checkTransportStream(ts);
    assert.throws(() => checkTransportStream(ts.subarray(0, ts.length - 7)), /not whole 188-byte/);
    const bad = ts.slice();
    bad[188 * 3] = 0x48;
    assert.throws(() => checkTransportStream(bad), /packet 4 \(byte 564\) does not open/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
