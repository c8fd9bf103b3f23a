/**
 * Slates, made once per encoding and kept: in memory (the most recently used), and as files in a
 * folder of the platform's data directory, so a restart does not make them again. ffmpeg (which
 * the live ladder already needs) draws each; when it is missing or fails, there is no slate and
 * playlists describe holes as they did before filler existed (logged once).
 */
import { writeFailureOf, type WriteFailureSink } from "../disk/mod.ts";
import type { Logger } from "../log/mod.ts";
import { readLines } from "../process/mod.ts";
import { encodingKey, parseEncodingKey, slateArguments, type SlateEncoding } from "./encoding.ts";
import { readSlate, type Slate } from "./fragment.ts";

/** Options of {@linkcode Slates}. */
export interface SlatesOptions {
  /** Folder the slates are kept in (created when first needed). */
  dir: string;
  logger?: Logger;
  /** The ffmpeg executable; default `ffmpeg` on the PATH. */
  ffmpeg?: string;
  /** Slates kept in memory; default 64. */
  maxInMemory?: number;
  /** Slate files kept on disk (the least recently made go first); default 256. */
  maxOnDisk?: number;
  /** Words drawn on the slate; default "No video from vehicle". */
  text?: string;
  /** Font file for the words; default DejaVu Sans when installed, else a black slate. */
  fontFile?: string;
  /** Told when the folder refuses writes (a full disk); such a failure is retried in 10 s. */
  disk?: WriteFailureSink;
}

const DEFAULT_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
/** Version of the slate files: files of another are made anew. */
const FORMAT = "v3";
/** How long a failure to make a slate is remembered before trying again. */
const RETRY_MS = 5 * 60_000;
/** How long a failure to write a slate (a full disk) is remembered before trying again. */
const STORAGE_RETRY_MS = 10_000;

/**
 * The slates of every encoding recordings use.
 *
 * @example
 * const slates = new Slates({ dir: `${config.dataDir}/slates`, logger });
 * const slate = await slates.get({ codec: "avc1.64001f", width: 1280, height: 720, timescale: 90000 });
 */
export class Slates {
  readonly #memory = new Map<string, { slate: Promise<Slate | undefined> }>();
  /** The slate being made: one ffmpeg at a time, however many encoding keys are asked for. */
  #making: Promise<unknown> = Promise.resolve();
  #warned = false;
  /** Encoding keys whose last failure was the storage's: tried again sooner. */
  readonly #storageFailed = new Set<string>();

  constructor(private readonly options: SlatesOptions) {}

  /** The slate of `encoding`, made now if it was never made; undefined when it cannot be. */
  get(encoding: SlateEncoding): Promise<Slate | undefined> {
    return this.byKey(encodingKey(encoding));
  }

  /** The slate an encoding key names (see `encodingKey`); undefined when it names none. */
  byKey(key: string): Promise<Slate | undefined> {
    const encoding = parseEncodingKey(key);
    if (!encoding) return Promise.resolve(undefined);
    const kept = this.#memory.get(key);
    if (kept) {
      this.#memory.delete(key); // most recently used last
      this.#memory.set(key, kept);
      return kept.slate;
    }
    const slate = this.#making.then(() => this.#load(key, encoding));
    this.#making = slate;
    slate.then((slate) => {
      if (slate) return;
      const storage = this.#storageFailed.delete(key);
      const timer = setTimeout(() => this.#forget(key), storage ? STORAGE_RETRY_MS : RETRY_MS);
      Deno.unrefTimer(timer);
    });
    this.#memory.set(key, { slate });
    while (this.#memory.size > (this.options.maxInMemory ?? 64)) {
      this.#memory.delete(this.#memory.keys().next().value!);
    }
    return slate;
  }

  #forget(key: string) {
    this.#memory.delete(key);
  }

  async #load(key: string, encoding: SlateEncoding): Promise<Slate | undefined> {
    const file = `${this.options.dir}/${key}.${FORMAT}.mp4`;
    try {
      return await readSlate(key, await Deno.readFile(file));
    } catch {
      // not made yet, or unreadable: make it (again)
    }
    try {
      await Deno.mkdir(this.options.dir, { recursive: true });
      const temporary = `${file}.${crypto.randomUUID()}.tmp`;
      const font = await this.#font();
      const child = new Deno.Command(this.options.ffmpeg ?? "ffmpeg", {
        args: slateArguments(encoding, temporary, font),
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
      const errors: string[] = [];
      await readLines(child.stderr, (line) => errors.length < 20 && errors.push(line));
      const status = await child.status;
      if (!status.success) {
        await Deno.remove(temporary).catch(() => {});
        throw new Error(`ffmpeg exited with ${status.code}: ${errors.join(" | ")}`);
      }
      const slate = await readSlate(key, await Deno.readFile(temporary));
      await Deno.rename(temporary, file);
      await this.#prune();
      this.options.logger?.info("made a slate for holes in recordings", { encoding: key });
      return slate;
    } catch (error) {
      if (this.options.disk?.report("slates", error) ?? writeFailureOf(error)) {
        this.#storageFailed.add(key);
        return undefined;
      }
      if (!this.#warned) {
        this.#warned = true;
        this.options.logger?.warn(
          "Cannot make slates for holes in recordings: playlists mark holes as gaps instead",
          { encoding: key, error },
        );
      }
      return undefined;
    }
  }

  async #font(): Promise<{ file: string; text: string } | undefined> {
    const file = this.options.fontFile ?? DEFAULT_FONT;
    try {
      await Deno.stat(file);
      return { file, text: this.options.text ?? "No video from vehicle" };
    } catch {
      return undefined;
    }
  }

  /** Removes the oldest slate files beyond `maxOnDisk`. */
  async #prune() {
    const files: Array<{ path: string; at: number }> = [];
    for await (const entry of Deno.readDir(this.options.dir)) {
      if (!entry.isFile || !entry.name.endsWith(".mp4")) continue;
      const path = `${this.options.dir}/${entry.name}`;
      const info = await Deno.stat(path).catch(() => undefined);
      files.push({ path, at: info?.mtime?.getTime() ?? 0 });
    }
    files.sort((a, b) => a.at - b.at);
    for (
      const { path } of files.slice(0, Math.max(0, files.length - (this.options.maxOnDisk ?? 256)))
    ) {
      await Deno.remove(path).catch(() => {});
    }
  }
}
