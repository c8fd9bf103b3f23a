/**
 * Ingest refuses media a player could not play back: each damaged init or segment is a 422 naming
 * what is wrong, nothing is stored, and the same key then takes the right bytes.
 */
import assert from "node:assert/strict";
import { enrolDevice } from "../support/device.ts";
import { contentDigest, makeCmaf } from "../support/media.ts";
import { makeFleet, startTestPlatform, type TestPlatform } from "../support/platform.ts";
import { makeCmaf as makeCmafFiles, run } from "../media/cmaf_fixture.ts";

const cmaf = await makeCmaf({ seconds: 4 });
const segment = cmaf.segments[0].bytes;
const h265Segment = await (async () => {
  await using files = await makeCmafFiles({ seconds: 2, codec: "h265" });
  return await Deno.readFile(files.segments[0]);
})();
const ts = await (async () => {
  const dir = await Deno.makeTempDir();
  try {
    // deno-fmt-ignore
    await run("ffmpeg", [
      "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25", "-t", "1",
      "-c:v", "libx264", "-f", "mpegts", `${dir}/clip.ts`,
    ]);
    return await Deno.readFile(`${dir}/clip.ts`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
})();

/** Offset of the first box of `type` (its size field), searched as bytes. */
function boxAt(bytes: Uint8Array, type: string): number {
  const code = new TextEncoder().encode(type);
  for (let i = 4; i + 4 <= bytes.length; i++) {
    if (code.every((c, j) => bytes[i + j] === c)) return i - 4;
  }
  throw new Error(`No "${type}" box`);
}

const garbage = (n: number) => new Uint8Array(n).map((_, i) => (i * 37 + 11) % 256);
const join = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((part) => [...part]));

/** The segment with its mdat 1000 bytes shorter: boxes that tile, samples that overflow. */
function shortMdat(): Uint8Array {
  const bytes = segment.slice();
  const view = new DataView(bytes.buffer);
  const mdat = boxAt(bytes, "mdat");
  view.setUint32(mdat, view.getUint32(mdat) - 1000);
  return bytes.subarray(0, bytes.length - 1000);
}

/** The segment with its track fragment saying track 2 (the init segment has track 1). */
function otherTrack(): Uint8Array {
  const bytes = segment.slice();
  new DataView(bytes.buffer).setUint32(boxAt(bytes, "tfhd") + 12, 2);
  return bytes;
}

interface Setup {
  platform: TestPlatform;
  token: string;
  base: string;
  prefix: string;
}

async function setUp(platform: TestPlatform): Promise<Setup> {
  const fleet = await makeFleet(platform, "Acme");
  const device = await enrolDevice(platform, fleet.enrolmentCode);
  return {
    platform,
    token: device.token,
    base: `/api/v1/ingest/vehicles/${fleet.vehicleId}/cameras/front/recordings`,
    prefix: `fleets/${fleet.fleetId}/vehicles/${fleet.vehicleId}/cameras/${fleet.cameraId}/`,
  };
}

async function put(
  { platform, token, base }: Setup,
  path: string,
  body: Uint8Array,
  sequence = 0,
  digestOf = body,
) {
  const headers: Record<string, string> = {
    "content-type": path.endsWith("/init") ? "video/mp4" : "video/iso.segment",
    "content-digest": await contentDigest(digestOf),
  };
  if (!path.endsWith("/init")) {
    headers["motorcade-segment-start"] = new Date(Date.now() - 60_000 + sequence * 2000)
      .toISOString();
    headers["motorcade-segment-duration"] = "2.000";
  }
  return await platform.call("PUT", `${base}/${path}`, { token, body: body as BodyInit, headers });
}

/** PUTs `bad`: a 422 whose detail matches, nothing stored; then `good` under the key is a 201. */
async function refusedThenStored(
  setup: Setup,
  path: string,
  key: string,
  bad: Uint8Array,
  detail: RegExp,
  good: Uint8Array,
) {
  const sequence = Number(path.split("/").at(-1)) || 0;
  const refused = await put(setup, path, bad, sequence);
  const text = await refused.text();
  assert.equal(refused.status, 422, `${path}: ${text}`);
  assert.equal(refused.headers.get("content-type"), "application/problem+json");
  const problem = JSON.parse(text);
  assert.equal(problem.code, "invalid_media");
  assert.match(problem.detail, detail, `${path}: ${problem.detail}`);
  assert.equal(await setup.platform.store.head(setup.prefix + key), undefined, `${key} stored`);
  const stored = await put(setup, path, good, sequence);
  assert.equal(stored.status, 201, `${path} then: ${await stored.text()}`);
}

Deno.test("ingest refuses an init segment of ftyp and garbage, stores nothing, then takes the real one", async () => {
  await using platform = await startTestPlatform();
  const setup = await setUp(platform);
  const ftyp = cmaf.init.subarray(0, new DataView(cmaf.init.buffer).getUint32(0));
  for (
    const [bad, detail] of [
      [
        join(ftyp, garbage(800)),
        /^Cannot accept the init segment of recording "r1": cannot read box/,
      ],
      [cmaf.init.subarray(0, cmaf.init.length - 30), /"moov".*does not fit/],
      [ftyp, /cannot find box "moov" in init segment/],
    ] as const
  ) {
    const refused = await put(setup, "r1/init", bad);
    assert.equal(refused.status, 422, await refused.clone().text());
    assert.match((await refused.json()).detail, detail);
    assert.equal(await platform.store.head(`${setup.prefix}r1/init.mp4`), undefined);
  }
  const stored = await put(setup, "r1/init", cmaf.init);
  assert.equal(stored.status, 201, await stored.text());
});

Deno.test("ingest refuses broken media segments with a 422 naming the fault, and stores nothing", async () => {
  await using platform = await startTestPlatform();
  const setup = await setUp(platform);
  const styp = segment.subarray(0, 24);
  assert.equal(new TextDecoder().decode(styp.subarray(4, 8)), "styp");
  const trunCount = new DataView(segment.buffer, segment.byteOffset).getUint32(
    boxAt(segment, "trun") + 12,
  );
  const structural: Array<[Uint8Array, RegExp]> = [
    [join(styp, garbage(4000)), /^Cannot accept segment "\d+": cannot read box at byte 24/],
    [segment.subarray(0, segment.length - 100), /box "mdat".*does not fit/],
    [join(segment, garbage(20)), new RegExp(`box at byte ${segment.length} of media segment`)],
    [
      shortMdat(),
      new RegExp(`box "trun" says ${trunCount} samples of \\d+ bytes but "mdat" holds \\d+`),
    ],
  ];
  // Without an init segment stored yet, each segment is checked on its own.
  let sequence = 0;
  for (const [bad, detail] of structural) {
    const key = `r0/${String(sequence).padStart(10, "0")}.m4s`;
    await refusedThenStored(setup, `r0/segments/${sequence++}`, key, bad, detail, segment);
  }

  // With the recording's H.264 init stored, a segment must be of its track and codec.
  assert.equal((await put(setup, "r1/init", cmaf.init)).status, 201);
  for (
    const [bad, detail] of [
      ...structural,
      [otherTrack(), /fragments are of track 2, not track 1 of the recording's init segment/],
      [h265Segment, /first sample is not H\.264 as the recording's init segment \("avc1\./],
    ] as const
  ) {
    const key = `r1/${String(sequence).padStart(10, "0")}.m4s`;
    await refusedThenStored(setup, `r1/segments/${sequence++}`, key, bad, detail, segment);
  }
});

Deno.test("ingest refuses MPEG-TS that is not whole packets on the sync byte", async () => {
  await using platform = await startTestPlatform();
  const setup = await setUp(platform);
  const badSync = ts.slice();
  badSync[188 * 9] = 0x00; // past the three packets sniffed
  const cases: Array<[Uint8Array, RegExp]> = [
    [
      badSync,
      /^Cannot accept segment "\d": packet 10 \(byte 1692\) does not open on the sync byte/,
    ],
    [ts.subarray(0, ts.length - 100), /bytes are not whole 188-byte packets/],
  ];
  for (const [i, [bad, detail]] of cases.entries()) {
    const key = `r1/${String(i).padStart(10, "0")}.ts`;
    await refusedThenStored(setup, `r1/segments/${i}`, key, bad, detail, ts);
  }
});

Deno.test("ingest calls damaged bytes a digest mismatch, not bad media", async () => {
  await using platform = await startTestPlatform();
  const setup = await setUp(platform);
  // Cut in transit: the bytes are not those the vehicle hashed, so it is not the media's fault.
  const response = await put(setup, "r1/segments/0", segment.subarray(0, 5000), 0, segment);
  assert.equal(response.status, 400);
  assert.match((await response.json()).detail, /Content-Digest does not match the body/);
});

Deno.test("ingest refuses an upload with 503 and Retry-After while others hold its buffer budget", async () => {
  await using platform = await startTestPlatform({
    INGEST_BUFFER_BYTES: String(segment.byteLength + 1000),
  });
  const setup = await setUp(platform);
  assert.equal((await put(setup, "r9/init", cmaf.init)).status, 201);
  // A slow upload declares its size and sends half: it holds its reservation meanwhile.
  let resume!: () => void;
  const held = new Promise<void>((resolve) => resume = resolve);
  const slow = new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(segment.subarray(0, segment.byteLength >> 1));
      await held;
      controller.enqueue(segment.subarray(segment.byteLength >> 1));
      controller.close();
    },
  });
  const slowResponse = platform.call("PUT", `${setup.base}/r9/segments/0`, {
    token: setup.token,
    body: slow,
    headers: {
      "content-type": "video/iso.segment",
      "content-length": String(segment.byteLength),
      "content-digest": await contentDigest(segment),
      "motorcade-segment-start": new Date(Date.now() - 60_000).toISOString(),
      "motorcade-segment-duration": "2.000",
    },
  });
  await new Promise((resolve) => setTimeout(resolve, 300));
  const refused = await put(setup, "r9/segments/1", segment, 1);
  assert.equal(refused.status, 503, await refused.clone().text());
  assert.equal(refused.headers.get("retry-after"), "1");
  assert.match((await refused.json()).detail, /ingest buffers are in use/);
  resume();
  assert.equal((await slowResponse).status, 201);
  const retried = await put(setup, "r9/segments/1", segment, 1);
  assert.equal(retried.status, 201, await retried.text());
});
