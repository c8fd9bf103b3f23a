/// <reference lib="dom" />
/**
 * The health page's report, read again from `GET /api/v1/system/health` every few seconds (a
 * button pauses it); a change of the overall state is announced politely.
 */
import { useEffect, useState } from "preact/hooks";
import { PageSession } from "../lib/ui/browser.ts";
import { type HealthData, HealthReport } from "./health/HealthReport.tsx";

/** Props of {@linkcode HealthMonitor}. */
export interface HealthMonitorProps {
  health: HealthData;
  /** Milliseconds between reads. */
  everyMs: number;
}

/** The report, refreshing itself until paused. */
export default function HealthMonitor(props: HealthMonitorProps) {
  const [health, setHealth] = useState(props.health);
  const [paused, setPaused] = useState(false);
  const [problem, setProblem] = useState<string>();
  useEffect(() => {
    if (paused) return;
    let stopped = false;
    const timer = setInterval(async () => {
      try {
        const next = await PageSession.current().request<HealthData>(
          "GET",
          "/api/v1/system/health",
        );
        if (!stopped) {
          setHealth(next);
          setProblem(undefined);
        }
      } catch (error) {
        if (!stopped) setProblem(`Cannot refresh: ${(error as Error).message}`);
      }
    }, props.everyMs);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [paused]);
  const failing = Object.values(health.checks).filter((c) => !c.ok).length;
  return (
    <>
      <div class="health-tools">
        <p class="muted" role="status">
          {health.ok ? "Healthy" : `${failing} failing`}
          {paused ? " · updates paused" : ` · updates every ${props.everyMs / 1000} s`}
        </p>
        <button type="button" aria-pressed={paused} onClick={() => setPaused(!paused)}>
          {paused ? "Resume updates" : "Pause updates"}
        </button>
      </div>
      {problem && <p class="problem">{problem}</p>}
      <HealthReport health={health} />
    </>
  );
}
