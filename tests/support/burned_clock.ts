/**
 * Reads the clock the test-pattern camera burns into its pictures (`YYYY-MM-DD HH:MM:SS UTC
 * name`, drawn by ffmpeg's drawtext from the wall clock at the moment the frame is drawn), without
 * OCR: the digits are matched against references that ffmpeg renders with the very same drawtext
 * settings (font, size, position, opaque box) on a black picture. With a monospace font each digit
 * position keeps its own columns, so each digit is the reference closest to the frame there.
 */
import { ffmpegInput } from "../../vehicle/capture.ts";
import type { CameraConfig } from "../../vehicle/config.ts";

/** A decoded frame: its presentation time and the burned-in time of day it shows. */
export interface BurnedFrame {
  ptsS: number;
  /** Seconds since midnight UTC that the picture shows. */
  secondOfDay: number;
}

/** Text positions of H, H, M, M, S, S in `YYYY-MM-DD HH:MM:SS`. */
const DIGITS = [11, 12, 14, 15, 17, 18];

async function run(args: string[]): Promise<Deno.CommandOutput> {
  const output = await new Deno.Command("ffmpeg", {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  if (!output.success) {
    throw new Error(`ffmpeg ${args.join(" ")}: ${new TextDecoder().decode(output.stderr)}`);
  }
  return output;
}

/** Reads burned-in clocks of `camera`'s test pattern (drawn with `font`). */
export class BurnedClockReader {
  private constructor(
    private readonly crop: { x: number; y: number; w: number; h: number },
    /** Per digit position: its columns in the crop. */
    private readonly columns: Array<[number, number]>,
    /** Per digit value: the reference crop with that digit at every position. */
    private readonly references: Uint8Array[],
  ) {}

  /** Renders the references for `camera` (a `testsrc` camera) and `font`. */
  static async create(camera: CameraConfig, font: string): Promise<BurnedClockReader> {
    const { width, height } = camera.video;
    const size = Math.max(12, Math.round(height / 18));
    const crop = { x: 0, y: 0, w: Math.min(width, size * 16), h: Math.min(height, size * 3) };
    const work = await Deno.makeTempDir({ prefix: "motorcade-burned-" });
    try {
      const render = async (text: string) => {
        const file = `${work}/text-${crypto.randomUUID()}.txt`;
        await Deno.writeTextFile(file, text);
        const drawtext = ffmpegInput(camera, font).filter
          .replace(/text='[^']*'/, `textfile=${file}:expansion=none`);
        const output = await run([
          ...["-v", "error", "-f", "lavfi", "-i", `color=black:size=${width}x${height}:rate=1`],
          ...["-frames:v", "1", "-vf", `${drawtext},${cropFilter(crop)}`],
          ...["-f", "rawvideo", "-"],
        ]);
        return output.stdout;
      };
      const tail = ` UTC  ${camera.name}`;
      const references = await Promise.all(
        Array.from(
          { length: 10 },
          (_, d) => render(`dddd-dd-dd dd:dd:dd`.replaceAll("d", `${d}`) + tail),
        ),
      );
      const columns = await Promise.all(DIGITS.map(async (position) => {
        const text = Array.from("0000-00-00 00:00:00", (c, i) =>
          i === position ? "8" : c === ":" || c === "-" ? c : " ").join("") + tail;
        const only = await render(text);
        const blank = await render(
          Array.from("0000-00-00 00:00:00", (c) =>
            c === ":" || c === "-" ? c : " ").join("") +
            tail,
        );
        let first = crop.w;
        let last = -1;
        for (let y = 0; y < crop.h; y++) {
          for (let x = 0; x < crop.w; x++) {
            if (Math.abs(only[y * crop.w + x] - blank[y * crop.w + x]) > 40) {
              first = Math.min(first, x);
              last = Math.max(last, x);
            }
          }
        }
        if (last < 0) {
          throw new Error(`Cannot find digit position ${position} in the references`);
        }
        return [Math.max(0, first - 1), Math.min(crop.w, last + 2)] as [number, number];
      }));
      return new BurnedClockReader(crop, columns, references);
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  }

  /** Decodes every frame of a CMAF segment (`init` + `media`) and reads its clock. */
  async read(init: Uint8Array, media: Uint8Array): Promise<BurnedFrame[]> {
    const file = await Deno.makeTempFile({ prefix: "motorcade-segment-", suffix: ".mp4" });
    let output: Deno.CommandOutput;
    try {
      await Deno.writeFile(file, init);
      await Deno.writeFile(file, media, { append: true });
      output = await run([
        ...["-v", "info", "-nostats", "-i", file, "-an"],
        ...["-vf", `${cropFilter(this.crop)},showinfo`, "-fps_mode", "passthrough"],
        ...["-f", "rawvideo", "pipe:1"],
      ]);
    } finally {
      await Deno.remove(file);
    }
    const pts = [...new TextDecoder().decode(output.stderr).matchAll(/pts_time:\s*([-\d.]+)/g)]
      .map((m) => Number(m[1]));
    const frameBytes = this.crop.w * this.crop.h;
    const count = output.stdout.byteLength / frameBytes;
    if (count !== pts.length) throw new Error(`Decoded ${count} frames but ${pts.length} times`);
    return pts.map((ptsS, i) => {
      const frame = output.stdout.subarray(i * frameBytes, (i + 1) * frameBytes);
      const [h1, h2, m1, m2, s1, s2] = this.columns.map((columns) => this.#digit(frame, columns));
      return {
        ptsS,
        secondOfDay: (h1 * 10 + h2) * 3600 + (m1 * 10 + m2) * 60 + s1 * 10 + s2,
      };
    });
  }

  /** The reference digit closest to `frame` within `columns`. */
  #digit(frame: Uint8Array, [from, to]: [number, number]): number {
    let best = 0;
    let bestScore = Infinity;
    this.references.forEach((reference, digit) => {
      let score = 0;
      for (let y = 0; y < this.crop.h; y++) {
        const row = y * this.crop.w;
        for (let x = from; x < to; x++) score += Math.abs(frame[row + x] - reference[row + x]);
      }
      if (score < bestScore) [best, bestScore] = [digit, score];
    });
    return best;
  }
}

function cropFilter(crop: { x: number; y: number; w: number; h: number }): string {
  return `crop=${crop.w}:${crop.h}:${crop.x}:${crop.y},format=gray`;
}
