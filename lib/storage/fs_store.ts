import { dirname, join } from "node:path";
import { HEADER_BYTES, headerOf, type Meta, parseHeader, readLegacyMeta } from "./fs_header.ts";
import { receiveInto } from "./fs_receive.ts";
import {
  type ByteRange,
  checkObjectKey,
  etagOf,
  type ObjectStore,
  type PutOptions,
  type StoredObject,
} from "./types.ts";

/** Age after which a temporary file nobody writes is a crashed put's leftover. */
const STALE_TMP_MS = 10 * 60_000;

/**
 * The embedded object store: one file per object under `root`, its metadata (size, content type,
 * SHA-256) in a fixed header before its bytes (fs_header.ts). A put receives the body into a
 * temporary file, checks it, fsyncs it once, then hard-links it into place, which fails if the
 * object exists: creation is atomic and first-writer-wins, and no reader sees a partial or
 * unchecked object. Objects of the first layout (raw bytes with a `.meta` file beside them) are
 * still read.
 *
 * The link itself is not fsynced (nor was the `.meta` rename of the first layout): on a journaled
 * filesystem (ext4 ordered, XFS) the fsync of the bus event that follows every put commits it
 * before the upload is acknowledged.
 *
 * A put that fails (a full disk: ENOSPC) removes its temporary file and links nothing; what a
 * crashed process left in `.tmp` (untouched for 10 minutes) is removed when a store is opened.
 */
export class FsObjectStore implements ObjectStore {
  readonly kind = "fs";
  readonly #tmp: string;
  // Puts of one key run one at a time, so two writers never both replace bytes head() refuses.
  readonly #writing = new Map<string, Promise<unknown>>();

