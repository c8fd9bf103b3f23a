/**
 * The vehicle page's upload sections: the upload policy in force for the vehicle and each camera
 * with where it comes from (and, for operators, forms to override it or follow the fleet again),
 * the data usage of the last days by kind, the recent events with the recalls their rules made,
 * and the recalls with their state and progress (operators cancel an active one). The forms post
 * to the actions {@linkcode registerUploadActions} registers; they work without script.
 */
import type { Context } from "hono";
import { Fragment } from "preact";
import type {
  Camera,
  EventRecallOutcome,
  Recall,
  Role,
  User,
  VehicleEvent,
} from "../../lib/catalog/mod.ts";
import { FINISHED_RECALL_STATES, USAGE_KINDS } from "../../lib/catalog/mod.ts";
import { NotFoundError, ValidationError } from "../../lib/errors/mod.ts";
import { EVENT_KIND_PATTERN } from "../../lib/events/mod.ts";
import type { ApiApp, AppEnv } from "../../lib/http/mod.ts";
import type { EffectivePolicy, PolicyAnswer } from "../../lib/policy/mod.ts";
import { type UsageReport, usageReport } from "../../lib/usage/mod.ts";
import type { RouteDeps } from "../deps.ts";
import {
  actionContext,
  errorPage,
  FieldProblem,
  fieldState,
  formOf,
  type FormProblem,
  problemOf,
  withNotice,
} from "./forms.tsx";
import { may, type PageContext, type PageView, renderView, type UiContext } from "./page.tsx";
import { paths, patterns } from "./paths.ts";
import { MODE_TEXT, PolicyFields, policyOfForm } from "./settings_upload.tsx";

/** Who may change policies and cancel recalls (as the API). */
const OPERATORS: readonly Role[] = ["admin", "operator"];
/** Days of data usage the page shows (UTC days, today last). */
export const USAGE_PAGE_DAYS = 7;
/** How far back the page lists events, and how many at most (newest first). */
const EVENTS_BACK_MS = 7 * 86_400_000;
const EVENTS_SHOWN = 50;
/** How many recalls the page lists (newest first, all cameras). */
const RECALLS_SHOWN = 20;

/** The notices of the upload actions, by code. */
export const UPLOAD_VEHICLE_NOTICES: Record<string, string> = {
  "policy-set": "Upload policy saved; the vehicle gets it within seconds.",
  "policy-cleared": "Override removed; the inherited upload policy applies again.",
  "recall-cancelled": "Recall cancelled; the vehicle drops it with its next instructions.",
  "event-reported":
    "Event recorded; the fleet's rule for its kind, if it has one, filed its recalls (below).",
};

/** What the upload sections show. */
export interface VehicleUploads {
  vehicle: PolicyAnswer;
  cameras: { camera: Camera; policy: PolicyAnswer }[];
  /** Null when the user may not read data usage (viewers, as the API). */
  usage: UsageReport | null;
  events: VehicleEvent[];
  recalls: Recall[];
}

/** Bytes for a person: B, kB, MB or GB (decimal), three significant figures at most. */
export function bytesText(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const [unit, size] = bytes >= 1e9 ? ["GB", 1e9] : bytes >= 1e6 ? ["MB", 1e6] : ["kB", 1e3];
  const value = bytes / size;
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(value >= 10 ? 1 : 2)} ${unit}`;
}

const utc = (ms: number) => `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")} UTC`;

function When({ ms }: { ms: number }) {
  return <time dateTime={new Date(ms).toISOString()}>{utc(ms)}</time>;
}

/** The vehicle's policies, usage, events and recalls for its page. */
export async function loadVehicleUploads(
  deps: RouteDeps,
  user: User,
  fleetId: string,
  vehicleId: string,
  cameras: Camera[],
  now = Date.now(),
): Promise<VehicleUploads> {
  const [vehicle, policies, usage, events, recalls] = await Promise.all([
    deps.policies.vehicle(fleetId, vehicleId),
    Promise.all(cameras.map((camera) => deps.policies.camera(fleetId, vehicleId, camera.id))),
    may(user, OPERATORS)
      ? usageReport(deps.catalog, fleetId, vehicleId, {
        from: new Date(now - (USAGE_PAGE_DAYS - 1) * 86_400_000).toISOString(),
      }, now)
      : null,
    deps.events.list(fleetId, vehicleId, { fromMs: now - EVENTS_BACK_MS, toMs: now + 86_400_000 }),
    Promise.all(
      cameras.map((camera) => deps.recalls.list(fleetId, vehicleId, camera.id, RECALLS_SHOWN)),
    ),
  ]);
  return {
    vehicle,
    cameras: cameras.map((camera, i) => ({ camera, policy: policies[i] })),
    usage,
    events: events.slice(-EVENTS_SHOWN).reverse(),
    recalls: recalls.flat().sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
      .slice(0, RECALLS_SHOWN),
  };
}

