/**
 * The spool: the upload queue on disk. ffmpeg writes into `capture/<camera>/<recording>/`; each
 * finished file is hashed, described by a sidecar (written to a temporary name, synced, renamed)
 * and then renamed into `queue/<camera>/<recording>/`. Both renames are atomic, so after a SIGKILL
 * or a power cut every file is either still in the capture folder (and is harvested again) or
 * queued with its sidecar. Nothing is deleted before the server acknowledged it, except by the
 * disk budget, which evicts the oldest segments and counts what it evicted.
 *
 *   <spool>/capture/<camera>/<recordingId>/   ffmpeg's output (index.m3u8, init.mp4, *.m4s, *.tmp)
 *   <spool>/queue/<camera>/<recordingId>/     init.mp4, 0000000012.m4s, … each with a .json sidecar;
 *                                             end.json once the recording is over
 *   <spool>/quarantine/<camera>/<recordingId>/ files the server refused for good, with the reason
 *   <spool>/counters.json                     evictions and quarantines, per camera, cumulative
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
  sidecarName,
  TicketQueue,
} from "./queue_entry.ts";

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
}

interface RecordingState {
  init: QueueEntry | undefined;
  /** Queued init and media entries (not the end). */
  queued: number;
  end: QueueEntry | undefined;
  active: boolean;
}

type Counters = Record<
  string,
  { evictedSegments: number; evictedBytes: number; quarantined: number }
>;

const RECOVERING = ".recovering";
/** The capture clock's state, in the capture folder (so crash recovery keeps its correction). */
const CLOCK_FILE = "capture_clock.json";
/** Bytes read from the start of a segment to find its timestamps (styp, moof). */
const SEGMENT_HEAD_BYTES = 256 * 1024;

/** The on-disk upload queue. */
export class Spool {
  readonly #queue = new TicketQueue();
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

  /**
   * Loads the queue and recovers the capture folders a previous run left (crash, SIGKILL, power
   * cut): their finished segments are queued and their recordings ended. Call before capturing.
   */
  async open(): Promise<void> {
    for (const sub of ["capture", "queue", "quarantine"]) {
      await Deno.mkdir(`${this.options.dir}/${sub}`, { recursive: true });
    }
    this.#counters = await readJson(`${this.options.dir}/counters.json`) ?? {};
    await this.#scanQueue();
    this.#quarantineBytes = await folderBytes(`${this.options.dir}/quarantine`);
    for (const camera of await subfolders(`${this.options.dir}/capture`)) {
      for (const name of await subfolders(`${this.options.dir}/capture/${camera}`)) {
        await this.#recover(camera, name);
      }
    }
    await this.#enforceBudget();
    this.#log.info("spool opened", {
      dir: this.options.dir,
      queued: this.#queue.size,
      bytes: this.#bytes,
    });
  }

  /**
   * Creates the capture folder of a new recording and returns its harvest state. With
   * `captureEpochMs`, ffmpeg stamps frames with the wall clock minus that epoch, and segment
   * times are read from the segments themselves.
   */
  async begin(camera: string, recordingId: string, captureEpochMs?: number): Promise<Harvest> {
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
    const saved = { captureEpochMs: harvest.captureEpochMs ?? null, ...harvest.clock.state };
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
    if (endedAtMs !== undefined) {
      const dir = this.#queueDir(harvest.camera, harvest.recordingId);
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
      };
      await writeSidecar(`${dir}/${sidecarName("end")}`, entry);
      if (state.end) this.#queue.delete(state.end);
      state.end = entry;
      this.#queue.add(entry);
      this.onQueued();
    }
    await Deno.remove(harvest.dir, { recursive: true }).catch(() => {});
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
    for (const entry of walk) {
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
    if (entry.kind !== "end") await removeIfThere(`${dir}/${entry.file}`);
    await removeIfThere(`${dir}/${sidecarName(entry.file)}`);
    await this.#forget(entry.camera, entry.recordingId);
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

  #recording(camera: string, recordingId: string): RecordingState {
    const k = key(camera, recordingId);
    let state = this.#recordings.get(k);
    if (!state) {
      state = { init: undefined, queued: 0, end: undefined, active: false };
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
  }

  #drop(entry: QueueEntry): void {
    if (!this.#queue.has(entry)) return;
    this.#queue.delete(entry);
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
    this.#recordings.delete(k);
    await Deno.remove(this.#queueDir(camera, recordingId)).catch(() => {});
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
    const dir = this.#queueDir(harvest.camera, harvest.recordingId);
    await Deno.mkdir(dir, { recursive: true });
    const entry: QueueEntry = {
      ticket: this.#nextTicket++,
      kind,
      camera: harvest.camera,
      recordingId: harvest.recordingId,
      file,
      bytes: bytes.byteLength,
      sha256: await sha256Base64(bytes),
      ...extra,
      ...this.#clockStamp(harvest),
    };
    await writeSidecar(`${dir}/${sidecarName(file)}`, entry);
    await Deno.rename(source, `${dir}/${file}`);
    const state = this.#recording(harvest.camera, harvest.recordingId);
    const previous = kind === "init" ? state.init : undefined;
    if (previous) this.#drop(previous);
    this.#add(entry);
    harvest.count++;
    this.#log.debug("segment queued", {
      camera: entry.camera,
      recordingId: entry.recordingId,
      file,
      bytes: entry.bytes,
    });
    return true;
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

  /** Evicts the oldest segments while the queue is over its budget. */
  async #enforceBudget(): Promise<void> {
    if (this.#bytes <= this.options.diskBudgetBytes) return;
    let segments = 0;
    let bytes = 0;
    const cameras = new Set<string>();
    while (this.#bytes > this.options.diskBudgetBytes) {
      const victim = this.#evictable();
      if (!victim) {
        this.#log.warn("queue over its disk budget but nothing can be evicted", {
          bytes: this.#bytes,
          budget: this.options.diskBudgetBytes,
        });
        break;
      }
      this.#drop(victim);
      const dir = this.#queueDir(victim.camera, victim.recordingId);
      await removeIfThere(`${dir}/${victim.file}`);
      await removeIfThere(`${dir}/${sidecarName(victim.file)}`);
      const count = this.#count(victim.camera);
      count.evictedSegments++;
      count.evictedBytes += victim.bytes;
      segments++;
      bytes += victim.bytes;
      cameras.add(victim.camera);
      await this.#forget(victim.camera, victim.recordingId);
    }
    if (segments === 0) return;
    await this.#saveCounters();
    this.#log.warn("queue over its disk budget: oldest segments evicted", {
      evictedNow: segments,
      evictedBytesNow: bytes,
      totals: Object.fromEntries([...cameras].map((c) => [c, this.#count(c)])),
      budget: this.options.diskBudgetBytes,
    });
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
