/** Ingest of recorded segments and the indexer that turns their events into the catalog. */
export {
  cameraPrefix,
  Ingest,
  type IngestResult,
  MAX_SEQUENCE,
  RECORDING_ID,
  recordingPrefix,
  type SegmentTiming,
  type UploadTarget,
} from "./ingest.ts";
export { Indexer, type IndexerStats } from "./indexer.ts";
export { readHead, type Upload } from "./upload.ts";
export type { InitStored, RecordingEnded, SegmentEvent, SegmentStored } from "./events.ts";
export { parseContentDigest } from "./digest.ts";
