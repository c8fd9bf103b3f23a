import type { RenderedPlaylist } from "./rendered_playlist.ts";

interface Entry {
  playlist: RenderedPlaylist;
  cameraId: string;
  /** The camera's version when the playlist's source was read. */
  version: number;
  /** What the playlist was made of (see {@linkcode PlaylistCache.revalidate}). */
  source: string;
}

/**
 * Rendered playlists by request, so a busy playlist is written once per change instead of once
 * per player poll. The indexer marks a camera changed ({@linkcode invalidate}) whenever it adds
 * segments; a playlist rendered before that is no longer current, but is kept: when what it was
 * made of turns out unchanged (a live camera changes yesterday's playlist no more than a finished
 * one's), it is current again without being written anew. Bounded by the total size of the
 * bodies (their gzip'd copies, a few percent of that, come on top).
 */
export class PlaylistCache {
  readonly #entries = new Map<string, Entry>();
  readonly #versions = new Map<string, number>();
  /** Added to every camera's version: {@linkcode invalidateAll} moves them all at once. */
  #epoch = 0;
  #bytes = 0;

  constructor(private readonly maxBytes = 64 * 1024 * 1024) {}

  /** Marks a camera's cached playlists stale. */
  invalidate(cameraId: string): void {
    this.#versions.set(cameraId, (this.#versions.get(cameraId) ?? 0) + 1);
  }

  /**
   * Marks every camera's cached playlists stale: news of indexed segments may have been missed
   * (another process's indexer, heard over a connection that broke).
   */
  invalidateAll(): void {
    this.#epoch++;
  }

  /** The camera's version: read it before reading what a playlist is made of. */
  version(cameraId: string): number {
    return (this.#versions.get(cameraId) ?? 0) + this.#epoch;
  }

  /** The playlist under `key` if the camera has not changed since its source was read. */
  get(key: string, cameraId: string): RenderedPlaylist | undefined {
    const entry = this.#entries.get(key);
    if (!entry || entry.cameraId !== cameraId || entry.version !== this.version(cameraId)) {
      return undefined;
    }
    this.#touch(key, entry);
    return entry.playlist;
  }

  /**
   * The playlist under `key` if it was made of `source`, read at the camera's `version`; it is
   * then current again. `source` must change whenever the playlist would: it names the state of
   * the catalog the playlist was rendered from (see `Playback`).
   */
  revalidate(
    key: string,
    cameraId: string,
    version: number,
    source: string,
  ): RenderedPlaylist | undefined {
    const entry = this.#entries.get(key);
    if (!entry || entry.cameraId !== cameraId || entry.source !== source) return undefined;
    entry.version = Math.max(entry.version, version);
    this.#touch(key, entry);
    return entry.playlist;
  }

  /** Keeps `playlist`, rendered from `source` read at the camera's `version`. */
  set(
    key: string,
    cameraId: string,
    version: number,
    source: string,
    playlist: RenderedPlaylist,
  ): void {
    this.#delete(key);
    if (playlist.body.byteLength > this.maxBytes / 4) return;
    this.#entries.set(key, { playlist, cameraId, version, source });
    this.#bytes += playlist.body.byteLength;
    while (this.#bytes > this.maxBytes) this.#delete(this.#entries.keys().next().value!);
  }

  #touch(key: string, entry: Entry): void {
    this.#entries.delete(key);
    this.#entries.set(key, entry);
  }

  #delete(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    this.#bytes -= entry.playlist.body.byteLength;
  }
}
