/**
 * The spool: the upload queue on disk. ffmpeg writes into `capture/<camera>/<recording>/`; each
 * finished file is hashed, described by a sidecar (written to a temporary name, synced, renamed)
 * and then renamed into `queue/<camera>/<recording>/`. Both renames are atomic, so after a SIGKILL
 * or a power cut every file is either still in the capture folder (and is harvested again) or
 * queued with its sidecar. Nothing is deleted before the server acknowledged it, except by the
 * disk budget, which evicts the oldest segments and counts what it evicted.
 *
 * The ring keeps what the upload policy does not send (full quality under `proxy` and
 * `on-request`) until a recall moves it into the queue, ahead of continuous traffic, or the disk
 * budget evicts it (the ring's oldest first, queued uploads only when the ring is empty). Every
 * recording keeps its init in the ring too, so that a recall can send it again.
 *
 *   <spool>/capture/<camera>/<recordingId>/   ffmpeg's output (index.m3u8, init.mp4, *.m4s, *.tmp)
 *   <spool>/queue/<camera>/<recordingId>/     init.mp4, 0000000012.m4s, … each with a .json sidecar;
 *                                             end.json once the recording is over
 *   <spool>/ring/<camera>/<recordingId>/      segments kept on the vehicle, with their sidecars;
 *                                             the recording's init.mp4; end.json once it ended
 *   <spool>/quarantine/<camera>/<recordingId>/ files the server refused for good, with the reason
 *   <spool>/counters.json                     evictions and quarantines, per camera, cumulative
 *   <spool>/evicted.json                      time ranges evicted, per camera and rendition
 */
import type { Logger } from "../lib/log/mod.ts";
import { CaptureClock, parseCaptureClockState } from "./capture_clock.ts";
import {
  readSegmentTimes,
  readTrackTimeline,
  type SegmentTimes,
  type TrackTimeline,
} from "./cmaf_times.ts";
import type { DrainOrder } from "./config.ts";
import { type HeldSegment, type Range, RangeLog } from "./inventory.ts";
import type { ClockStamp } from "./server_clock.ts";
import {
  type CapturePlaylist,
  estimateUnlisted,
  type ListedSegment,
  parseCapturePlaylist,
  segmentFileName,
  segmentSequence,
} from "./playlist.ts";
import {
  folderBytes,
  readJson,
  removeIfThere,
  sha256Base64,
  subfolders,
  writeSidecar,
  writeSynced,
} from "./spool_files.ts";
import {
  type EntryKind,
  parseSidecar,
  type QueueEntry,
  type Rendition,
  sidecarName,
  TicketQueue,
} from "./queue_entry.ts";

export type { Rendition } from "./queue_entry.ts";

/** What {@linkcode Spool.route} is asked about: a recording's init (no times) or a segment. */
export interface RouteQuery {
  camera: string;
  rendition: Rendition;
  startMs?: number;
  endMs?: number;
}

/** Where a harvested file goes: uploaded (for a recall, with its id) or kept in the ring. */
export type Route = { to: "queue"; recallId?: string } | { to: "ring" };

/** A segment bound to a recall by {@linkcode Spool.recall}. */
export interface RecalledSegment {
  /** `<recordingId>/<sequence>`: the same segment is counted once. */
  key: string;
  startMs: number;
  endMs: number;
  bytes: number;
  /** False for a segment already being uploaded as continuous traffic (it arrives anyway). */
  recalled: boolean;
}

/** Per-camera figures for heartbeats. */
export interface CameraQueueStats {
  queueDepth: number;
  bytesPending: number;
  evictedSegments: number;
  evictedBytes: number;
  quarantined: number;
}

/** Options of {@linkcode Spool}. */
export interface SpoolOptions {
  dir: string;
  diskBudgetBytes: number;
  quarantineBudgetBytes: number;
  drainOrder: DrainOrder;
  /** Target segment length, to estimate the timing of a segment ffmpeg never listed. */
  segmentSeconds: number;
  /** Drift between ffmpeg's segment times and the capture clock that re-anchors; 1 s default. */
  reanchorMs?: number;
  logger: Logger;
  /**
   * What each entry harvested by this run keeps of the clocks, to have its times put on the
   * server's clock at upload (`ServerClock.stamp`).
   */
  clockStamp?: () => ClockStamp;
}

/** How far a recording's capture folder has been harvested. */
export interface Harvest {
  camera: string;
  recordingId: string;
  dir: string;
  initDone: boolean;
  lastSequence: number;
  /** End of the last harvested segment (wall clock). */
  lastEndMs: number | undefined;
  /** Files moved into the queue so far. */
  count: number;
  /** Keeps the recording's segment times on the capture clock. */
  clock: CaptureClock;
  /** ffmpeg stamps frames with the wall clock minus this epoch (generated and file sources). */
  captureEpochMs?: number;
  /** The video track's timeline, once the init segment was read. */
  track?: TrackTimeline;
  /** Which rendition the recording is. */
  rendition: Rendition;
}

interface RecordingState {
  init: QueueEntry | undefined;
  /** Queued init and media entries (not the end). */
  queued: number;
  end: QueueEntry | undefined;
  active: boolean;
  /** The server acknowledged the init in this run. */
  initSent?: boolean;
  /** The ring's copy of the init. */
  ringInit?: QueueEntry;
  /** Media segments in the ring. */
  ringSegments: number;
  /** The recording's end, kept in the ring while nothing of it was sent. */
  ringEnd?: QueueEntry;
}

type Counters = Record<
  string,
  { evictedSegments: number; evictedBytes: number; quarantined: number }
>;

const RECOVERING = ".recovering";
/** The capture clock's state, in the capture folder (so crash recovery keeps its correction). */
const CLOCK_FILE = "capture_clock.json";
/** How often, at most, the acknowledged time ranges are saved. */
const SENT_SAVE_MS = 5_000;
/** Bytes read from the start of a segment to find its timestamps (styp, moof). */
const SEGMENT_HEAD_BYTES = 256 * 1024;

