/** Events ingest publishes on the segments topic, keyed by camera id. */
import type { Rendition, UsageKind } from "../catalog/mod.ts";

/**
 * What an upload's bytes are, on its events (absent on events published before renditions
 * existed: full quality, uploaded continuously).
 */
export interface UploadFacts {
  /** The recording's rendition; absent: "full". */
  rendition?: Rendition;
  /** What the bytes count as in data usage; absent: "continuous". */
  kind?: UsageKind;
  /** The recall the upload fulfils (kind "recall" or "event"). */
  recallId?: string;
  /** Whether this upload stored the object (false: a retry of bytes already stored). */
  created?: boolean;
  /** When the server stored it, epoch ms: the day its bytes count on. */
  storedAt?: number;
}

/** A media segment is stored. */
export interface SegmentStored extends UploadFacts {
  type: "segment.stored";
  fleetId: string;
  vehicleId: string;
  cameraId: string;
  recordingId: string;
  sequence: number;
  startMs: number;
  durationMs: number;
  size: number;
  sha256: string;
  objectKey: string;
}

/** A recording's init segment is stored. */
export interface InitStored extends UploadFacts {
  type: "init.stored";
  fleetId: string;
  vehicleId: string;
  cameraId: string;
  recordingId: string;
  objectKey: string;
  at: number;
  /** Its bytes (absent on events published before usage was counted). */
  size?: number;
}

/** The vehicle finished a recording. */
export interface RecordingEnded {
  type: "recording.ended";
  fleetId: string;
  vehicleId: string;
  cameraId: string;
  recordingId: string;
  endedAt: number;
}

/** Any event of the segments topic. */
export type SegmentEvent = SegmentStored | InitStored | RecordingEnded;
