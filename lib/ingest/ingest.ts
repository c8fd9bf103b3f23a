import type { Catalog, Rendition, UsageKind } from "../catalog/mod.ts";
import { type EventBus, SEGMENTS_TOPIC } from "../bus/mod.ts";
import { type DiskHealth, writeFailureOf } from "../disk/mod.ts";
import {
  ConflictError,
  InsufficientStorageError,
  NotFoundError,
  PayloadTooLargeError,
  UnavailableError,
  UnprocessableContentError,
  UnsupportedMediaTypeError,
  ValidationError,
} from "../errors/mod.ts";
import type { Logger } from "../log/mod.ts";
import {
  checkMediaSegment,
  checkTransportStream,
  type InitSegmentInfo,
  MediaFormatError,
  parseInitSegment,
  sniffMediaType,
} from "../media/mod.ts";
import {
  BodyTooLargeError,
  DigestMismatchError,
  IncompleteBodyError,
  type ObjectStore,
} from "../storage/mod.ts";
import { parseContentDigest } from "./digest.ts";
import type { SegmentEvent } from "./events.ts";
import { readBody, readHead, type Upload } from "./upload.ts";

/** A recording id as vehicles choose them: `r20261124T034825Z-k3f9`. */
export const RECORDING_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** Largest sequence number. */
export const MAX_SEQUENCE = 2_147_483_647;
/** Longest segment accepted. */
export const MAX_SEGMENT_MS = 60_000;
const EARLIEST_MS = Date.UTC(2000, 0, 1);
/** Bytes enough to tell fMP4 from MPEG-TS (three TS sync bytes). */
const SNIFF_BYTES = 377;
/** Vehicles whose cameras are remembered at most; past it the memory starts again. */
const MAX_CACHED_VEHICLES = 10_000;
/** Default of `IngestOptions.bufferBytes`. */
const DEFAULT_BUFFER_BYTES = 512 * 1024 * 1024;
/** Recordings whose init segment is remembered at most; past it the least recently used goes. */
const MAX_CACHED_INITS = 1000;

/** Where an upload goes: the vehicle (from its token), its camera and recording. */
export interface UploadTarget {
  fleetId: string;
  vehicleId: string;
  cameraName: string;
  recordingId: string;
  /** The recording's rendition (`Motorcade-Rendition`); absent: "full". */
  rendition?: Rendition;
  /** Why it is uploaded (`Motorcade-Upload-Kind`); absent: "continuous". */
  uploadKind?: UploadKind;
  /** The recall a recall upload fulfils (`Motorcade-Recall-Id`). */
  recallId?: string;
}

/** Why a vehicle uploads a segment: its policy's continuous upload, or a recall. */
export type UploadKind = "continuous" | "recall";

/** What an upload's bytes count as in data usage: the proxy, else why it was uploaded. */
export function usageKindOf(target: Pick<UploadTarget, "rendition" | "uploadKind">): UsageKind {
  return target.rendition === "proxy" ? "proxy" : target.uploadKind ?? "continuous";
}

/**
 * The rendition, usage kind and recall of an upload's events (only what differs from default);
 * `byEvent`: the recall was made by an event rule, so its bytes count as "event".
 */
function uploadFacts(target: UploadTarget, byEvent = false): {
  rendition?: Rendition;
  kind?: UsageKind;
  recallId?: string;
} {
  const kind = byEvent && usageKindOf(target) === "recall" ? "event" : usageKindOf(target);
  return {
    ...(target.rendition && target.rendition !== "full" ? { rendition: target.rendition } : {}),
    ...(kind !== "continuous" ? { kind } : {}),
    ...(target.recallId ? { recallId: target.recallId } : {}),
  };
}

/** A media segment's timing, from the vehicle's headers. */
export interface SegmentTiming {
  sequence: number;
  /** The first frame on the vehicle's own clock. */
  startMs: number;
  durationMs: number;
  /** The same instant on the server's clock, as the vehicle estimates it (when it could). */
  correctedStartMs?: number;
}

