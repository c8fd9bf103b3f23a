import type { RecallGap, RecallProgress, RecallState } from "../catalog/mod.ts";

/** A recall as the vehicle reports it in a heartbeat. */
export interface RecallReport {
  id: string;
  state: "pending" | "uploading" | "done";
  segmentsTotal: number;
  segmentsDone: number;
  bytesTotal: number;
  bytesDone: number;
  missing: Array<{ from: string; to: string; reason: RecallGap["reason"] }>;
}

/**
 * The server's state of a recall from the vehicle's report: uploading while it works on it;
 * once done, complete (nothing missing), expired (nothing uploaded, all of it evicted) or partial.
 */
export function recallStateOf(report: RecallReport): {
  state: RecallState;
  progress: RecallProgress;
} {
  const progress: RecallProgress = {
    segmentsTotal: report.segmentsTotal,
    segmentsDone: report.segmentsDone,
    bytesTotal: report.bytesTotal,
    bytesDone: report.bytesDone,
    missing: report.missing.map((gap) => ({
      fromMs: Date.parse(gap.from),
      toMs: Date.parse(gap.to),
      reason: gap.reason,
    })),
  };
  if (report.state !== "done") return { state: "uploading", progress };
  if (progress.missing.length === 0) return { state: "complete", progress };
  const evictedOnly = progress.missing.every((gap) => gap.reason === "evicted");
  if (report.segmentsDone === 0 && evictedOnly) return { state: "expired", progress };
  return { state: "partial", progress };
}
