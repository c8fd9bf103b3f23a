/** Ingest of recorded segments and the indexer that turns their events into the catalog. */
export {
  cameraPrefix,
  Ingest,
  type IngestResult,
  MAX_SEQUENCE,
  RECORDING_ID,
  recordingPrefix,
  type SegmentTiming,
  type UploadKind,
  type UploadTarget,
  usageKindOf,
} from "./ingest.ts";
export { Indexer, type IndexerStats } from "./indexer.ts";
export { readHead, type Upload } from "./upload.ts";
export type {
  InitStored,
  RecordingEnded,
  SegmentEvent,
  SegmentStored,
  UploadFacts,
} from "./events.ts";
export { parseContentDigest } from "./digest.ts";