/** The outcome of an upload: created, or already there with the same bytes. */
export interface IngestResult {
  created: boolean;
  objectKey: string;
  size: number;
  sha256: string;
}

/** Options of {@linkcode Ingest}. */
export interface IngestOptions {
  maxClockSkewMs: number;
  /**
   * How long a vehicle's cameras are remembered (default 5 s; 0: ask the catalog every time). A
   * camera added is seen at once; one deleted may still take uploads that long, whose events the
   * indexer then drops, as it does for uploads racing the deletion.
   */
  cameraCacheMs?: number;
  now?: () => number;
  /**
   * Bytes all uploads being read and checked may hold at once (each reserves its declared size,
   * or the segment limit when chunked); past it an upload is refused with 503 and Retry-After
   * before its body is read. Default 512 MiB.
   */
  bufferBytes?: number;
  /** Told about segments and ends re-timed because the vehicle's clock was not plausible. */
  logger?: Logger;
  /**
   * The storage's health: while it refuses writes (or free space is below its floor) uploads are
   * refused with 507 and Retry-After before their bodies are read; failed writes are told to it.
   */
  disk?: DiskHealth;
}

/** Recalls whose origin is remembered at most; past it the memory starts again. */
const MAX_CACHED_RECALLS = 10_000;

/** Recordings whose re-timing is remembered at most; past it the memory starts again. */
const MAX_RETIMED_RECORDINGS = 10_000;

/**
 * Ingest — the seed's API Gateway + Lambda. Checks an upload (camera, ids, timing, digest, that
 * the bytes are video), stores it atomically under its idempotent key, then publishes the event
 * the indexer consumes. A retry of the same bytes succeeds again (and re-publishes: duplicates
 * are harmless downstream); different bytes under the same key are a conflict.
 */
export class Ingest {
  readonly #now: () => number;
  readonly #cameraCacheMs: number;
  /** Camera ids by name, per `fleetId/vehicleId`, with when they were read. */
  readonly #cameras = new Map<string, { at: number; ids: Map<string, string> }>();
  /** Parsed init segments by object key, least recently used first (null: stored but unusable). */
  readonly #inits = new Map<string, InitSegmentInfo | null>();
  /** Bytes reserved by the uploads being read and checked now. */
  #buffered = 0;
  /**
   * Per re-timed recording (`cameraId/recordingId`): server time minus the vehicle's time, as the
   * catalog holds it for every ingest process (the first stored wins); this process's copy.
   */
  readonly #retimed = new Map<string, number>();
  /** Whether a recall (`vehicleId/recallId`) was made by an event rule; a recall's origin never changes. */
  readonly #recallByEvent = new Map<string, boolean>();

  constructor(
    private readonly catalog: Catalog,
    private readonly store: ObjectStore,
    private readonly bus: EventBus,
    private readonly options: IngestOptions,
  ) {
    this.#now = options.now ?? Date.now;
    this.#cameraCacheMs = options.cameraCacheMs ?? 5000;
  }

  /** Stores a recording's CMAF init segment. */
  async acceptInit(target: UploadTarget, upload: Upload): Promise<IngestResult> {
    const cameraId = await this.#camera(target);
    const sha256 = parseContentDigest(upload.digest);
    const head = await this.#head(upload);
    if (sniffMediaType(head) !== "fmp4") {
      await upload.body.cancel().catch(() => {});
      throw new UnsupportedMediaTypeError("Init segment must be an ISO BMFF (fMP4) file");
    }
    const objectKey = `${
      recordingPrefix(target.fleetId, target.vehicleId, cameraId, target.recordingId)
    }init.mp4`;
    await this.#refuseWhenFull(upload, `the init segment of recording "${target.recordingId}"`);
    const release = await this.#reserve(upload);
    try {
      return await this.#acceptInit(target, cameraId, objectKey, sha256, upload, head);
    } finally {
      release();
    }
  }