/** Where a policy comes from, as read on the vehicle's row or on a camera's. */
const SOURCE_TEXT: Record<"vehicle" | "camera", Record<EffectivePolicy["source"], string>> = {
  vehicle: {
    camera: "set on a camera",
    vehicle: "set on this vehicle",
    fleet: "the fleet's",
    default: "the default (the fleet set none)",
  },
  camera: {
    camera: "set on this camera",
    vehicle: "the vehicle's",
    fleet: "the fleet's",
    default: "the default (the fleet set none)",
  },
};

const cameraTitle = (camera: { name: string; label: string | null }) => camera.label ?? camera.name;

function PolicyText({ policy, on }: { policy: EffectivePolicy; on: "vehicle" | "camera" }) {
  return (
    <>
      <strong>{MODE_TEXT[policy.mode]}</strong>
      {policy.mode !== "continuous" &&
        ` (proxy ${policy.proxy.height} lines at ${policy.proxy.bitrateKbps} kbit/s)`}
      <span class="muted">; {SOURCE_TEXT[on][policy.source]}</span>
    </>
  );
}

function PolicyForm(
  { scope, label, action, answer, csrf, problem, values, inherits }: {
    scope: string;
    label: string;
    action: string;
    answer: PolicyAnswer;
    csrf: string;
    problem?: FormProblem;
    values?: Record<string, string>;
    inherits: string;
  },
) {
  const form = `policy:${scope}`;
  const refused = problem?.form === form;
  return (
    <details class="manage" open={refused}>
      <summary>Override for {label}</summary>
      <form method="post" action={action} class="policy-form">
        <input type="hidden" name="_csrf" value={csrf} />
        <input type="hidden" name="action" value="set" />
        <PolicyFields
          id={`policy-${scope}`}
          mode={answer.effective.mode}
          proxy={answer.effective.proxy}
          problem={problem}
          form={form}
          values={values}
        />
        <button type="submit">
          Save override <span class="visually-hidden">for {label}</span>
        </button>
        <FieldProblem problem={problem} form={form} id={`policy-${scope}-form`} />
      </form>
      {answer.own && (
        <form method="post" action={action}>
          <input type="hidden" name="_csrf" value={csrf} />
          <input type="hidden" name="action" value="clear" />
          <button type="submit">Remove override of {label}: {inherits}</button>
        </form>
      )}
    </details>
  );
}

function PolicySection(
  { fleetId, vehicleId, uploads, user, csrf, problem, values }: SectionProps,
) {
  const operate = may(user, OPERATORS);
  const base = paths.vehicle(fleetId, vehicleId);
  return (
    <section aria-labelledby="policy-heading">
      <h2 id="policy-heading">Upload policy</h2>
      <dl class="facts policies">
        <dt>This vehicle</dt>
        <dd data-testid="policy-vehicle">
          <PolicyText policy={uploads.vehicle.effective} on="vehicle" />
        </dd>
        {uploads.cameras.map(({ camera, policy }) => (
          <Fragment key={camera.id}>
            <dt>Camera {cameraTitle(camera)}</dt>
            <dd data-testid={`policy-camera-${camera.name}`}>
              <PolicyText policy={policy.effective} on="camera" />
            </dd>
          </Fragment>
        ))}
      </dl>
      {operate && (
        <>
          <PolicyForm
            scope="vehicle"
            label="this vehicle"
            action={`${base}/upload-policy`}
            answer={uploads.vehicle}
            csrf={csrf}
            problem={problem}
            values={values}
            inherits="follow the fleet's"
          />
          {uploads.cameras.map(({ camera, policy }) => (
            <PolicyForm
              key={camera.id}
              scope={camera.id}
              label={`camera ${cameraTitle(camera)}`}
              action={`${paths.camera(fleetId, vehicleId, camera.id)}/upload-policy`}
              answer={policy}
              csrf={csrf}
              problem={problem}
              values={values}
              inherits="follow the vehicle's"
            />
          ))}
        </>
      )}
    </section>
  );
}