  constructor(readonly root: string) {
    this.#tmp = join(root, ".tmp");
    Deno.mkdirSync(this.#tmp, { recursive: true });
    // Puts in flight when a process died: never linked, so never acknowledged. A put still being
    // received (by another store open on the same folder) writes more often than this.
    const stale = Date.now() - STALE_TMP_MS;
    for (const entry of Deno.readDirSync(this.#tmp)) {
      const path = join(this.#tmp, entry.name);
      try {
        if ((Deno.statSync(path).mtime?.getTime() ?? 0) < stale) removeQuietly(path);
      } catch { /* gone meanwhile */ }
    }
  }

  #path(key: string): string {
    checkObjectKey(key);
    return join(this.root, key);
  }

  putIfAbsent(
    key: string,
    body: ReadableStream<Uint8Array>,
    options: PutOptions,
  ): Promise<{ created: boolean; object: StoredObject }> {
    const previous = this.#writing.get(key) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(() => this.#put(key, body, options));
    this.#writing.set(key, next);
    const cleanup = () => {
      if (this.#writing.get(key) === next) this.#writing.delete(key);
    };
    next.then(cleanup, cleanup);
    return next;
  }

  async #put(
    key: string,
    body: ReadableStream<Uint8Array>,
    options: PutOptions,
  ): Promise<{ created: boolean; object: StoredObject }> {
    const path = this.#path(key);
    headerOf({ ...options, size: options.maxBytes }); // a content type too long fails up front
    const tmp = join(this.#tmp, crypto.randomUUID());
    // Creating the file (which can take a while) overlaps receiving the body.
    const opening = Deno.open(tmp, { write: true, createNew: true });
    opening.catch(() => {}); // awaited below, also when receiving fails first
    let tmpLeft = true;
    try {
      let meta: Meta;
      try {
        meta = await receiveInto(opening, key, body, options);
        await (await opening).syncData();
      } finally {
        (await opening.catch(() => undefined))?.close();
      }
      if (!(await linkNew(tmp, path))) {
        const existing = await this.head(key);
        if (existing) return { created: false, object: existing };
        // Bytes head() refuses (damaged, or of the first layout without their .meta) were never
        // visible, so never acknowledged: these checked ones replace them.
        await Deno.rename(tmp, path);
        tmpLeft = false;
      }
      return { created: true, object: objectOf(key, meta) };
    } finally {
      if (tmpLeft) removeQuietly(tmp);
    }
  }

  async head(key: string): Promise<StoredObject | undefined> {
    const opened = await this.#open(key);
    opened?.file.close();
    return opened?.object;
  }

  /** Opens `key` and reads its metadata; undefined when it is absent or incomplete. */
  async #open(
    key: string,
  ): Promise<{ file: Deno.FsFile; object: StoredObject; offset: number } | undefined> {
    const path = this.#path(key);
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { read: true });
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
    try {
      const header = new Uint8Array(HEADER_BYTES);
      let read = 0;
      while (read < HEADER_BYTES) {
        const n = await file.read(header.subarray(read));
        if (n === null) break;
        read += n;
      }
      const length = file.statSync().size;
      let meta = parseHeader(header.subarray(0, read));
      let offset = HEADER_BYTES;
      if (!meta) {
        meta = await readLegacyMeta(path);
        offset = 0;
      }
      if (meta && length === offset + meta.size) {
        return { file, object: objectOf(key, meta), offset };
      }
      file.close();
      return undefined;
    } catch (error) {
      file.close();
      throw error;
    }
  }

  async read(
    key: string,
    range?: ByteRange,
  ): Promise<{ object: StoredObject; body: ReadableStream<Uint8Array> } | undefined> {
    const opened = await this.#open(key);
    if (!opened) return undefined;
    const { file, object, offset } = opened;
    file.seekSync(offset + (range?.start ?? 0), Deno.SeekMode.Start);
    if (!range) return { object, body: file.readable };
    let remaining = range.end - range.start + 1;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const buffer = new Uint8Array(Math.min(65_536, remaining));
        const read = await file.read(buffer);
        if (read === null || remaining <= 0) {
          file.close();
          controller.close();
          return;
        }
        const chunk = buffer.subarray(0, Math.min(read, remaining));
        remaining -= chunk.byteLength;
        controller.enqueue(chunk);
        if (remaining <= 0) {
          file.close();
          controller.close();
        }
      },
      cancel() {
        file.close();
      },
    });
    return { object, body };
  }

  async delete(key: string): Promise<void> {
    const path = this.#path(key);
    await Deno.remove(path).catch(() => {});
    await Deno.remove(`${path}.meta`).catch(() => {}); // first layout
  }

  /** Deletes `keys` (absent ones are fine), a few at once: each is a file system call or two. */
  async deleteMany(keys: readonly string[]): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < keys.length) await this.delete(keys[next++]);
    };
    await Promise.all(Array.from({ length: Math.min(16, keys.length) }, worker));
  }

  async *list(prefix: string): AsyncIterable<string> {
    if (prefix) checkObjectKey(prefix);
    const folders = [prefix];
    while (folders.length) {
      const folder = folders.pop()!;
      let entries: Deno.DirEntry[];
      try {
        entries = await Array.fromAsync(Deno.readDir(join(this.root, folder)));
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) continue;
        throw error;
      }
      const names = new Set(entries.map((entry) => entry.name));
      for (const entry of entries) {
        const key = folder ? `${folder}/${entry.name}` : entry.name;
        if (entry.isDirectory) {
          if (key !== ".tmp") folders.push(key);
        } else if (!(entry.name.endsWith(".meta") && names.has(entry.name.slice(0, -5)))) {
          yield key; // a `.meta` beside its object is the first layout's metadata, not an object
        }
      }
    }
  }

  async ping(): Promise<void> {
    await Deno.stat(this.root);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

function objectOf(key: string, meta: Meta): StoredObject {
  return {
    key,
    size: meta.size,
    contentType: meta.contentType,
    sha256: meta.sha256,
    etag: etagOf(meta.sha256),
  };
}

/**
 * Hard-links `from` to `to`, making `to`'s folders when missing; false when `to` exists. The link
 * is synchronous: a metadata change of microseconds costs less than a hand-off to a thread.
 */
async function linkNew(from: string, to: string): Promise<boolean> {
  for (let attempt = 1;; attempt++) {
    try {
      Deno.linkSync(from, to);
      return true;
    } catch (error) {
      if (error instanceof Deno.errors.AlreadyExists) return false;
      if (!(error instanceof Deno.errors.NotFound) || attempt > 1) throw error;
    }
    await Deno.mkdir(dirname(to), { recursive: true });
  }
}

/** Removes a temporary name (synchronously, like the link); a name already gone is fine. */
function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path);
  } catch { /* gone already, or never made */ }
}
