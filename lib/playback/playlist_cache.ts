/** A rendered playlist, ready to send. */
export interface RenderedPlaylist {
  body: string;
  etag: string;
  contentType: string;
  /** VOD playlists can be cached longer than growing ones. */
  final: boolean;
}

/**
 * Rendered playlists by request, invalidated per camera when the indexer adds segments: a busy
 * playlist is written once per change instead of once per player poll. Bounded by total size.
 */
export class PlaylistCache {
  readonly #entries = new Map<string, RenderedPlaylist & { cameraId: string; version: number }>();
  readonly #versions = new Map<string, number>();
  #bytes = 0;

  constructor(private readonly maxBytes = 64 * 1024 * 1024) {}

  /** Marks a camera's cached playlists stale. */
  invalidate(cameraId: string): void {
    this.#versions.set(cameraId, (this.#versions.get(cameraId) ?? 0) + 1);
  }

  get(key: string, cameraId: string): RenderedPlaylist | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.version !== (this.#versions.get(cameraId) ?? 0)) {
      this.#delete(key);
      return undefined;
    }
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry;
  }

  set(key: string, cameraId: string, playlist: RenderedPlaylist): void {
    this.#delete(key);
    if (playlist.body.length > this.maxBytes / 4) return;
    this.#entries.set(key, { ...playlist, cameraId, version: this.#versions.get(cameraId) ?? 0 });
    this.#bytes += playlist.body.length;
    while (this.#bytes > this.maxBytes) this.#delete(this.#entries.keys().next().value!);
  }

  #delete(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    this.#bytes -= entry.body.length;
  }
}
