/// <reference lib="dom" />
/**
 * "Get full quality" on the DVR page: files a recall of the selected range (the vehicle uploads
 * its full-quality recording of it), and lists the camera's recalls of the shown day with their
 * state and progress, re-read every 2 s while one is under way, each cancellable until it ends.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { PageSession } from "../../lib/ui/browser.ts";

/** A recall as the API shows it (the fields the page uses). */
export interface DvrRecall {
  id: string;
  from: string;
  to: string;
  origin: "operator" | "event";
  state: "queued" | "uploading" | "complete" | "partial" | "expired" | "cancelled";
  progress: {
    segmentsTotal: number;
    segmentsDone: number;
    bytesTotal: number;
    bytesDone: number;
    missing: Array<{ from: string; to: string; reason: "evicted" | "not-recorded" }>;
  } | null;
}

/** Props of {@linkcode RecallPanel}. */
export interface RecallPanelProps {
  fleetId: string;
  /** The camera's API path, `/api/v1/fleets/…/cameras/{cameraId}`. */
  api: string;
  /** What "Get full quality" recalls: the selected range, else the minute from the cursor. */
  range: { from: number; to: number; selected: boolean };
  dayStart: number;
  dayEnd: number;
  time(ms: number): string;
  /** Called when a recall of the day ends (its video may now be on the server). */
  onFinished(recall: DvrRecall): void;
  /** Whether the user may file and cancel recalls (operators and up); viewers only follow them. */
  canRecall: boolean;
}

const STATE_TEXT: Record<DvrRecall["state"], string> = {
  queued: "Queued: waiting for the vehicle",
  uploading: "Uploading",
  complete: "Complete",
  partial: "Partial",
  expired: "Expired: no longer on the vehicle",
  cancelled: "Cancelled",
};
const REASON_TEXT = { evicted: "overwritten on the vehicle", "not-recorded": "not recorded" };
const POLL_MS = 2_000;
const SHOWN = 10;

const active = (r: DvrRecall) => r.state === "queued" || r.state === "uploading";

/** The recall section of the DVR (see the module's doc). */
export function RecallPanel(props: RecallPanelProps) {
  const { api, time, range } = props;
  const [recalls, setRecalls] = useState<DvrRecall[] | null>(null);
  const [problem, setProblem] = useState("");
  const [news, setNews] = useState("");
  const [filing, setFiling] = useState(false);
  const states = useRef(new Map<string, DvrRecall["state"]>());
  const span = (r: { from: string; to: string }) =>
    `${time(Date.parse(r.from))}–${time(Date.parse(r.to))}`;

  const read = async () => {
    try {
      const answer = await PageSession.current().request<{ recalls: DvrRecall[] }>(
        "GET",
        `${api}/recalls`,
      );
      const day = answer.recalls.filter((r) =>
        Date.parse(r.to) > props.dayStart && Date.parse(r.from) < props.dayEnd
      ).slice(0, SHOWN);
      for (const r of day) {
        const before = states.current.get(r.id);
        if (before && before !== r.state) {
          setNews(`Recall of ${span(r)}: ${STATE_TEXT[r.state]}`);
          if (!active(r)) props.onFinished(r);
        }
        states.current.set(r.id, r.state);
      }
      setRecalls(day);
    } catch (error) {
      setProblem(`Cannot read the recalls: ${message(error)}`);
    }
  };

  const underWay = recalls?.some(active) ?? false;
  useEffect(() => {
    if (recalls !== null && !underWay) return;
    const timer = setTimeout(() => void read(), recalls === null ? 0 : POLL_MS);
    return () => clearTimeout(timer);
  }, [recalls, underWay]);

  const file = async () => {
    setFiling(true);
    setProblem("");
    try {
      const recall = await PageSession.current().request<DvrRecall>("POST", `${api}/recalls`, {
        from: new Date(range.from).toISOString(),
        to: new Date(range.to).toISOString(),
      });
      states.current.set(recall.id, recall.state);
      setNews(`Recall of ${span(recall)}: ${STATE_TEXT[recall.state]}`);
      await read();
    } catch (error) {
      setProblem(`Cannot get full quality: ${message(error)}`);
    } finally {
      setFiling(false);
    }
  };

  const cancel = async (recall: DvrRecall) => {
    setProblem("");
    try {
      await PageSession.current().request(
        "DELETE",
        `/api/v1/fleets/${props.fleetId}/recalls/${recall.id}`,
      );
      await read();
    } catch (error) {
      setProblem(`Cannot cancel the recall of ${span(recall)}: ${message(error)}`);
    }
  };

  return (
    <section aria-labelledby="dvr-recall-title">
      <h2 id="dvr-recall-title">Get full quality</h2>
      {props.canRecall
        ? (
          <>
            <p class="muted">
              {range.selected ? "The selected range" : "The minute from the cursor"},{" "}
              {time(range.from)}–{time(range.to)}, uploaded by the vehicle in full quality from what
              it still holds.
            </p>
            <button type="button" onClick={file} disabled={filing}>Get full quality</button>
          </>
        )
        : (
          <p class="muted">
            Operators ask the vehicle for full quality; the recalls of this day show here.
          </p>
        )}
      <p role="status" class="dvr-recall-news">{news}</p>
      {problem && <p class="problem" role="alert">{problem}</p>}
      {recalls !== null && recalls.length > 0 && (
        <ul class="dvr-recalls" aria-label="Recalls of this day">
          {recalls.map((r) => (
            <li key={r.id} data-recall={r.id} data-state={r.state}>
              <span>
                <strong>{span(r)}</strong>
                {r.origin === "event" ? " (event)" : ""}: {STATE_TEXT[r.state]}
              </span>
              {r.progress && r.state === "uploading" && (
                <span>
                  <progress
                    value={r.progress.bytesDone}
                    max={Math.max(r.progress.bytesTotal, 1)}
                    aria-label={`Recall of ${span(r)}`}
                  />{" "}
                  {r.progress.segmentsDone} of {r.progress.segmentsTotal} segments,{" "}
                  {megabytes(r.progress.bytesDone)} of {megabytes(r.progress.bytesTotal)}
                </span>
              )}
              {r.progress && r.progress.missing.length > 0 && (
                <span>
                  Missing: {r.progress.missing.map((g) => `${span(g)} (${REASON_TEXT[g.reason]})`)
                    .join(", ")}
                </span>
              )}
              {props.canRecall && active(r) && (
                <button
                  type="button"
                  aria-label={`Cancel the recall of ${span(r)}`}
                  onClick={() => void cancel(r)}
                >
                  Cancel
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function megabytes(bytes: number): string {
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}