/** The on-disk upload queue and ring. */
export class Spool {
  readonly #queue = new TicketQueue();
  /** Queued entries of recalls: taken before the rest. */
  readonly #priority = new TicketQueue();
  /** Ring entries (inits, segments, ends), oldest first. */
  readonly #ring = new TicketQueue();
  #ringBytes = 0;
  #evicted = new RangeLog();
  /** Time ranges the server acknowledged, per camera and rendition (saved now and then). */
  #sent = new RangeLog();
  #sentSavedAt = 0;
  readonly #harvested = new Map<string, number>();
  readonly #inFlight = new Set<QueueEntry>();
  readonly #recordings = new Map<string, RecordingState>();
  readonly #pending = new Map<string, { queueDepth: number; bytesPending: number }>();
  #counters: Counters = {};
  #nextTicket = 0;
  #bytes = 0;
  #quarantineBytes = 0;
  #log: Logger;
  /** Called whenever something was queued. */
  onQueued: () => void = () => {};
  /** Where harvested files go; everything is uploaded unless told otherwise. */
  route: (query: RouteQuery) => Route = () => ({ to: "queue" });
  /** Called once the server acknowledged an entry. */
  onUploaded: (entry: QueueEntry) => void = () => {};

  constructor(readonly options: SpoolOptions) {
    this.#log = options.logger;
  }

  /** Bytes of queued init and media segments. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Queued entries, ends included. */
  get size(): number {
    return this.#queue.size;
  }

  /** Bytes of the media segments kept in the ring (its inits are small and not counted). */
  get ringBytes(): number {
    return this.#ringBytes;
  }