  async #acceptInit(
    target: UploadTarget,
    cameraId: string,
    objectKey: string,
    sha256: string,
    upload: Upload,
    head: Uint8Array,
  ): Promise<IngestResult> {
    const bytes = await readBody(upload, head);
    const info = await this.#checkMedia(
      objectKey,
      bytes,
      sha256,
      `Cannot accept the init segment of recording "${target.recordingId}"`,
      () => parseInitSegment(bytes),
    );
    const result = await this.#store(objectKey, bytes, upload, sha256, "video/mp4");
    this.#rememberInit(objectKey, info);
    const at = this.#now();
    await this.#publish(cameraId, {
      type: "init.stored",
      fleetId: target.fleetId,
      vehicleId: target.vehicleId,
      cameraId,
      recordingId: target.recordingId,
      objectKey,
      at,
      size: result.size,
      ...uploadFacts(target, await this.#byEvent(target)),
      created: result.created,
      storedAt: at,
    });
    return result;
  }

  /** Stores one media segment. */
  async acceptSegment(
    target: UploadTarget,
    timing: SegmentTiming,
    upload: Upload,
  ): Promise<IngestResult> {
    const cameraId = await this.#camera(target);
    this.#checkTiming(timing);
    const startMs = await this.#placeStart(cameraId, target, timing);
    const sha256 = parseContentDigest(upload.digest);
    const head = await this.#head(upload);
    const type = sniffMediaType(head);
    if (!type) {
      await upload.body.cancel().catch(() => {});
      throw new UnsupportedMediaTypeError(
        "Segment must be fMP4 (CMAF) or MPEG-TS; the body is neither",
      );
    }
    const name = `${String(timing.sequence).padStart(10, "0")}.${type === "fmp4" ? "m4s" : "ts"}`;
    const prefix = recordingPrefix(target.fleetId, target.vehicleId, cameraId, target.recordingId);
    const objectKey = prefix + name;
    const contentType = type === "fmp4" ? "video/iso.segment" : "video/mp2t";
    await this.#refuseWhenFull(upload, `segment "${timing.sequence}"`);
    const release = await this.#reserve(upload);
    try {
      const bytes = await readBody(upload, head);
      const init = type === "fmp4" ? await this.#initOf(`${prefix}init.mp4`) : undefined;
      await this.#checkMedia(
        objectKey,
        bytes,
        sha256,
        `Cannot accept segment "${timing.sequence}"`,
        () => type === "fmp4" ? checkMediaSegment(bytes, init) : checkTransportStream(bytes),
      );
      const result = await this.#store(objectKey, bytes, upload, sha256, contentType);
      await this.#publish(cameraId, {
        type: "segment.stored",
        fleetId: target.fleetId,
        vehicleId: target.vehicleId,
        cameraId,
        recordingId: target.recordingId,
        sequence: timing.sequence,
        startMs,
        durationMs: timing.durationMs,
        size: result.size,
        sha256,
        objectKey,
        ...uploadFacts(target, await this.#byEvent(target)),
        created: result.created,
        storedAt: this.#now(),
      });
      return result;
    } finally {
      release();
    }
  }

  /**
   * Records that the vehicle finished a recording, at `correctedEndedAtMs` (the server's clock, as
   * the vehicle estimates it) or else `endedAtMs` (its own). An end time that is not plausible is
   * moved like the recording's segments were, or to now: never refused for its time alone.
   */
  async endRecording(
    target: UploadTarget,
    endedAtMs: number,
    correctedEndedAtMs?: number,
  ): Promise<void> {
    const cameraId = await this.#camera(target);
    const now = this.#now();
    let endedAt = [correctedEndedAtMs, endedAtMs].find((t) =>
      t !== undefined && this.#plausible(t, now)
    );
    if (endedAt === undefined && Number.isFinite(endedAtMs)) {
      const key = `${cameraId}/${target.recordingId}`;
      const delta = this.#retimed.get(key) ??
        await this.catalog.retimes.get(cameraId, target.recordingId);
      if (delta !== undefined && this.#plausible(endedAtMs + delta, now)) {
        endedAt = endedAtMs + delta;
      }
    }
    if (endedAt === undefined) {
      endedAt = now;
      this.options.logger?.warn("recording end re-timed: the vehicle's clock is not plausible", {
        recordingId: target.recordingId,
        vehicleId: target.vehicleId,
        endedAt: Number.isFinite(endedAtMs) ? new Date(endedAtMs).toISOString() : null,
      });
    }
    await this.#publish(cameraId, {
      type: "recording.ended",
      fleetId: target.fleetId,
      vehicleId: target.vehicleId,
      cameraId,
      recordingId: target.recordingId,
      endedAt,
    });
  }

  /**
   * Whether a recall upload fulfils a recall an event rule made (its bytes count as "event"); a
   * recall unknown here (or another vehicle's) counts as an operator's.
   */
  async #byEvent(target: UploadTarget): Promise<boolean> {
    if (target.uploadKind !== "recall" || !target.recallId || target.rendition === "proxy") {
      return false;
    }
    const key = `${target.vehicleId}/${target.recallId}`;
    let byEvent = this.#recallByEvent.get(key);
    if (byEvent === undefined) {
      const recall = await this.catalog.recalls.get(target.fleetId, target.recallId);
      if (!recall) return false;
      byEvent = recall.vehicleId === target.vehicleId && recall.origin === "event";
      if (this.#recallByEvent.size >= MAX_CACHED_RECALLS) this.#recallByEvent.clear();
      this.#recallByEvent.set(key, byEvent);
    }
    return byEvent;
  }

  /** Refuses `upload` (507, Retry-After) before its body is read while storage refuses writes. */
  async #refuseWhenFull(upload: Upload, what: string): Promise<void> {
    try {
      this.options.disk?.refuseWhenFull(what);
    } catch (error) {
      await upload.body.cancel().catch(() => {});
      throw error;
    }
  }

  /**
   * Reserves what `upload` may hold in memory while it is read and checked; returns the release.
   * Past the budget the upload is refused (503, Retry-After) before its body is read.
   */
  async #reserve(upload: Upload): Promise<() => void> {
    const bytes = Math.min(upload.size ?? upload.maxBytes, upload.maxBytes);
    const budget = this.options.bufferBytes ?? DEFAULT_BUFFER_BYTES;
    if (this.#buffered > 0 && this.#buffered + bytes > budget) {
      await upload.body.cancel().catch(() => {});
      throw new UnavailableError(
        `Cannot read the upload now: ${this.#buffered} of ${budget} bytes of ingest buffers are ` +
          "in use; retry shortly",
        1,
      );
    }
    this.#buffered += bytes;
    let released = false;
    return () => {
      if (!released) this.#buffered -= bytes;
      released = true;
    };
  }

  async #camera(target: UploadTarget): Promise<string> {
    if (!RECORDING_ID.test(target.recordingId)) {
      throw new ValidationError(
        `Recording id "${target.recordingId.slice(0, 80)}" must be 1-64 letters, digits, _ or -`,
        [{ path: "recordingId", message: "invalid" }],
      );
    }
    const vehicle = `${target.fleetId}/${target.vehicleId}`;
    const now = this.#now();
    const cached = this.#cameras.get(vehicle);
    if (cached && now - cached.at < this.#cameraCacheMs) {
      const id = cached.ids.get(target.cameraName);
      if (id) return id;
    }
    const cameras = await this.catalog.cameras.list(target.fleetId, target.vehicleId);
    const ids = new Map(cameras.map((c) => [c.name, c.id]));
    if (this.#cameraCacheMs > 0) {
      if (this.#cameras.size >= MAX_CACHED_VEHICLES) this.#cameras.clear();
      this.#cameras.set(vehicle, { at: now, ids });
    }
    const id = ids.get(target.cameraName);
    if (!id) {
      throw new NotFoundError(
        `Camera "${target.cameraName.slice(0, 40)}" is not registered for this vehicle`,
      );
    }
    return id;
  }

  #checkTiming({ sequence, durationMs }: SegmentTiming): void {
    if (!Number.isInteger(sequence) || sequence < 0 || sequence > MAX_SEQUENCE) {
      throw new ValidationError(`Sequence must be an integer from 0 to ${MAX_SEQUENCE}`, [
        { path: "sequence", message: "out of range" },
      ]);
    }
    if (!Number.isFinite(durationMs) || durationMs <= 0 || durationMs > MAX_SEGMENT_MS) {
      throw new ValidationError(
        `Segment duration must be more than 0 and at most ${MAX_SEGMENT_MS / 1000} s`,
        [{ path: "headers.motorcade-segment-duration", message: "out of range" }],
      );
    }
  }

  /** Whether a time may be a segment's: after 2000, and not further ahead than clocks drift. */
  #plausible(ms: number, now: number): boolean {
    return Number.isFinite(ms) && ms >= EARLIEST_MS && ms <= now + this.options.maxClockSkewMs;
  }

  /**
   * Where a segment goes on the server's timeline: its corrected start, else its own, when
   * plausible. A vehicle whose clock is far ahead or not set at all (no correction known: it has
   * been offline since boot, or its previous run captured it) still loses nothing: the segment is
   * re-timed to end when it arrived, and the rest of its recording moves by the same amount, so
   * that the recording stays in one piece.
   */
  async #placeStart(
    cameraId: string,
    target: UploadTarget,
    timing: SegmentTiming,
  ): Promise<number> {
    const now = this.#now();
    const { startMs, correctedStartMs, durationMs } = timing;
    if (correctedStartMs !== undefined && this.#plausible(correctedStartMs, now)) {
      return correctedStartMs;
    }
    if (this.#plausible(startMs, now)) return startMs;
    const placed = now - durationMs;
    let start = placed;
    if (Number.isFinite(startMs)) {
      // The offset is the catalog's, so that every ingest process (and this one after a restart)
      // moves the recording by the same amount: the first offset stored wins.
      const key = `${cameraId}/${target.recordingId}`;
      const proposed = placed - startMs;
      const { retimes } = this.catalog;
      let delta = this.#retimed.get(key) ??
        await retimes.claim(cameraId, target.recordingId, proposed);
      if (!this.#plausible(startMs + delta, now)) {
        delta = await retimes.claim(cameraId, target.recordingId, proposed, delta);
      }
      if (!this.#plausible(startMs + delta, now)) delta = proposed;
      if (this.#retimed.size >= MAX_RETIMED_RECORDINGS) this.#retimed.clear();
      this.#retimed.set(key, delta);
      start = startMs + delta;
      if (delta !== proposed) return start;
    }
    this.options.logger?.warn("segment re-timed: the vehicle's clock is not plausible", {
      recordingId: target.recordingId,
      vehicleId: target.vehicleId,
      sequence: timing.sequence,
      vehicleStart: Number.isFinite(startMs) ? new Date(startMs).toISOString() : null,
      start: new Date(start).toISOString(),
    });
    return start;
  }

  /** The first bytes of an upload, to sniff; an empty upload is refused. */
  async #head(upload: Upload): Promise<Uint8Array> {
    if (upload.size === 0) throw new ValidationError("Request body is empty");
    const head = await readHead(upload.body, SNIFF_BYTES);
    if (head.byteLength === 0) throw new ValidationError("Request body is empty");
    return head;
  }

  /**
   * Runs `check` over an upload's bytes; media it refuses is a 422 naming what is wrong (`context`
   * first), unless the bytes are not those the vehicle sent (their digest is not the claimed one),
   * which is the 400 of an altered or truncated upload.
   */
  async #checkMedia<T>(
    key: string,
    bytes: Uint8Array,
    sha256: string,
    context: string,
    check: () => T,
  ): Promise<T> {
    try {
      return check();
    } catch (error) {
      if (!(error instanceof MediaFormatError)) throw error;
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
      const actual = btoa(String.fromCharCode(...digest));
      if (actual !== sha256) throw uploadError(new DigestMismatchError(key, actual));
      throw new UnprocessableContentError(`${context}: ${reasonOf(error)}`);
    }
  }

  /**
   * What the recording's stored init segment (`key`) says, remembered; undefined when it is not
   * stored yet, or was stored before ingest checked init segments and cannot be read.
   */
  async #initOf(key: string): Promise<InitSegmentInfo | undefined> {
    let info = this.#inits.get(key);
    if (info === undefined) {
      const read = await this.store.read(key);
      if (!read) return undefined;
      try {
        info = parseInitSegment(new Uint8Array(await new Response(read.body).arrayBuffer()));
      } catch (error) {
        if (!(error instanceof MediaFormatError)) throw error;
        info = null;
      }
    }
    this.#rememberInit(key, info);
    return info ?? undefined;
  }

  #rememberInit(key: string, info: InitSegmentInfo | null): void {
    this.#inits.delete(key);
    if (this.#inits.size >= MAX_CACHED_INITS) this.#inits.delete(this.#inits.keys().next().value!);
    this.#inits.set(key, info);
  }

  /**
   * Stores the upload's `bytes` (read whole and checked) under `key`, where they become visible
   * only whole and of digest `sha256`.
   */
  async #store(
    key: string,
    bytes: Uint8Array,
    upload: Upload,
    sha256: string,
    contentType: string,
  ): Promise<IngestResult> {
    let stored;
    try {
      stored = await this.store.putIfAbsent(key, ReadableStream.from([]), {
        contentType,
        sha256,
        maxBytes: upload.maxBytes,
        size: bytes.byteLength,
        prefix: bytes,
      });
    } catch (error) {
      const reason = writeFailureOf(error);
      if (reason) {
        this.options.disk?.report("objects", error);
        throw new InsufficientStorageError(
          `Cannot store "${key.split("/").slice(-3).join("/")}" now: ${reason}; retry later`,
          reason,
        );
      }
      throw uploadError(error);
    }
    const { created, object } = stored;
    if (!created && object.sha256 !== sha256) {
      throw new ConflictError(
        `Segment "${key.split("/").slice(-3).join("/")}" was already stored with other bytes`,
      );
    }
    return { created, objectKey: key, size: object.size, sha256 };
  }

  async #publish(cameraId: string, event: SegmentEvent): Promise<void> {
    try {
      await this.bus.publish(SEGMENTS_TOPIC, cameraId, event);
    } catch (error) {
      const reason = writeFailureOf(error);
      if (reason) {
        this.options.disk?.report("bus", error);
        throw new InsufficientStorageError(
          `Cannot record the upload now: ${reason}; retry it later (nothing is lost)`,
          reason,
        );
      }
      throw new UnavailableError(
        `Stored, but the event could not be published; retry the upload: ${
          (error as Error).message
        }`,
        (error as UnavailableError).retryAfterSeconds ?? 5,
      );
    }
  }
}

