/**
 * A system health report (the shape `GET /api/v1/system/health` answers): the checks, the ingest
 * figures and the error counts. Rendered by the health page on the server and by its island.
 */

/** One readiness check. */
export interface HealthCheck {
  ok: boolean;
  error?: string;
}

/** System health, as the API answers it. */
export interface HealthData {
  at: string;
  ok: boolean;
  checks: Record<string, HealthCheck>;
  ingest: {
    segmentsPerSecond: number;
    bytesPerSecond: number;
    lagMs: number | null;
    lastIndexedAt: string | null;
  } | null;
  errors: {
    http5xx: number;
    busDeadLetters: number;
    retentionSweepErrors: number;
    since: string;
  };
}

const CHECK_LABELS: Record<string, string> = {
  catalog: "Catalog (database)",
  "object-store": "Object store",
  bus: "Bus",
  storage: "Storage",
  janus: "Janus (live video)",
  "signing-key": "Signing key",
};

const time = (iso: string) => new Date(iso).toISOString().replace("T", " ").slice(0, 19) + " UTC";

/** The checks, ingest and errors of `health`. */
export function HealthReport({ health }: { health: HealthData }) {
  const failing = Object.values(health.checks).filter((c) => !c.ok).length;
  const { ingest, errors } = health;
  return (
    <div class="health">
      <p class={health.ok ? "notice health-summary" : "problem health-summary"}>
        {health.ok ? "All checks pass." : `${failing} check${failing === 1 ? "" : "s"} failing.`}
        {" "}
        <span class="muted">
          As of {time(health.at)}
        </span>
      </p>
      <section class="card" aria-labelledby="checks-heading">
        <h2 id="checks-heading">Checks</h2>
        <ul class="health-checks" aria-label="Checks">
          {Object.entries(health.checks).sort(([a], [b]) => a.localeCompare(b)).map((
            [name, check],
          ) => (
            <li key={name} class={check.ok ? "check ok" : "check failing"}>
              <strong>{CHECK_LABELS[name] ?? name}</strong>{" "}
              <span class="badge">{check.ok ? "OK" : "Failing"}</span>
              {check.error && <span class="check-error">{check.error}</span>}
            </li>
          ))}
        </ul>
      </section>
      <section class="card" aria-labelledby="ingest-heading">
        <h2 id="ingest-heading">Ingest</h2>
        {ingest
          ? (
            <dl class="figures">
              <dt>Segments per second</dt>
              <dd>{ingest.segmentsPerSecond.toFixed(1)}</dd>
              <dt>Bytes per second</dt>
              <dd>{(ingest.bytesPerSecond / 1e6).toFixed(2)} MB/s</dd>
              <dt>Indexer lag</dt>
              <dd>{ingest.lagMs === null ? "no batch yet" : `${ingest.lagMs} ms`}</dd>
              <dt>Last indexed</dt>
              <dd>{ingest.lastIndexedAt ? time(ingest.lastIndexedAt) : "never"}</dd>
            </dl>
          )
          : <p class="muted">The indexer does not run in this process.</p>}
      </section>
      <section class="card" aria-labelledby="errors-heading">
        <h2 id="errors-heading">Errors since {time(errors.since)}</h2>
        <dl class="figures">
          <dt>Server errors (5xx)</dt>
          <dd>{errors.http5xx}</dd>
          <dt>Bus dead letters</dt>
          <dd>{errors.busDeadLetters}</dd>
          <dt>Retention sweep errors</dt>
          <dd>{errors.retentionSweepErrors}</dd>
        </dl>
      </section>
    </div>
  );
}