  /**
   * Loads the queue and recovers the capture folders a previous run left (crash, SIGKILL, power
   * cut): their finished segments are queued and their recordings ended. Call before capturing.
   */
  async open(): Promise<void> {
    for (const sub of ["capture", "queue", "ring", "quarantine"]) {
      await Deno.mkdir(`${this.options.dir}/${sub}`, { recursive: true });
    }
    this.#counters = await readJson(`${this.options.dir}/counters.json`) ?? {};
    this.#evicted = new RangeLog(await readJson(`${this.options.dir}/evicted.json`));
    this.#sent = new RangeLog(await readJson(`${this.options.dir}/sent.json`));
    await this.#scanQueue();
    await this.#scanRing();
    this.#quarantineBytes = await folderBytes(`${this.options.dir}/quarantine`);
    for (const camera of await subfolders(`${this.options.dir}/capture`)) {
      for (const name of await subfolders(`${this.options.dir}/capture/${camera}`)) {
        await this.#recover(camera, name);
      }
    }
    for (const [k, state] of [...this.#recordings]) {
      if (!state.active && state.ringSegments === 0) await this.#tidyRing(...split(k));
    }
    await this.#enforceBudget();
    this.#log.info("spool opened", {
      dir: this.options.dir,
      queued: this.#queue.size,
      bytes: this.#bytes,
      ringBytes: this.#ringBytes,
    });
  }

  /**
   * Creates the capture folder of a new recording and returns its harvest state. With
   * `captureEpochMs`, ffmpeg stamps frames with the wall clock minus that epoch, and segment
   * times are read from the segments themselves.
   */
  async begin(
    camera: string,
    recordingId: string,
    captureEpochMs?: number,
    rendition: Rendition = "full",
  ): Promise<Harvest> {
    const dir = `${this.options.dir}/capture/${camera}/${recordingId}`;
    await Deno.mkdir(dir, { recursive: true });
    this.#recording(camera, recordingId).active = true;
    const harvest: Harvest = {
      camera,
      recordingId,
      dir,
      initDone: false,
      lastSequence: -1,
      lastEndMs: undefined,
      count: 0,
      clock: new CaptureClock({ thresholdMs: this.options.reanchorMs ?? 1_000 }),
      captureEpochMs,
      rendition,
    };
    await this.#saveClock(harvest);
    return harvest;
  }

  /**
   * Queues what `playlist` lists as finished and was not harvested yet. Returns how many. A
   * segment timed from its frames waits for the next one (which gives its end) unless `final`.
   */
  async harvest(harvest: Harvest, playlist: CapturePlaylist, final = false): Promise<number> {
    let added = 0;
    if (playlist.init && !harvest.initDone) {
      if (harvest.captureEpochMs !== undefined) {
        harvest.track = await this.#readTrack(harvest, playlist.init);
      }
      if (await this.#enqueue(harvest, "init", playlist.init, {})) added++;
      harvest.initDone = true;
    }
    const fresh = playlist.segments.filter((s) => s.sequence > harvest.lastSequence);
    for (const [i, segment] of fresh.entries()) {
      const placed = await this.#place(harvest, segment);
      if (placed.fromMedia && placed.startMs !== undefined) {
        // Its length is where the next one starts: the last sample's own duration is a guess
        // when frames come irregularly. So it waits for the next one, unless the recording ended.
        const next = fresh[i + 1] && await this.#mediaTimes(harvest, fresh[i + 1].file);
        if (next) {
          placed.durationS = (harvest.captureEpochMs! + next.startS * 1000 - placed.startMs) / 1000;
        } else if (!final && !playlist.ended) break;
      }
      const timing = placed.startMs === undefined
        ? { startMs: Date.now() - placed.durationS * 1000, estimated: true }
        : { startMs: placed.startMs, estimated: placed.estimated };
      if (
        await this.#enqueue(harvest, "segment", segment.file, {
          sequence: segment.sequence,
          durationS: placed.durationS,
          ...timing,
        })
      ) added++;
      harvest.lastSequence = segment.sequence;
      harvest.lastEndMs = timing.startMs + placed.durationS * 1000;
      const at = `${harvest.camera}/${harvest.rendition}`;
      this.#harvested.set(at, Math.max(this.#harvested.get(at) ?? 0, harvest.lastEndMs));
    }
    if (harvest.clock.takeChanged()) await this.#saveClock(harvest);
    if (added) {
      await this.#enforceBudget();
      this.onQueued();
    }
    return added;
  }

  /** Saves what crash recovery needs to keep placing the recording's segments the same way. */
  async #saveClock(harvest: Harvest): Promise<void> {
    const path = `${harvest.dir}/${CLOCK_FILE}`;
    const saved = {
      captureEpochMs: harvest.captureEpochMs ?? null,
      rendition: harvest.rendition,
      ...harvest.clock.state,
    };
    await writeSynced(`${path}.tmp`, JSON.stringify(saved));
    await Deno.rename(`${path}.tmp`, path);
  }

  /** The recording's timeline from its init segment (in the capture folder or already queued). */
  async #readTrack(harvest: Harvest, file: string): Promise<TrackTimeline | undefined> {
    for (const dir of [harvest.dir, this.#queueDir(harvest.camera, harvest.recordingId)]) {
      try {
        return readTrackTimeline(await Deno.readFile(`${dir}/${file}`));
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
    }
    return undefined;
  }

  /**
   * A segment's start and duration on the capture clock: from its own timestamps when ffmpeg
   * stamped frames with the capture clock, else from ffmpeg's playlist; then checked against when
   * its file was finished, re-anchoring if the two drifted apart.
   */
  async #place(
    harvest: Harvest,
    segment: ListedSegment,
  ): Promise<
    { startMs: number | undefined; durationS: number; estimated: boolean; fromMedia?: boolean }
  > {
    let appearedMs: number | undefined;
    try {
      appearedMs = (await Deno.stat(`${harvest.dir}/${segment.file}`)).mtime?.getTime();
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    const times = await this.#mediaTimes(harvest, segment.file);
    const correction = harvest.clock.state.correctionMs;
    if (times) {
      const startMs = harvest.captureEpochMs! + times.startS * 1000;
      const dated = { startMs, durationS: times.durationS };
      return { ...this.#check(harvest, segment.file, dated, appearedMs, true), fromMedia: true };
    }
    if (segment.startMs === undefined) {
      return { startMs: harvest.lastEndMs, durationS: segment.durationS, estimated: true };
    }
    const estimated = segment.estimated === true;
    const dated = { startMs: segment.startMs, durationS: segment.durationS };
    if (estimated) return { ...dated, startMs: segment.startMs + correction, estimated };
    return this.#check(harvest, segment.file, dated, appearedMs);
  }

  /** A segment's times from its frames, when ffmpeg stamped them with the capture clock. */
  async #mediaTimes(harvest: Harvest, file: string): Promise<SegmentTimes | undefined> {
    if (!harvest.track || harvest.captureEpochMs === undefined) return undefined;
    try {
      using handle = await Deno.open(`${harvest.dir}/${file}`);
      const head = new Uint8Array(SEGMENT_HEAD_BYTES);
      const read = await handle.read(head) ?? 0;
      return readSegmentTimes(head.subarray(0, read), harvest.track);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
  }

  /**
   * Places a dated segment on the capture clock, re-anchoring on drift (unless its times are
   * `trusted`: read from frames stamped by the capture clock itself), logging re-anchors.
   */
  #check(
    harvest: Harvest,
    file: string,
    dated: { startMs: number; durationS: number },
    appearedMs: number | undefined,
    trusted = false,
  ): { startMs: number; durationS: number; estimated: boolean } {
    if (appearedMs === undefined) {
      const startMs = Math.round(dated.startMs + harvest.clock.state.correctionMs);
      return { startMs, durationS: dated.durationS, estimated: false };
    }
    const placed = harvest.clock.place(dated, appearedMs, trusted);
    if (placed.reanchored) {
      this.#log.warn("capture clock re-anchored: segment times drifted from the wall clock", {
        camera: harvest.camera,
        recordingId: harvest.recordingId,
        file,
        driftMs: Math.round(placed.driftMs),
        correctionMs: Math.round(harvest.clock.state.correctionMs),
        reanchors: harvest.clock.state.reanchors,
      });
    }
    return { startMs: placed.startMs, durationS: dated.durationS, estimated: false };
  }

  /**
   * Ends a recording: queues its end (sent once its files are uploaded) if it produced anything,
   * and removes its capture folder.
   */
  async end(harvest: Harvest, endedAtMs: number | undefined): Promise<void> {
    const state = this.#recording(harvest.camera, harvest.recordingId);
    state.active = false;
    // A recording nothing of which was sent keeps its end in the ring, for a later recall.
    const sent = state.init !== undefined || state.initSent || state.queued > 0;
    const toRing = !sent && state.ringSegments > 0;
    if (endedAtMs !== undefined && (sent || toRing || !state.ringInit)) {
      const dir = toRing
        ? this.#ringDir(harvest.camera, harvest.recordingId)
        : this.#queueDir(harvest.camera, harvest.recordingId);
      await Deno.mkdir(dir, { recursive: true });
      const entry: QueueEntry = {
        ticket: this.#nextTicket++,
        kind: "end",
        camera: harvest.camera,
        recordingId: harvest.recordingId,
        file: "end",
        bytes: 0,
        endedAtMs,
        ...this.#clockStamp(harvest),
        rendition: harvest.rendition,
      };
      await writeSidecar(`${dir}/${sidecarName("end")}`, entry);
      if (toRing) {
        if (state.ringEnd) this.#dropRing(state.ringEnd);
        this.#addRing(entry);
      } else {
        if (state.end) this.#queue.delete(state.end);
        state.end = entry;
        this.#queue.add(entry);
        this.onQueued();
      }
    }
    await Deno.remove(harvest.dir, { recursive: true }).catch(() => {});
    await this.#tidyRing(harvest.camera, harvest.recordingId);
    await this.#forget(harvest.camera, harvest.recordingId);
  }

  /**
   * The next entry to upload, marked in flight; undefined when none may go now. An init goes
   * before its recording's segments, and an end after all of them.
   */
  take(blocked: (camera: string) => boolean = () => false): QueueEntry | undefined {
    const walk = this.options.drainOrder === "newest"
      ? this.#queue.descending()
      : this.#queue.ascending();
    // Recalled segments go first, oldest first whatever the drain order.
    for (const entry of chain(this.#priority.ascending(), walk)) {
      if (this.#inFlight.has(entry) || blocked(entry.camera)) continue;
      const state = this.#recordings.get(key(entry.camera, entry.recordingId));
      let pick: QueueEntry | undefined = entry;
      if (entry.kind === "segment" && state?.init) {
        pick = this.#inFlight.has(state.init) ? undefined : state.init;
      } else if (entry.kind === "end" && state && (state.queued > 0 || state.active)) {
        pick = undefined;
      }
      if (pick) {
        this.#inFlight.add(pick);
        return pick;
      }
    }
    return undefined;
  }

  /** Puts an entry taken with {@linkcode take} back, to be tried again. */
  release(entry: QueueEntry): void {
    this.#inFlight.delete(entry);
  }

  /** Whether any entry is being uploaded. */
  get busy(): boolean {
    return this.#inFlight.size > 0;
  }

  /** The bytes of an entry's file. */
  read(entry: QueueEntry): Promise<Uint8Array> {
    return Deno.readFile(`${this.#queueDir(entry.camera, entry.recordingId)}/${entry.file}`);
  }

  /** Deletes an entry the server acknowledged. */
  async done(entry: QueueEntry): Promise<void> {
    // Out of the index first (synchronously), so no other worker can take it meanwhile.
    this.#drop(entry);
    this.#inFlight.delete(entry);
    const dir = this.#queueDir(entry.camera, entry.recordingId);
    if (entry.kind === "init") await this.#initSent(entry);
    if (entry.kind !== "end") await removeIfThere(`${dir}/${entry.file}`);
    await removeIfThere(`${dir}/${sidecarName(entry.file)}`);
    await this.#forget(entry.camera, entry.recordingId);
    if (entry.kind === "segment") {
      const startMs = entry.startMs!;
      this.#sent.add(entry.camera, entry.rendition ?? "full", [
        startMs,
        startMs + entry.durationS! * 1000,
      ]);
      if (Date.now() - this.#sentSavedAt > SENT_SAVE_MS) await this.saveSent();
    }
    this.onUploaded(entry);
  }

  /** Notes that the server has a recording's init, on the ring's copy too (for restarts). */
  async #initSent(entry: QueueEntry): Promise<void> {
    const state = this.#recording(entry.camera, entry.recordingId);
    state.initSent = true;
    const copy = state.ringInit;
    if (!copy || copy.uploaded) return;
    copy.uploaded = true;
    const dir = this.#ringDir(entry.camera, entry.recordingId);
    await writeSidecar(`${dir}/${sidecarName(copy.file)}`, copy).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
  }

  /** Saves the time ranges the server acknowledged (done now and then, and at shutdown). */
  async saveSent(): Promise<void> {
    this.#sentSavedAt = Date.now();
    const path = `${this.options.dir}/sent.json`;
    await writeSynced(`${path}.tmp`, JSON.stringify(this.#sent));
    await Deno.rename(`${path}.tmp`, path);
  }

  /** Time ranges of a camera's rendition the server acknowledged (merged, bounded). */
  sent(camera: string, rendition: Rendition = "full"): Range[] {
    return this.#sent.get(camera, rendition);
  }

  /** The queued segments bound to a recall (in flight included). */
  boundTo(recallId: string): QueueEntry[] {
    return [...this.#priority.ascending()].filter((e) => e.recallId === recallId);
  }

  /** Moves an entry the server refused for good into the quarantine, and counts it. */
  async quarantine(entry: QueueEntry, reason: string): Promise<void> {
    this.#drop(entry);
    this.#inFlight.delete(entry);
    const from = this.#queueDir(entry.camera, entry.recordingId);
    const to = `${this.options.dir}/quarantine/${entry.camera}/${entry.recordingId}`;
    await Deno.mkdir(to, { recursive: true });
    if (entry.kind !== "end") {
      await Deno.rename(`${from}/${entry.file}`, `${to}/${entry.file}`).catch((error) => {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      });
    }
    await Deno.writeTextFile(
      `${to}/${sidecarName(entry.file)}`,
      JSON.stringify({ ...entry, reason, quarantinedAt: new Date().toISOString() }),
    );
    await removeIfThere(`${from}/${sidecarName(entry.file)}`);
    this.#count(entry.camera).quarantined++;
    this.#quarantineBytes += entry.bytes;
    await this.#saveCounters();
    this.#log.error("segment quarantined", {
      camera: entry.camera,
      recordingId: entry.recordingId,
      file: entry.file,
      reason,
      quarantined: this.#count(entry.camera).quarantined,
    });
    await this.#forget(entry.camera, entry.recordingId);
    if (this.#quarantineBytes > this.options.quarantineBudgetBytes) await this.#trimQuarantine();
  }

  /** Figures for a camera's heartbeat. */
  stats(camera: string): CameraQueueStats {
    const pending = this.#pending.get(camera) ?? { queueDepth: 0, bytesPending: 0 };
    return { ...pending, ...this.#count(camera) };
  }

  /** Cameras that have queued entries or counters (including ones no longer configured). */
  cameras(): string[] {
    return [...new Set([...this.#pending.keys(), ...Object.keys(this.#counters)])];
  }

  #queueDir(camera: string, recordingId: string): string {
    return `${this.options.dir}/queue/${camera}/${recordingId}`;
  }

  #ringDir(camera: string, recordingId: string): string {
    return `${this.options.dir}/ring/${camera}/${recordingId}`;
  }

  #recording(camera: string, recordingId: string): RecordingState {
    const k = key(camera, recordingId);
    let state = this.#recordings.get(k);
    if (!state) {
      state = { init: undefined, queued: 0, end: undefined, active: false, ringSegments: 0 };
      this.#recordings.set(k, state);
    }
    return state;
  }

  #count(camera: string) {
    return this.#counters[camera] ??= { evictedSegments: 0, evictedBytes: 0, quarantined: 0 };
  }

  #add(entry: QueueEntry): void {
    const state = this.#recording(entry.camera, entry.recordingId);
    if (entry.kind === "end") {
      state.end = entry;
    } else {
      if (entry.kind === "init") state.init = entry;
      state.queued++;
      this.#bytes += entry.bytes;
      const pending = this.#pending.get(entry.camera) ?? { queueDepth: 0, bytesPending: 0 };
      pending.queueDepth++;
      pending.bytesPending += entry.bytes;
      this.#pending.set(entry.camera, pending);
    }
    this.#queue.add(entry);
    if (entry.recallId !== undefined) this.#priority.add(entry);
  }

  #drop(entry: QueueEntry): void {
    if (!this.#queue.has(entry)) return;
    this.#queue.delete(entry);
    this.#priority.delete(entry);
    const state = this.#recordings.get(key(entry.camera, entry.recordingId));
    if (entry.kind === "end") {
      if (state?.end === entry) state.end = undefined;
      return;
    }
    if (state) {
      if (state.init === entry) state.init = undefined;
      state.queued--;
    }
    this.#bytes -= entry.bytes;
    const pending = this.#pending.get(entry.camera);
    if (pending) {
      pending.queueDepth--;
      pending.bytesPending -= entry.bytes;
      if (pending.queueDepth === 0) this.#pending.delete(entry.camera);
    }
  }

  /** Forgets a recording with nothing left, and removes its empty queue folder. */
  async #forget(camera: string, recordingId: string): Promise<void> {
    const k = key(camera, recordingId);
    const state = this.#recordings.get(k);
    if (!state || state.active || state.queued > 0 || state.end) return;
    await Deno.remove(this.#queueDir(camera, recordingId)).catch(() => {});
    if (state.ringInit || state.ringSegments > 0 || state.ringEnd) return;
    this.#recordings.delete(k);
    await Deno.remove(this.#ringDir(camera, recordingId)).catch(() => {});
  }

  /** Hashes a finished file, writes its sidecar, then moves it into the queue. */
  async #enqueue(
    harvest: Harvest,
    kind: EntryKind,
    file: string,
    extra: Partial<QueueEntry>,
  ): Promise<boolean> {
    const source = `${harvest.dir}/${file}`;
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(source);
      using handle = await Deno.open(source);
      await handle.syncData();
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return false; // queued before a crash
      throw error;
    }
    const { camera, recordingId, rendition } = harvest;
    const entry: QueueEntry = {
      ticket: this.#nextTicket++,
      kind,
      camera,
      recordingId,
      file,
      bytes: bytes.byteLength,
      sha256: await sha256Base64(bytes),
      ...extra,
      ...this.#clockStamp(harvest),
      rendition,
    };
    const state = this.#recording(camera, recordingId);
    const route = this.route({
      camera,
      rendition,
      ...(kind === "segment"
        ? { startMs: entry.startMs!, endMs: entry.startMs! + entry.durationS! * 1000 }
        : {}),
    });
    if (kind === "init") {
      // The ring keeps every recording's init: a recall may need it after the queue's copy went.
      const ringInit = { ...entry, ticket: this.#nextTicket++ };
      const ringDir = this.#ringDir(camera, recordingId);
      await Deno.mkdir(ringDir, { recursive: true });
      if (route.to === "queue") await writeFileSynced(`${ringDir}/${file}.tmp`, bytes);
      await writeSidecar(`${ringDir}/${sidecarName(file)}`, ringInit);
      if (route.to === "queue") await Deno.rename(`${ringDir}/${file}.tmp`, `${ringDir}/${file}`);
      else await Deno.rename(source, `${ringDir}/${file}`);
      if (state.ringInit) this.#dropRing(state.ringInit);
      this.#addRing(ringInit);
    }
    if (route.to === "ring") {
      if (kind === "segment") await this.#keepInRing(source, entry);
    } else {
      if (kind === "segment") {
        await this.#queueInitFor(state, camera, recordingId);
        if (route.recallId !== undefined) entry.recallId = route.recallId;
      }
      const dir = this.#queueDir(camera, recordingId);
      await Deno.mkdir(dir, { recursive: true });
      await writeSidecar(`${dir}/${sidecarName(file)}`, entry);
      await Deno.rename(source, `${dir}/${file}`);
      const previous = kind === "init" ? state.init : undefined;
      if (previous) this.#drop(previous);
      this.#add(entry);
    }
    harvest.count++;
    this.#log.debug(route.to === "ring" ? "segment kept in the ring" : "segment queued", {
      camera,
      recordingId,
      file,
      bytes: entry.bytes,
      recallId: entry.recallId,
    });
    return true;
  }

  /** Moves a harvested segment into the ring. */
  async #keepInRing(source: string, entry: QueueEntry): Promise<void> {
    const dir = this.#ringDir(entry.camera, entry.recordingId);
    await Deno.mkdir(dir, { recursive: true });
    await writeSidecar(`${dir}/${sidecarName(entry.file)}`, entry);
    await Deno.rename(source, `${dir}/${entry.file}`);
    this.#addRing(entry);
  }

  /** Queues a copy of the ring's init when a segment of its recording is about to be queued. */
  async #queueInitFor(state: RecordingState, camera: string, recordingId: string): Promise<void> {
    if (state.init || state.initSent || !state.ringInit) return;
    const ringDir = this.#ringDir(camera, recordingId);
    const dir = this.#queueDir(camera, recordingId);
    const file = state.ringInit.file;
    await Deno.mkdir(dir, { recursive: true });
    const entry: QueueEntry = { ...state.ringInit, ticket: this.#nextTicket++ };
    await Deno.copyFile(`${ringDir}/${file}`, `${dir}/${file}.tmp`);
    await writeSidecar(`${dir}/${sidecarName(file)}`, entry);
    await Deno.rename(`${dir}/${file}.tmp`, `${dir}/${file}`);
    this.#add(entry);
  }

  #addRing(entry: QueueEntry): void {
    const state = this.#recording(entry.camera, entry.recordingId);
    if (entry.kind === "init") {
      state.ringInit = entry;
      if (entry.uploaded) state.initSent = true;
    } else if (entry.kind === "end") state.ringEnd = entry;
    else {
      state.ringSegments++;
      this.#ringBytes += entry.bytes;
    }
    this.#ring.add(entry);
  }

  #dropRing(entry: QueueEntry): void {
    if (!this.#ring.has(entry)) return;
    this.#ring.delete(entry);
    if (entry.kind === "segment") this.#ringBytes -= entry.bytes;
    const state = this.#recordings.get(key(entry.camera, entry.recordingId));
    if (!state) return;
    if (state.ringInit === entry) state.ringInit = undefined;
    else if (state.ringEnd === entry) state.ringEnd = undefined;
    else if (entry.kind === "segment") state.ringSegments--;
  }

  /** Deletes a ring entry's files. */
  async #removeRing(entry: QueueEntry): Promise<void> {
    this.#dropRing(entry);
    const dir = this.#ringDir(entry.camera, entry.recordingId);
    if (entry.kind !== "end") await removeIfThere(`${dir}/${entry.file}`);
    await removeIfThere(`${dir}/${sidecarName(entry.file)}`);
  }

  /** Drops the ring's init and end of a recording that is over and has no segment left there. */
  async #tidyRing(camera: string, recordingId: string): Promise<void> {
    const state = this.#recordings.get(key(camera, recordingId));
    if (!state || state.active || state.ringSegments > 0) return;
    if (state.ringInit) await this.#removeRing(state.ringInit);
    if (state.ringEnd) await this.#removeRing(state.ringEnd);
    await this.#forget(camera, recordingId);
  }

  /**
   * Binds the segments of `camera`'s `rendition` that overlap `[fromMs, toMs]` to a recall: those
   * in the ring move into the queue, those queued are marked; both then go before continuous
   * traffic. Returns every segment bound to the recall so far (call again: nothing is counted
   * twice), and those already being uploaded.
   */
  async recall(
    recallId: string,
    camera: string,
    fromMs: number,
    toMs: number,
    rendition: Rendition = "full",
  ): Promise<RecalledSegment[]> {
    const overlaps = (e: QueueEntry) =>
      e.kind === "segment" && e.camera === camera && (e.rendition ?? "full") === rendition &&
      e.startMs! < toMs && e.startMs! + e.durationS! * 1000 > fromMs;
    const found: RecalledSegment[] = [];
    const note = (e: QueueEntry, recalled: boolean) =>
      found.push({
        key: `${e.recordingId}/${e.sequence}`,
        startMs: e.startMs!,
        endMs: e.startMs! + e.durationS! * 1000,
        bytes: e.bytes,
        recalled,
      });
    for (const entry of [...this.#queue.ascending()].filter(overlaps)) {
      if (entry.recallId === recallId) note(entry, true);
      else if (this.#inFlight.has(entry)) note(entry, false);
      else if (entry.recallId === undefined) {
        entry.recallId = recallId;
        await writeSidecar(
          `${this.#queueDir(camera, entry.recordingId)}/${sidecarName(entry.file)}`,
          entry,
        );
        this.#priority.add(entry);
        note(entry, true);
      }
    }
    let moved = 0;
    for (const entry of [...this.#ring.ascending()].filter(overlaps)) {
      if (!this.#ring.has(entry)) continue; // evicted meanwhile
      note(await this.#ringToQueue(entry, recallId), true);
      moved++;
    }
    for (const recordingId of new Set(found.map((f) => f.key.split("/")[0]))) {
      await this.#tidyRing(camera, recordingId);
    }
    if (found.some((f) => f.recalled)) this.onQueued();
    this.#log.info("segments recalled", { recallId, camera, found: found.length, moved });
    return found;
  }

  /**
   * Queues everything the ring holds of `camera`'s `rendition` as continuous traffic, oldest
   * first: what was held while the vehicle had never heard its instructions, once they say this
   * camera uploads it. Returns how many segments were queued.
   */
  async promote(camera: string, rendition: Rendition): Promise<number> {
    const recordings = new Set<string>();
    let moved = 0;
    for (const entry of [...this.#ring.ascending()]) {
      if (
        entry.kind !== "segment" || entry.camera !== camera ||
        (entry.rendition ?? "full") !== rendition || !this.#ring.has(entry)
      ) continue;
      await this.#ringToQueue(entry, undefined);
      recordings.add(entry.recordingId);
      moved++;
    }
    for (const recordingId of recordings) await this.#tidyRing(camera, recordingId);
    if (moved) {
      this.onQueued();
      this.#log.info("held segments queued", { camera, rendition, moved });
    }
    return moved;
  }

  /**
   * Moves a ring segment into the upload queue (bound to `recallId` when given, which puts it
   * ahead of continuous traffic), with a copy of its recording's init before it and of its end
   * after it when those are still only in the ring.
   */
  async #ringToQueue(entry: QueueEntry, recallId: string | undefined): Promise<QueueEntry> {
    const { camera, recordingId } = entry;
    const state = this.#recording(camera, recordingId);
    await this.#queueInitFor(state, camera, recordingId);
    const queued: QueueEntry = { ...entry, ticket: this.#nextTicket++ };
    if (recallId !== undefined) queued.recallId = recallId;
    const from = this.#ringDir(camera, recordingId);
    const dir = this.#queueDir(camera, recordingId);
    await Deno.mkdir(dir, { recursive: true });
    await writeSidecar(`${dir}/${sidecarName(entry.file)}`, queued);
    await Deno.rename(`${from}/${entry.file}`, `${dir}/${entry.file}`);
    await removeIfThere(`${from}/${sidecarName(entry.file)}`);
    this.#dropRing(entry);
    this.#add(queued);
    if (state.ringEnd && !state.end) await this.#queueEndCopy(state.ringEnd);
    return queued;
  }

  /** Queues a copy of a ring recording's end (after its recalled segments). */
  async #queueEndCopy(end: QueueEntry): Promise<void> {
    const dir = this.#queueDir(end.camera, end.recordingId);
    const entry: QueueEntry = { ...end, ticket: this.#nextTicket++ };
    await writeSidecar(`${dir}/${sidecarName("end")}`, entry);
    this.#add(entry);
  }

  /**
   * Unbinds the queued segments of a recall that is no longer wanted: those the policy keeps on
   * the vehicle go back into the ring, the rest stay queued as continuous traffic.
   */
  async forgetRecall(recallId: string): Promise<number> {
    let count = 0;
    for (const entry of [...this.#priority.ascending()]) {
      if (entry.recallId !== recallId || this.#inFlight.has(entry)) continue;
      const dir = this.#queueDir(entry.camera, entry.recordingId);
      const route = this.route({ camera: entry.camera, rendition: entry.rendition ?? "full" });
      this.#priority.delete(entry);
      delete entry.recallId;
      count++;
      if (route.to === "queue") {
        await writeSidecar(`${dir}/${sidecarName(entry.file)}`, entry);
        continue;
      }
      this.#drop(entry);
      await this.#keepInRing(`${dir}/${entry.file}`, entry);
      await removeIfThere(`${dir}/${sidecarName(entry.file)}`);
      await this.#unqueueUnsent(entry.camera, entry.recordingId);
    }
    return count;
  }

  /** Takes back the init and end copies of a recording none of whose segments is queued now. */
  async #unqueueUnsent(camera: string, recordingId: string): Promise<void> {
    const state = this.#recordings.get(key(camera, recordingId));
    if (!state || state.initSent || !state.init || state.queued !== 1) return;
    const dir = this.#queueDir(camera, recordingId);
    for (const entry of [state.init, state.end]) {
      if (!entry || this.#inFlight.has(entry)) continue;
      this.#drop(entry);
      if (entry.kind !== "end") await removeIfThere(`${dir}/${entry.file}`);
      await removeIfThere(`${dir}/${sidecarName(entry.file)}`);
    }
    await this.#forget(camera, recordingId);
  }

  /** Every segment the vehicle holds (queued or in the ring), for the inventory. */
  *held(): Generator<HeldSegment> {
    for (const walk of [this.#queue.ascending(), this.#ring.ascending()]) {
      for (const entry of walk) {
        if (entry.kind !== "segment") continue;
        yield {
          camera: entry.camera,
          rendition: entry.rendition ?? "full",
          startMs: entry.startMs!,
          endMs: entry.startMs! + entry.durationS! * 1000,
        };
      }
    }
  }

  /** Time ranges of a camera's rendition the disk budget evicted (merged, bounded). */
  evicted(camera: string, rendition: Rendition = "full"): Range[] {
    return this.#evicted.get(camera, rendition);
  }

  /** End of the last segment of a camera's rendition harvested by this run, if any. */
  harvestedUntil(camera: string, rendition: Rendition = "full"): number | undefined {
    return this.#harvested.get(`${camera}/${rendition}`);
  }

  /** The clocks' stamp for an entry of `harvest`; none for what an earlier run captured. */
  #clockStamp(harvest: Harvest): Partial<ClockStamp> {
    return harvest.dir.endsWith(RECOVERING) ? {} : this.options.clockStamp?.() ?? {};
  }

  /** Loads every sidecar of the queue; drops half-written ones. */
  async #scanQueue(): Promise<void> {
    const found: QueueEntry[] = [];
    const root = `${this.options.dir}/queue`;
    for (const camera of await subfolders(root)) {
      for (const recordingId of await subfolders(`${root}/${camera}`)) {
        const dir = `${root}/${camera}/${recordingId}`;
        const names = new Set<string>();
        for await (const item of Deno.readDir(dir)) if (item.isFile) names.add(item.name);
        const described = new Set<string>();
        for (const name of names) {
          if (name.endsWith(".tmp")) {
            await removeIfThere(`${dir}/${name}`);
            continue;
          }
          if (!name.endsWith(".json")) continue;
          const file = name.slice(0, -5);
          let entry: QueueEntry;
          try {
            entry = parseSidecar(await Deno.readTextFile(`${dir}/${name}`), camera, recordingId);
          } catch (error) {
            this.#log.warn("damaged sidecar dropped", { dir, name, error });
            await removeIfThere(`${dir}/${name}`);
            continue;
          }
          if (entry.kind !== "end" && !names.has(file)) {
            // The sidecar was written but the file not moved yet: the capture folder still has it.
            await removeIfThere(`${dir}/${name}`);
            continue;
          }
          described.add(file);
          found.push(entry);
        }
        for (const name of names) {
          if (name.endsWith(".json") || name.endsWith(".tmp") || described.has(name)) continue;
          await this.#quarantineLoose(camera, recordingId, `${dir}/${name}`, "no sidecar");
        }
        await Deno.remove(dir).catch(() => {});
      }
    }
    found.sort((a, b) => a.ticket - b.ticket);
    for (const entry of found) this.#add(entry);
    this.#nextTicket = (found.at(-1)?.ticket ?? -1) + 1;
  }

  /** Loads the ring's sidecars; drops half-written ones and files without one. */
  async #scanRing(): Promise<void> {
    const found: QueueEntry[] = [];
    const root = `${this.options.dir}/ring`;
    for (const camera of await subfolders(root)) {
      for (const recordingId of await subfolders(`${root}/${camera}`)) {
        const dir = `${root}/${camera}/${recordingId}`;
        const names = new Set<string>();
        for await (const item of Deno.readDir(dir)) if (item.isFile) names.add(item.name);
        const described = new Set<string>();
        for (const name of names) {
          if (!name.endsWith(".json")) continue;
          const file = name.slice(0, -5);
          try {
            const entry = parseSidecar(
              await Deno.readTextFile(`${dir}/${name}`),
              camera,
              recordingId,
            );
            if (entry.kind === "end" || names.has(file)) {
              described.add(file);
              found.push(entry);
              continue;
            }
          } catch (error) {
            this.#log.warn("damaged sidecar dropped", { dir, name, error });
          }
          await removeIfThere(`${dir}/${name}`);
        }
        for (const name of names) {
          if (!name.endsWith(".json") && !described.has(name)) {
            await removeIfThere(`${dir}/${name}`);
          }
        }
        await Deno.remove(dir).catch(() => {});
      }
    }
    found.sort((a, b) => a.ticket - b.ticket);
    for (const entry of found) this.#addRing(entry);
    const last = found.at(-1)?.ticket ?? -1;
    this.#nextTicket = Math.max(this.#nextTicket, last + 1);
  }

  /**
   * Recovers a capture folder of a previous run. It is first renamed: an ffmpeg orphaned by a
   * SIGKILLed agent may still be writing into it, and fails (and exits) at its next segment once
   * the folder is gone — so nothing can change in it while it is harvested.
   */
  async #recover(camera: string, name: string): Promise<void> {
    const base = `${this.options.dir}/capture/${camera}`;
    const recordingId = name.endsWith(RECOVERING) ? name.slice(0, -RECOVERING.length) : name;
    const dir = `${base}/${recordingId}${RECOVERING}`;
    if (!name.endsWith(RECOVERING)) await Deno.rename(`${base}/${name}`, dir);
    const file = await readJson<Record<string, unknown>>(`${dir}/${CLOCK_FILE}`);
    const saved = parseCaptureClockState(file);
    const epoch = file?.captureEpochMs;
    const rendition: Rendition = file?.rendition === "proxy" ? "proxy" : "full";
    const harvest: Harvest = {
      camera,
      recordingId,
      dir,
      initDone: false,
      lastSequence: -1,
      lastEndMs: undefined,
      count: 0,
      clock: new CaptureClock({ thresholdMs: this.options.reanchorMs ?? 1_000, state: saved }),
      captureEpochMs: typeof epoch === "number" && Number.isFinite(epoch) ? epoch : undefined,
      rendition,
    };
    let playlist: CapturePlaylist = { init: undefined, segments: [], ended: false };
    try {
      playlist = parseCapturePlaylist(await Deno.readTextFile(`${dir}/index.m3u8`));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) {
        this.#log.warn("unreadable playlist in a capture folder", { dir, error });
      }
    }
    // Finished files ffmpeg had not listed yet: it renames a segment before rewriting the playlist.
    const listed = new Set(playlist.segments.map((s) => s.sequence));
    const unlisted: number[] = [];
    for await (const item of Deno.readDir(dir)) {
      const sequence = segmentSequence(item.name);
      if (item.isFile && sequence !== undefined && !listed.has(sequence)) unlisted.push(sequence);
    }
    unlisted.sort((a, b) => a - b);
    const estimated = estimateUnlisted(playlist, unlisted, this.options.segmentSeconds);
    for (const sequence of unlisted) {
      if (estimated.some((s) => s.sequence === sequence)) continue;
      await this.#quarantineLoose(
        camera,
        recordingId,
        `${dir}/${segmentFileName(sequence)}`,
        "finished segment that ffmpeg never listed, with no timing to estimate",
      );
    }
    if (estimated.length && !playlist.init) playlist.init = "init.mp4";
    const all = { ...playlist, segments: [...playlist.segments, ...estimated] };
    all.segments.sort((a, b) => a.sequence - b.sequence);
    this.#recording(camera, recordingId).active = true;
    await this.harvest(harvest, all, true);
    const lastListed = playlist.segments.at(-1);
    const producedAnything = playlist.init !== undefined || lastListed !== undefined;
    await this.end(harvest, producedAnything ? harvest.lastEndMs ?? Date.now() : undefined);
    this.#log.info("recording recovered", {
      camera,
      recordingId,
      queued: harvest.count,
      estimated: estimated.length,
    });
  }

  /**
   * Evicts the oldest segments while the queue and the ring are over their budget: the ring's
   * first, queued uploads only when the ring has none.
   */
  async #enforceBudget(): Promise<void> {
    const budget = this.options.diskBudgetBytes;
    if (this.#bytes + this.#ringBytes <= budget) return;
    let segments = 0;
    let bytes = 0;
    const cameras = new Set<string>();
    while (this.#bytes + this.#ringBytes > budget) {
      const fromRing = this.#ringEvictable();
      const victim = fromRing ?? this.#evictable();
      if (!victim) {
        this.#log.warn("queue over its disk budget but nothing can be evicted", {
          bytes: this.#bytes,
          ringBytes: this.#ringBytes,
          budget,
        });
        break;
      }
      if (fromRing) await this.#removeRing(victim);
      else {
        this.#drop(victim);
        const dir = this.#queueDir(victim.camera, victim.recordingId);
        await removeIfThere(`${dir}/${victim.file}`);
        await removeIfThere(`${dir}/${sidecarName(victim.file)}`);
      }
      if (victim.kind === "segment") {
        const startMs = victim.startMs!;
        this.#evicted.add(victim.camera, victim.rendition ?? "full", [
          startMs,
          startMs + victim.durationS! * 1000,
        ]);
      }
      const count = this.#count(victim.camera);
      count.evictedSegments++;
      count.evictedBytes += victim.bytes;
      segments++;
      bytes += victim.bytes;
      cameras.add(victim.camera);
      if (fromRing) await this.#tidyRing(victim.camera, victim.recordingId);
      await this.#forget(victim.camera, victim.recordingId);
    }
    if (segments === 0) return;
    await this.#saveCounters();
    const path = `${this.options.dir}/evicted.json`;
    await writeSynced(`${path}.tmp`, JSON.stringify(this.#evicted));
    await Deno.rename(`${path}.tmp`, path);
    this.#log.warn("queue over its disk budget: oldest segments evicted", {
      evictedNow: segments,
      evictedBytesNow: bytes,
      totals: Object.fromEntries([...cameras].map((c) => [c, this.#count(c)])),
      budget: this.options.diskBudgetBytes,
    });
  }

  /** The ring's oldest media segment. */
  #ringEvictable(): QueueEntry | undefined {
    for (const entry of this.#ring.ascending()) if (entry.kind === "segment") return entry;
    return undefined;
  }

  /** The oldest media segment not in flight, or an init nothing needs any more. */
  #evictable(): QueueEntry | undefined {
    for (const entry of this.#queue.ascending()) {
      if (this.#inFlight.has(entry) || entry.kind === "end") continue;
      if (entry.kind === "segment") return entry;
      const state = this.#recordings.get(key(entry.camera, entry.recordingId));
      if (state && !state.active && state.queued === 1) return entry;
    }
    return undefined;
  }

  async #quarantineLoose(camera: string, recordingId: string, path: string, reason: string) {
    const to = `${this.options.dir}/quarantine/${camera}/${recordingId}`;
    await Deno.mkdir(to, { recursive: true });
    const file = path.slice(path.lastIndexOf("/") + 1);
    await Deno.rename(path, `${to}/${file}`);
    await Deno.writeTextFile(
      `${to}/${sidecarName(file)}`,
      JSON.stringify({ camera, recordingId, file, reason }),
    );
    this.#count(camera).quarantined++;
    await this.#saveCounters();
    this.#log.error("file quarantined", { camera, recordingId, file, reason });
  }

  /** Deletes the oldest quarantined files beyond the quarantine's budget. */
  async #trimQuarantine(): Promise<void> {
    const files: Array<{ path: string; size: number; mtime: number }> = [];
    const root = `${this.options.dir}/quarantine`;
    for (const camera of await subfolders(root)) {
      for (const recording of await subfolders(`${root}/${camera}`)) {
        for await (const item of Deno.readDir(`${root}/${camera}/${recording}`)) {
          const path = `${root}/${camera}/${recording}/${item.name}`;
          const info = await Deno.stat(path);
          files.push({ path, size: info.size, mtime: info.mtime?.getTime() ?? 0 });
        }
      }
    }
    files.sort((a, b) => a.mtime - b.mtime);
    let total = files.reduce((sum, f) => sum + f.size, 0);
    let deleted = 0;
    for (const file of files) {
      if (total <= this.options.quarantineBudgetBytes) break;
      await removeIfThere(file.path);
      total -= file.size;
      deleted++;
    }
    this.#quarantineBytes = total;
    if (deleted) this.#log.warn("quarantine over its budget: oldest files deleted", { deleted });
  }

  async #saveCounters(): Promise<void> {
    const path = `${this.options.dir}/counters.json`;
    await writeSynced(`${path}.tmp`, JSON.stringify(this.#counters));
    await Deno.rename(`${path}.tmp`, path);
  }
}

function key(camera: string, recordingId: string): string {
  return `${camera}/${recordingId}`;
}

function split(k: string): [string, string] {
  const at = k.indexOf("/");
  return [k.slice(0, at), k.slice(at + 1)];
}

function* chain<T>(...walks: Iterable<T>[]): Generator<T> {
  for (const walk of walks) yield* walk;
}

/** Writes bytes to `path` and syncs them to the disk. */
async function writeFileSynced(path: string, bytes: Uint8Array): Promise<void> {
  await Deno.writeFile(path, bytes);
  using file = await Deno.open(path, { write: true });
  await file.syncData();
}
