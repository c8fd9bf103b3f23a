import { dirname, join } from "node:path";
import {
  type ByteRange,
  checkObjectKey,
  etagOf,
  type ObjectStore,
  type StoredObject,
} from "./types.ts";

interface Meta {
  size: number;
  contentType: string;
  sha256: string;
}

/**
 * The embedded object store: one file per object under `root`, with a small `.meta` file beside
 * it. A put writes a temporary file, fsyncs it and hard-links it into place, which fails if the
 * object exists: creation is atomic and first-writer-wins, and no reader sees a partial object.
 */
export class FsObjectStore implements ObjectStore {
  readonly kind = "fs";
  // Puts of one key run one at a time, so two different bodies racing for a key cannot mix
  // one's metadata with the other's bytes.
  readonly #writing = new Map<string, Promise<unknown>>();

  constructor(readonly root: string) {
    Deno.mkdirSync(join(root, ".tmp"), { recursive: true });
  }

  #path(key: string): string {
    checkObjectKey(key);
    return join(this.root, key);
  }

  putIfAbsent(
    key: string,
    body: Uint8Array,
    meta: { contentType: string; sha256: string },
  ): Promise<{ created: boolean; object: StoredObject }> {
    const previous = this.#writing.get(key) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(() => this.#put(key, body, meta));
    this.#writing.set(key, next);
    const cleanup = () => {
      if (this.#writing.get(key) === next) this.#writing.delete(key);
    };
    next.then(cleanup, cleanup);
    return next;
  }

  async #put(
    key: string,
    body: Uint8Array,
    meta: { contentType: string; sha256: string },
  ): Promise<{ created: boolean; object: StoredObject }> {
    const path = this.#path(key);
    const existing = await this.head(key);
    if (existing) return { created: false, object: existing };
    await Deno.mkdir(dirname(path), { recursive: true });
    const record: Meta = { size: body.byteLength, ...meta };
    const unique = crypto.randomUUID();
    const tmpMeta = join(this.root, ".tmp", `${unique}.meta`);
    const tmpData = join(this.root, ".tmp", unique);
    try {
      await writeSynced(tmpMeta, new TextEncoder().encode(JSON.stringify(record)));
      await Deno.rename(tmpMeta, `${path}.meta`);
      await writeSynced(tmpData, body);
      try {
        await Deno.link(tmpData, path);
      } catch (error) {
        if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
        return { created: false, object: (await this.head(key))! };
      }
      return { created: true, object: objectOf(key, record) };
    } finally {
      await Deno.remove(tmpData).catch(() => {});
      await Deno.remove(tmpMeta).catch(() => {});
    }
  }

  async head(key: string): Promise<StoredObject | undefined> {
    const path = this.#path(key);
    try {
      const stat = await Deno.stat(path);
      const meta = JSON.parse(await Deno.readTextFile(`${path}.meta`)) as Meta;
      if (meta.size !== stat.size) return undefined;
      return objectOf(key, meta);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
  }

  async read(
    key: string,
    range?: ByteRange,
  ): Promise<{ object: StoredObject; body: ReadableStream<Uint8Array> } | undefined> {
    const object = await this.head(key);
    if (!object) return undefined;
    const file = await Deno.open(this.#path(key), { read: true });
    if (!range) return { object, body: file.readable };
    await file.seek(range.start, Deno.SeekMode.Start);
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
    await Deno.remove(`${path}.meta`).catch(() => {});
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

async function writeSynced(path: string, bytes: Uint8Array): Promise<void> {
  const file = await Deno.open(path, { write: true, createNew: true });
  try {
    let written = 0;
    while (written < bytes.byteLength) written += await file.write(bytes.subarray(written));
    await file.syncData();
  } finally {
    file.close();
  }
}
