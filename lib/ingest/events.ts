/** Events ingest publishes on the segments topic, keyed by camera id. */

/** A media segment is stored. */
export interface SegmentStored {
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
export interface InitStored {
  type: "init.stored";
  fleetId: string;
  vehicleId: string;
  cameraId: string;
  recordingId: string;
  objectKey: string;
  at: number;
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
