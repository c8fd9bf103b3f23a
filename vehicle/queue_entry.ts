/**
 * One item of the upload queue and its sidecar: the small JSON file next to each queued segment
 * that makes the queue survive a crash or a reboot.
 */

/** What an entry uploads: an init segment, a media segment, or the end of a recording. */
export type EntryKind = "init" | "segment" | "end";

/** Which rendition a recording is: the camera's full quality, or the low-bitrate proxy. */
export type Rendition = "full" | "proxy";

/** Why a segment is uploaded: as it is recorded, or because an operator recalled its time. */
export type UploadKind = "continuous" | "recall";

/** A queued upload. Tickets grow in the order entries were queued; oldest first drains by them. */
export interface QueueEntry {
  ticket: number;
  kind: EntryKind;
  camera: string;
  recordingId: string;
  /** File name in the recording's queue folder (`init.mp4`, `0000000012.m4s`; `end` for an end). */
  file: string;
  /** Size of the file (0 for an end). */
  bytes: number;
  /** SHA-256 of the file, base64. */
  sha256?: string;
  sequence?: number;
  /** Wall clock of the segment's first frame. */
  startMs?: number;
  durationS?: number;
  /** Timing was estimated, not read from ffmpeg's playlist (crash recovery). */
  estimated?: boolean;
  /** When the recording ended (kind "end"). */
  endedAtMs?: number;
  /** The agent run that harvested it: its monotonic clock relates the times above to the server's. */
  clockRun?: string;
  /** The wall clock minus the monotonic clock at harvest. */
  wallMinusMonoMs?: number;
  /** The server's clock minus the wall clock at harvest, when known then. */
  serverOffsetMs?: number;
  /** The recording's rendition; absent in sidecars of before renditions, meaning "full". */
  rendition?: Rendition;
  /** Set on a segment uploaded for a recall (kept in the sidecar, so it survives restarts). */
  recallId?: string;
  /** On the ring's copy of an init: the server has it, so a recall need not send it again. */
  uploaded?: boolean;
}

/** Sidecar file name of an entry's file. */
export function sidecarName(file: string): string {
  return `${file}.json`;
}

/** Reads a sidecar; throws a TypeError naming what is wrong when it is not one. */
export function parseSidecar(text: string, camera: string, recordingId: string): QueueEntry {
  const value = JSON.parse(text);
  const problem = (what: string) => new TypeError(`Sidecar is damaged: ${what}`);
  if (typeof value !== "object" || value === null) throw problem("not an object");
  if (!Number.isSafeInteger(value.ticket) || value.ticket < 0) throw problem("bad ticket");
  if (!["init", "segment", "end"].includes(value.kind)) throw problem("bad kind");
  if (value.camera !== camera || value.recordingId !== recordingId) {
    throw problem("camera or recording does not match its folder");
  }
  if (typeof value.file !== "string" || !Number.isSafeInteger(value.bytes)) {
    throw problem("bad file or size");
  }
  if (value.kind === "segment") {
    if (!Number.isSafeInteger(value.sequence) || !Number.isFinite(value.startMs)) {
      throw problem("segment without sequence or start");
    }
    if (!(value.durationS > 0)) throw problem("segment without duration");
  }
  if (value.kind !== "end" && typeof value.sha256 !== "string") throw problem("no digest");
  if (value.kind === "end" && !Number.isFinite(value.endedAtMs)) throw problem("end without time");
  if (value.rendition !== undefined && !["full", "proxy"].includes(value.rendition)) {
    throw problem("bad rendition");
  }
  if (value.recallId !== undefined && typeof value.recallId !== "string") {
    throw problem("bad recall id");
  }
  return value as QueueEntry;
}

/**
 * The live entries in ticket order, walkable from either end. Deletions are lazy (the array is
 * compacted now and then), so taking from the head or the tail stays cheap with a long queue.
 */
export class TicketQueue {
  #items: QueueEntry[] = [];
  #live = new Set<QueueEntry>();

  get size(): number {
    return this.#live.size;
  }

  /** Adds an entry; tickets normally arrive in order, an older one is inserted in place. */
  add(entry: QueueEntry): void {
    const last = this.#items.at(-1);
    if (!last || last.ticket < entry.ticket) this.#items.push(entry);
    else {
      // Harvests of two cameras interleave, so a ticket may land just before the last few.
      let at = this.#items.length;
      while (at > 0 && this.#items[at - 1].ticket > entry.ticket) at--;
      this.#items.splice(at, 0, entry);
    }
    this.#live.add(entry);
  }

  delete(entry: QueueEntry): void {
    if (!this.#live.delete(entry)) return;
    if (this.#items.length > 1024 && this.#items.length > 2 * this.#live.size) {
      this.#items = this.#items.filter((e) => this.#live.has(e));
    }
  }

  has(entry: QueueEntry): boolean {
    return this.#live.has(entry);
  }

  /** Live entries, oldest first. */
  *ascending(): Generator<QueueEntry> {
    this.#trimHead();
    for (const entry of this.#items) {
      if (this.#live.has(entry)) yield entry;
    }
  }

  /** Live entries, newest first. */
  *descending(): Generator<QueueEntry> {
    for (let i = this.#items.length - 1; i >= 0; i--) {
      const entry = this.#items[i];
      if (this.#live.has(entry)) yield entry;
    }
  }

  /** Drops dead entries at the head, so that walking from the oldest stays cheap. */
  #trimHead(): void {
    let dead = 0;
    while (dead < this.#items.length && !this.#live.has(this.#items[dead])) dead++;
    if (dead > 64) this.#items.splice(0, dead);
  }
}
