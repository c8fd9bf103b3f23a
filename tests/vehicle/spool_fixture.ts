/** Real CMAF files laid out as ffmpeg leaves them in a capture folder, for spool and uploader tests. */
import { type CmafFixture, makeCmaf } from "../support/media.ts";

/** Wall clock of segment 0 in the playlists written here. */
export const T0 = Date.parse("2026-11-24T10:00:00.000Z");

let cmaf: Promise<CmafFixture> | undefined;
/** Four real 2-second CMAF segments and their init, made once per test file. */
export function material(): Promise<CmafFixture> {
  return cmaf ??= makeCmaf({ seconds: 8 });
}

/** ffmpeg's name of segment `n`. */
export const segmentName = (n: number) => `${String(n).padStart(10, "0")}.m4s`;

/** A playlist as ffmpeg writes it, listing `sequences` 2 s apart from `t0`. */
export function playlistText(
  sequences: number[],
  options: { ended?: boolean; t0?: number } = {},
): string {
  const t0 = options.t0 ?? T0;
  const lines = [
    "#EXTM3U",
    "#EXT-X-VERSION:7",
    "#EXT-X-TARGETDURATION:2",
    `#EXT-X-MEDIA-SEQUENCE:${sequences[0] ?? 0}`,
    "#EXT-X-INDEPENDENT-SEGMENTS",
    '#EXT-X-MAP:URI="init.mp4"',
  ];
  for (const n of sequences) {
    const pdt = new Date(t0 + n * 2000).toISOString().replace("Z", "+0000");
    lines.push("#EXTINF:2.000000,", `#EXT-X-PROGRAM-DATE-TIME:${pdt}`, segmentName(n));
  }
  if (options.ended) lines.push("#EXT-X-ENDLIST");
  return lines.join("\n") + "\n";
}

/** Writes the init and segments `sequences` (all the same size) into `dir`. */
export async function writeSegments(dir: string, sequences: number[]): Promise<void> {
  const { init, segments } = await material();
  await Deno.writeFile(`${dir}/init.mp4`, init);
  for (const n of sequences) await Deno.writeFile(`${dir}/${segmentName(n)}`, segments[1].bytes);
}