const KIND_TEXT: Record<string, string> = {
  continuous: "Continuous",
  proxy: "Proxy",
  recall: "Recall",
  event: "Event",
  live: "Live",
};

function UsageSection({ usage }: { usage: UsageReport }) {
  const kinds = USAGE_KINDS;
  const days = new Map<string, Record<string, number>>();
  for (const entry of usage.days) {
    const day = days.get(entry.day) ?? {};
    day[entry.kind] = (day[entry.kind] ?? 0) + entry.bytes;
    day.all = (day.all ?? 0) + entry.bytes;
    days.set(entry.day, day);
  }
  const rows = [...days].sort(([a], [b]) => b.localeCompare(a));
  return (
    <section aria-labelledby="usage-heading">
      <h2 id="usage-heading">Data usage</h2>
      <p class="muted">
        Bytes the server received from this vehicle per UTC day, {usage.from} to{" "}
        {usage.to}, by what brought them: uploads it stored, and live video as Janus received it
        while someone watched.
      </p>
      {rows.length === 0
        ? <p class="empty">Nothing stored in these days.</p>
        : (
          <table class="responsive usage">
            <thead>
              <tr>
                <th scope="col">Day (UTC)</th>
                {kinds.map((kind) => <th key={kind} scope="col">{KIND_TEXT[kind]}</th>)}
                <th scope="col">Total</th>
              </tr>
            </thead>
            <tbody>
              {rows.map(([day, bytes]) => (
                <tr key={day} data-day={day}>
                  <td data-label="Day (UTC)">{day}</td>
                  {kinds.map((kind) => (
                    <td key={kind} data-label={KIND_TEXT[kind]} data-bytes={bytes[kind] ?? 0}>
                      {bytesText(bytes[kind] ?? 0)}
                    </td>
                  ))}
                  <td data-label="Total" data-bytes={bytes.all ?? 0}>
                    {bytesText(bytes.all ?? 0)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
    </section>
  );
}

function outcomeText(outcome: EventRecallOutcome, cameras: Map<string, string>): string {
  const camera = cameras.get(outcome.cameraId) ?? outcome.cameraId;
  return "recallId" in outcome ? `recall on ${camera}` : `no recall on ${camera}: ${outcome.error}`;
}

/** The operators' form that reports an event of the vehicle (now, or minutes ago). */
function ReportEvent(
  { fleetId, vehicleId, csrf, problem, values }: SectionProps,
) {
  const form = "event";
  const mine = problem?.form === form ? values : undefined;
  return (
    <details class="manage" open={problem?.form === form}>
      <summary>Report an event</summary>
      <form
        method="post"
        action={`${paths.vehicle(fleetId, vehicleId)}/events`}
        class="vehicle-form"
      >
        <input type="hidden" name="_csrf" value={csrf} />
        <label for="event-kind">Kind (the fleet's rules match on it)</label>
        <input
          id="event-kind"
          name="kind"
          required
          maxLength={64}
          placeholder="incident"
          value={mine?.kind ?? ""}
          {...fieldState(problem, form, "kind", "event-kind")}
        />
        <label for="event-ago">Minutes ago (0: now)</label>
        <input
          id="event-ago"
          name="minutesAgo"
          type="number"
          inputMode="numeric"
          min={0}
          max={EVENTS_BACK_MS / 60_000}
          step={1}
          value={mine?.minutesAgo ?? "0"}
          {...fieldState(problem, form, "minutesAgo", "event-ago")}
        />
        <button type="submit">Report event</button>
        <FieldProblem problem={problem} form={form} field="kind" id="event-kind" />
        <FieldProblem problem={problem} form={form} field="minutesAgo" id="event-ago" />
        <FieldProblem problem={problem} form={form} id="event-form" />
      </form>
    </details>
  );
}

function EventsSection(
  { events, cameras, report }: {
    events: VehicleEvent[];
    cameras: Map<string, string>;
    report: SectionProps | null;
  },
) {
  return (
    <section aria-labelledby="events-heading">
      <h2 id="events-heading">Events</h2>
      {report && <ReportEvent {...report} />}
      {events.length === 0 ? <p class="empty">No event in the last 7 days.</p> : (
        <>
          <p class="muted">The last 7 days, newest first (at most {EVENTS_SHOWN}).</p>
          <table class="responsive events">
            <thead>
              <tr>
                <th scope="col">At</th>
                <th scope="col">Kind</th>
                <th scope="col">From</th>
                <th scope="col">Recalls</th>
              </tr>
            </thead>
            <tbody>
              {events.map((event) => (
                <tr key={event.id} data-event={event.kind}>
                  <td data-label="At">
                    <When ms={event.atMs} />
                  </td>
                  <td data-label="Kind">{event.kind}</td>
                  <td data-label="From">{event.source}</td>
                  <td data-label="Recalls">
                    {(event.recalls ?? []).length === 0
                      ? <span class="muted">none (no rule)</span>
                      : (event.recalls ?? []).map((o) => (
                        <div key={o.cameraId}>{outcomeText(o, cameras)}</div>
                      ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

const STATE_TEXT: Record<Recall["state"], string> = {
  queued: "Queued (the vehicle has not taken it up)",
  uploading: "Uploading",
  complete: "Complete",
  partial: "Partial",
  expired: "Expired (evicted on the vehicle)",
  cancelled: "Cancelled",
};

function progressText(recall: Recall): string {
  const p = recall.progress;
  if (!p) return "not reported yet";
  const parts = [
    `${p.segmentsDone}/${p.segmentsTotal} segments`,
    `${bytesText(p.bytesDone)} of ${bytesText(p.bytesTotal)}`,
  ];
  const missing = p.missing.reduce((sum, gap) => sum + (gap.toMs - gap.fromMs), 0);
  if (missing > 0) {
    const reasons = [...new Set(p.missing.map((gap) => gap.reason))].join(", ");
    parts.push(`${Math.round(missing / 1000)} s missing (${reasons})`);
  }
  return parts.join(", ");
}

function RecallsSection(
  { fleetId, vehicleId, uploads, user, csrf, problem, cameras }: SectionProps & {
    cameras: Map<string, string>;
  },
) {
  const operate = may(user, OPERATORS);
  const { recalls } = uploads;
  return (
    <section aria-labelledby="recalls-heading">
      <h2 id="recalls-heading">Recalls</h2>
      {recalls.length === 0
        ? <p class="empty">No recall yet. File one from a camera's recordings.</p>
        : (
          <table class="responsive recalls">
            <thead>
              <tr>
                <th scope="col">Camera</th>
                <th scope="col">Range</th>
                <th scope="col">State</th>
                <th scope="col">Progress</th>
                {operate && <th scope="col">Cancel</th>}
              </tr>
            </thead>
            <tbody>
              {recalls.map((recall) => {
                const camera = cameras.get(recall.cameraId) ?? recall.cameraId;
                const active = !FINISHED_RECALL_STATES.includes(recall.state);
                return (
                  <tr key={recall.id} data-recall={recall.id}>
                    <td data-label="Camera">
                      <a
                        href={paths.camera(fleetId, vehicleId, recall.cameraId, {
                          from: new Date(recall.fromMs),
                          to: new Date(recall.toMs),
                        })}
                      >
                        {camera}
                      </a>
                    </td>
                    <td data-label="Range">
                      <When ms={recall.fromMs} /> – <When ms={recall.toMs} />
                      {recall.origin === "event" && <div class="muted">an event rule's</div>}
                    </td>
                    <td data-label="State" data-testid="recall-state">
                      {STATE_TEXT[recall.state]}
                    </td>
                    <td data-label="Progress">{progressText(recall)}</td>
                    {operate && (
                      <td data-label="Cancel">
                        {active && (
                          <form
                            method="post"
                            action={`${paths.vehicle(fleetId, vehicleId)}/recalls/${
                              encodeURIComponent(recall.id)
                            }/cancel`}
                          >
                            <input type="hidden" name="_csrf" value={csrf} />
                            <button type="submit" class="danger">
                              Cancel <span class="visually-hidden">recall of {camera}</span>
                            </button>
                          </form>
                        )}
                        <FieldProblem
                          problem={problem}
                          form={`cancel:${recall.id}`}
                          id={`cancel-${recall.id}`}
                        />
                      </td>
                    )}
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
    </section>
  );
}

interface SectionProps {
  fleetId: string;
  vehicleId: string;
  uploads: VehicleUploads;
  user: User;
  csrf: string;
  problem?: FormProblem;
  values?: Record<string, string>;
}

/** The vehicle page's upload policy, data usage, events and recalls. */
export function VehicleUploadSections(props: SectionProps) {
  const cameras = new Map(
    props.uploads.cameras.map(({ camera }) => [camera.id, cameraTitle(camera)]),
  );
  return (
    <div class="vehicle-uploads">
      <PolicySection {...props} />
      {props.uploads.usage && <UsageSection usage={props.uploads.usage} />}
      <EventsSection
        events={props.uploads.events}
        cameras={cameras}
        report={may(props.user, OPERATORS) ? props : null}
      />
      <RecallsSection {...props} cameras={cameras} />
    </div>
  );
}

/** Renders the vehicle page with a refused form's problem (the vehicle page's own view). */
export type VehicleViewOf = (
  context: PageContext,
  extra: { problem?: FormProblem; values?: Record<string, string> },
) => Promise<PageView>;

/**
 * Registers the vehicle page's upload actions: a vehicle's or camera's policy set or removed
 * (`action` set|clear), and a recall cancelled; each checks the role the API would.
 */
export function registerUploadActions(
  app: ApiApp,
  deps: RouteDeps,
  ui: UiContext,
  vehicleView: VehicleViewOf,
): void {
  const post = (
    pattern: string,
    formName: (params: Record<string, string>) => string,
    run: (context: PageContext, form: Record<string, string>) => Promise<string>,
  ) =>
    app.post(pattern, async (c: Context<AppEnv>) => {
      const context = await actionContext(c, deps, ui, OPERATORS);
      if (context instanceof Response) return context;
      const form = await formOf(c);
      try {
        const notice = await run(context, form);
        return c.redirect(
          withNotice(paths.vehicle(context.fleet!.id, context.params.vehicleId), notice),
          303,
        );
      } catch (error) {
        const problem = problemOf(formName(context.params), error);
        if (problem.status === 404) return await errorPage(context, error);
        const view = await vehicleView(context, { problem, values: form });
        return await renderView(context, { ...view, status: problem.status });
      }
    });
  const { policies, recalls, events } = deps;
  post(`${patterns.vehicle}/events`, () => "event", async (context, form) => {
    const minutes = Number((form.minutesAgo ?? "").trim() || "0");
    if (!Number.isInteger(minutes) || minutes < 0 || minutes > EVENTS_BACK_MS / 60_000) {
      throw new ValidationError(
        `Cannot report event: "minutesAgo" must be a whole number from 0 to ${
          EVENTS_BACK_MS / 60_000
        }`,
        [{ path: "minutesAgo", message: `a whole number from 0 to ${EVENTS_BACK_MS / 60_000}` }],
      );
    }
    const kind = (form.kind ?? "").trim();
    if (!EVENT_KIND_PATTERN.test(kind)) {
      throw new ValidationError(`Cannot report event of kind "${kind.slice(0, 64)}": bad kind`, [
        { path: "kind", message: "lower case letters, digits, . _ or -, up to 64" },
      ]);
    }
    await events.report(context.fleet!.id, context.params.vehicleId, "operator", {
      kind,
      atMs: Date.now() - minutes * 60_000,
    }, context.user.id);
    return "event-reported";
  });
  post(`${patterns.vehicle}/upload-policy`, () => "policy:vehicle", async (context, form) => {
    const { vehicleId } = context.params;
    if (form.action === "clear") {
      await policies.clearVehicle(context.fleet!.id, vehicleId);
      return "policy-cleared";
    }
    await policies.setVehicle(context.fleet!.id, vehicleId, policyOfForm(form));
    return "policy-set";
  });
  post(`${patterns.camera}/upload-policy`, (p) => `policy:${p.cameraId}`, async (context, form) => {
    const { vehicleId, cameraId } = context.params;
    if (form.action === "clear") {
      await policies.clearCamera(context.fleet!.id, vehicleId, cameraId);
      return "policy-cleared";
    }
    await policies.setCamera(context.fleet!.id, vehicleId, cameraId, policyOfForm(form));
    return "policy-set";
  });
  post(
    `${patterns.vehicle}/recalls/:recallId/cancel`,
    (p) => `cancel:${p.recallId}`,
    async (context) => {
      const { vehicleId, recallId } = context.params;
      const recall = await recalls.get(context.fleet!.id, recallId);
      if (recall.vehicleId !== vehicleId) {
        throw new NotFoundError(`Recall "${recallId}" not found on this vehicle`);
      }
      await recalls.cancel(context.fleet!.id, recallId);
      return "recall-cancelled";
    },
  );
}