/** The client error for a body the store refused; other errors unchanged. */
function uploadError(error: unknown): unknown {
  if (error instanceof DigestMismatchError) {
    return new ValidationError(
      "Content-Digest does not match the body: the upload was altered or truncated",
      [{ path: "headers.content-digest", message: `body has sha-256=:${error.actual}:` }],
    );
  }
  if (error instanceof BodyTooLargeError) return new PayloadTooLargeError(error.limit);
  if (error instanceof IncompleteBodyError) {
    return new ValidationError(
      error.expected === undefined
        ? "Request body is truncated: the connection ended early"
        : `Request body is truncated: ${error.received} of ${error.expected} bytes arrived`,
    );
  }
  return error;
}

/** A media error's reason, to follow "Cannot accept segment …: ". */
function reasonOf(error: MediaFormatError): string {
  const reason = error.message.replace(
    /^Cannot use (media segment|init segment|transport stream): /,
    "",
  );
  return reason === error.message ? reason[0].toLowerCase() + reason.slice(1) : reason;
}

/** The object-key prefix of a recording's files. */
export function recordingPrefix(
  fleetId: string,
  vehicleId: string,
  cameraId: string,
  recordingId: string,
): string {
  return `${cameraPrefix(fleetId, vehicleId, cameraId)}${recordingId}/`;
}

/** The object-key prefix of every file of a camera. */
export function cameraPrefix(fleetId: string, vehicleId: string, cameraId: string): string {
  return `fleets/${fleetId}/vehicles/${vehicleId}/cameras/${cameraId}/`;
}
