/**
 * Draws the app's icons (PNG, 192 and 512 px, and a maskable 512 px whose mark stays in the safe
 * circle) into `static/`: a camera lens on the theme colour. Run after changing the design:
 * `deno run --allow-write scripts/icons.ts`.
 */
const THEME = [0x15, 0x1b, 0x2b];
const RING = [0xa9, 0xc3, 0xff];
const LENS = [0x1f, 0x5f, 0xd6];
const DOT = [0xd9, 0x2d, 0x20];

/** RGBA pixels of the icon at `size`; `scale` shrinks the mark (maskable icons keep a margin). */
function draw(size: number, scale: number, rounded: boolean): Uint8Array {
  const pixels = new Uint8Array(size * size * 4);
  const c = size / 2;
  const radius = (f: number) => f * size * scale / 2;
  const corner = size * 0.18;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = (y * size + x) * 4;
      const px = x + 0.5, py = y + 0.5;
      // Rounded square background (the maskable icon fills the square).
      const dx = Math.max(corner - px, px - (size - corner), 0);
      const dy = Math.max(corner - py, py - (size - corner), 0);
      const inside = !rounded || dx * dx + dy * dy <= corner * corner;
      if (!inside) continue;
      let colour = THEME;
      const d = Math.hypot(px - c, py - c);
      if (d <= radius(0.78) && d >= radius(0.6)) colour = RING;
      else if (d < radius(0.6) && d >= radius(0.5)) colour = THEME;
      else if (d < radius(0.5)) colour = LENS;
      const rec = Math.hypot(px - (c + radius(0.62)), py - (c - radius(0.62)));
      if (rec <= radius(0.17)) colour = DOT;
      pixels.set([...colour, 255], i);
    }
  }
  return pixels;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, body.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(body, 8);
  view.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)));
  return out;
}

/** Encodes RGBA pixels as a PNG (no filtering, zlib-deflated). */
async function png(pixels: Uint8Array, size: number): Promise<Uint8Array> {
  const raw = new Uint8Array(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    raw.set(pixels.subarray(y * size * 4, (y + 1) * size * 4), y * (size * 4 + 1) + 1);
  }
  const deflated = new Uint8Array(
    await new Response(new Blob([raw]).stream().pipeThrough(new CompressionStream("deflate")))
      .arrayBuffer(),
  );
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, size);
  view.setUint32(4, size);
  header.set([8, 6, 0, 0, 0], 8);
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflated),
    chunk("IEND", new Uint8Array()),
  ];
  return new Uint8Array(await new Blob(parts as BlobPart[]).arrayBuffer());
}

const dir = new URL("../static/", import.meta.url);
for (
  const [name, size, scale, rounded] of [
    ["icon-192.png", 192, 1, true],
    ["icon-512.png", 512, 1, true],
    ["icon-maskable-512.png", 512, 0.72, false],
  ] as const
) {
  await Deno.writeFile(new URL(name, dir), await png(draw(size, scale, rounded), size));
}
