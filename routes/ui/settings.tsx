/**
 * `GET /admin/fleets/{fleetId}/settings` (its admins): the fleet's name (owners rename), retention
 * with the dry-run shown before saving (`?retentionDays=N` counts what N days would delete, as
 * `GET /api/v1/fleets/{id}/retention?retentionDays=N` does), time zone, default segment length
 * and live ladder, and removing the fleet (owners; only an empty one). Every form works without
 * script and goes through FleetRegistry, so the API's rules and messages apply.
 */
import { CSRF_FIELD } from "../../lib/auth/mod.ts";
import type { Fleet, FleetWebhook } from "../../lib/catalog/mod.ts";
import { ForbiddenError, ValidationError } from "../../lib/errors/mod.ts";
import type { RetentionPreview } from "../../lib/fleet/mod.ts";
import type { ApiApp } from "../../lib/http/mod.ts";
import type { RouteDeps } from "../deps.ts";
import {
  actionContext,
  FieldProblem,
  fieldState,
  formOf,
  type FormProblem,
  Notice,
  problemOf,
  withNotice,
} from "./forms.tsx";
import { PageTitle } from "./layout.tsx";
import {
  definePage,
  type PageContext,
  type PageView,
  renderView,
  type UiContext,
} from "./page.tsx";
import { paths, patterns } from "./paths.ts";
import {
  EventRulesCard,
  loadUploadSettings,
  runUploadAction,
  UPLOAD_NOTICES,
  uploadFormOf,
  UploadPolicyCard,
  type UploadSettings,
} from "./settings_upload.tsx";
import {
  loadWebhook,
  runWebhookAction,
  WEBHOOK_NOTICES,
  WebhookCard,
} from "./settings_webhook.tsx";

const NOTICES: Record<string, string> = {
  renamed: "Fleet renamed.",
  retention: "Retention saved; the background sweep applies it.",
  timezone: "Time zone saved.",
  video: "Segment length and live ladder saved.",
  created: "Fleet created.",
  ...UPLOAD_NOTICES,
  ...WEBHOOK_NOTICES,
};

/** IANA zones this runtime knows, for the time zone select. */
const TIME_ZONES: readonly string[] = Intl.supportedValuesOf("timeZone");

interface SettingsState {
  problem?: FormProblem;
  values?: Record<string, string>;
  preview?: RetentionPreview;
  /** A webhook secret just made, shown this once. */
  secret?: string;
}

/** Bytes in GB (decimal) with two decimals, or MB under 0.1 GB. */
export function formatBytes(bytes: number): string {
  if (bytes >= 100_000_000) return `${(bytes / 1e9).toFixed(2)} GB`;
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

function formatInstant(date: Date, timeZone: string | null): string {
  return new Intl.DateTimeFormat("en-GB", {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    timeZone: timeZone ?? "UTC",
    timeZoneName: "short",
  }).format(date);
}

/** The sentence of a retention dry-run. */
export function previewSentence(preview: RetentionPreview, timeZone: string | null): string {
  if (preview.retentionDays === null || preview.cutoff === null) {
    return "Keeping recordings forever deletes nothing.";
  }
  const { segments, bytes, recordings } = preview.expired;
  return `Keeping ${preview.retentionDays} days would delete ${segments.toLocaleString("en")} ` +
    `segments, ${formatBytes(bytes)} (${recordings.toLocaleString("en")} whole recordings), ` +
    `from before ${formatInstant(preview.cutoff, timeZone)}.`;
}

function settingsView(
  context: PageContext,
  used: {
    users: number;
    vehicles: number;
    upload: UploadSettings;
    webhook: FleetWebhook | null;
  },
  state: SettingsState = {},
): PageView {
  const { csrf, user, query } = context;
  const fleet = context.fleet as Fleet;
  const { problem, values = {}, preview, secret } = state;
  const action = paths.settings(fleet.id);
  const owner = user.role === "owner";
  const csrfField = <input type="hidden" name={CSRF_FIELD} value={csrf} />;
  const hidden = (name: string) => (
    <>
      {csrfField}
      <input type="hidden" name="action" value={name} />
    </>
  );
  const days = values.retentionDays ?? String(fleet.retentionDays ?? "");
  return {
    title: `Settings · ${fleet.name}`,
    section: "settings",
    body: (
      <>
        <PageTitle title="Settings" />
        <Notice query={query} notices={NOTICES} />
        <div class="settings">
          <section class="card" aria-labelledby="name-heading">
            <h2 id="name-heading">Name</h2>
            {owner
              ? (
                <form method="post" action={action} class="inline-form">
                  {hidden("rename")}
                  <div class="field">
                    <label for="fleet-name">Fleet name</label>
                    <input
                      id="fleet-name"
                      name="name"
                      required
                      maxLength={100}
                      value={values.name ?? fleet.name}
                      {...fieldState(problem, "rename", "name", "fleet-name")}
                    />
                  </div>
                  <button type="submit">Rename</button>
                </form>
              )
              : (
                <p>
                  {fleet.name} <span class="muted">(the platform owner names fleets)</span>
                </p>
              )}
            <FieldProblem problem={problem} form="rename" field="name" id="fleet-name" />
            <FieldProblem problem={problem} form="rename" id="fleet-name" />
          </section>

          <section class="card" aria-labelledby="retention-heading">
            <h2 id="retention-heading">Retention</h2>
            <p>
              {fleet.retentionDays === null
                ? "Recordings are kept forever."
                : `Recordings are kept ${fleet.retentionDays} days, then deleted from the object store and the catalog by the background sweep.`}
            </p>
            <form method="get" action={action} class="inline-form">
              <div class="field">
                <label for="retention-days">Keep recordings for (days; empty: forever)</label>
                <input
                  id="retention-days"
                  name="retentionDays"
                  type="number"
                  inputMode="numeric"
                  min={1}
                  max={3650}
                  step={1}
                  value={days}
                  {...fieldState(problem, "retention", "retentionDays", "retention-days")}
                />
              </div>
              <button type="submit">Check what it deletes</button>
            </form>
            <FieldProblem
              problem={problem}
              form="retention"
              field="retentionDays"
              id="retention-days"
            />
            <FieldProblem problem={problem} form="retention" id="retention-days" />
            {preview && (
              <div class="retention-preview">
                <p class="notice" role="status" id="retention-preview">
                  {previewSentence(preview, fleet.timeZone)}
                </p>
                <form method="post" action={action}>
                  {hidden("retention")}
                  <input
                    type="hidden"
                    name="retentionDays"
                    value={preview.retentionDays === null ? "" : String(preview.retentionDays)}
                  />
                  <button type="submit" class="primary" aria-describedby="retention-preview">
                    {preview.retentionDays === null
                      ? "Save: keep forever"
                      : `Save: keep ${preview.retentionDays} days`}
                  </button>
                </form>
              </div>
            )}
          </section>

          <section class="card" aria-labelledby="zone-heading">
            <h2 id="zone-heading">Time zone</h2>
            <form method="post" action={action} class="inline-form">
              {hidden("timezone")}
              <div class="field">
                <label for="time-zone">Times are shown in</label>
                <select
                  id="time-zone"
                  name="timeZone"
                  {...fieldState(problem, "timezone", "timeZone", "time-zone")}
                >
                  <option value="" selected={!fleet.timeZone}>UTC (default)</option>
                  {TIME_ZONES.map((zone) => (
                    <option key={zone} value={zone} selected={zone === fleet.timeZone}>
                      {zone}
                    </option>
                  ))}
                </select>
              </div>
              <button type="submit">Save time zone</button>
            </form>
            <FieldProblem problem={problem} form="timezone" field="timeZone" id="time-zone" />
          </section>

          <section class="card" aria-labelledby="video-heading">
            <h2 id="video-heading">Recording and live quality</h2>
            <p class="muted" id="video-later">
              The segment length reaches the fleet's vehicles with their instructions (within
              seconds when they are online): each camera then starts a new recording cut to it. The
              live ladder applies to live streams started after it is saved: auto derives three
              rungs from each camera's height (240p floor, a middle rung, the camera's own height),
              or give three height:bitrate rungs. Empty restores the server's LIVE_LADDER.
            </p>
            <form method="post" action={action}>
              {hidden("video")}
              <div class="field">
                <label for="segment-seconds">Default segment length (seconds, 0.5–30)</label>
                <input
                  id="segment-seconds"
                  name="segmentSeconds"
                  type="number"
                  inputMode="decimal"
                  min={0.5}
                  max={30}
                  step={0.5}
                  value={values.segmentSeconds ?? String(fleet.segmentSeconds ?? "")}
                  {...fieldState(problem, "video", "segmentSeconds", "segment-seconds")}
                />
                <FieldProblem
                  problem={problem}
                  form="video"
                  field="segmentSeconds"
                  id="segment-seconds"
                />
              </div>
              <div class="field">
                <label for="live-ladder">
                  Live quality ladder (auto, or three height:bitrate rungs lowest first)
                </label>
                <input
                  id="live-ladder"
                  name="liveLadder"
                  placeholder="auto"
                  value={values.liveLadder ?? fleet.liveLadder ?? ""}
                  {...fieldState(problem, "video", "liveLadder", "live-ladder")}
                />
                <FieldProblem problem={problem} form="video" field="liveLadder" id="live-ladder" />
              </div>
              <button type="submit" aria-describedby="video-later">Save recording settings</button>
            </form>
          </section>

          <UploadPolicyCard
            action={action}
            csrf={csrf}
            settings={used.upload}
            problem={problem}
            values={values}
          />
          <EventRulesCard
            action={action}
            csrf={csrf}
            settings={used.upload}
            problem={problem}
            values={values}
          />

          <WebhookCard
            action={action}
            csrf={csrf}
            webhook={used.webhook}
            secret={secret}
            problem={problem}
            values={values}
          />

          {owner && (
            <section class="card danger-zone" aria-labelledby="remove-heading">
              <h2 id="remove-heading">Remove this fleet</h2>
              <p id="remove-rule">
                Only an empty fleet can be removed: it has {used.users} users and {used.vehicles}
                {" "}
                vehicles. Remove its vehicles (their recordings leave the catalog) and users first.
              </p>
              <form method="post" action={action}>
                {hidden("remove")}
                <button type="submit" class="danger" aria-describedby="remove-rule">
                  Remove {fleet.name}
                </button>
              </form>
              <FieldProblem problem={problem} form="remove" id="remove-fleet" />
            </section>
          )}
        </div>
      </>
    ),
  };
}

async function usedBy(deps: RouteDeps, fleetId: string) {
  const [users, vehicles, upload, webhook] = await Promise.all([
    deps.registry.listUsers(fleetId),
    deps.registry.listVehicles(fleetId),
    loadUploadSettings(deps, fleetId),
    loadWebhook(deps, fleetId),
  ]);
  return { users: users.length, vehicles: vehicles.length, upload, webhook };
}

/** A number field: empty is null; anything else must be a number. */
function numberOrNull(value: string | undefined, field: string): number | null {
  const text = (value ?? "").trim();
  if (text === "") return null;
  const number = Number(text);
  if (!Number.isFinite(number)) {
    throw new ValidationError(`Field "${field}": must be a number`, [
      { path: field, message: "must be a number" },
    ]);
  }
  return number;
}

/** The fleet's settings, and the retention dry-run of `?retentionDays=` when given. */
export const settingsPage = definePage({
  pattern: patterns.settings,
  access: { kind: "user", roles: ["admin"] },
  async load(context) {
    const { deps, query } = context;
    const fleet = context.fleet!;
    const used = await usedBy(deps, fleet.id);
    if (!query.has("retentionDays")) return settingsView(context, used);
    const asked = query.get("retentionDays") ?? "";
    try {
      const days = numberOrNull(asked, "retentionDays");
      const preview = await deps.registry.retention(fleet.id, days);
      return settingsView(context, used, { preview, values: { retentionDays: asked } });
    } catch (error) {
      const { status, ...problem } = problemOf("retention", error);
      return {
        ...settingsView(context, used, { problem, values: { retentionDays: asked } }),
        status,
      };
    }
  },
});

/** Registers the settings page's form action (`action`: rename, retention, timezone, video, remove). */
export function registerSettingsActions(app: ApiApp, deps: RouteDeps, ui: UiContext): void {
  app.post(patterns.settings, async (c) => {
    const context = await actionContext(c, deps, ui, ["admin"]);
    if (context instanceof Response) return context;
    const fleetId = context.fleet!.id;
    const form = await formOf(c);
    const action = form.action ?? "";
    const { registry } = deps;
    const seesAllFleets = context.user.role === "owner";
    let notice: string;
    try {
      switch (action) {
        case "rename":
          if (!seesAllFleets) throw new ForbiddenError("Only platform owners may rename a fleet");
          await registry.updateFleet(fleetId, { name: form.name ?? "" });
          notice = "renamed";
          break;
        case "retention":
          await registry.updateFleet(fleetId, {
            retentionDays: numberOrNull(form.retentionDays, "retentionDays"),
          }, { seesAllFleets });
          notice = "retention";
          break;
        case "timezone":
          await registry.updateFleet(fleetId, { timeZone: form.timeZone || null }, {
            seesAllFleets,
          });
          notice = "timezone";
          break;
        case "video":
          await registry.updateFleet(fleetId, {
            segmentSeconds: numberOrNull(form.segmentSeconds, "segmentSeconds"),
            liveLadder: (form.liveLadder ?? "").trim() || null,
          }, { seesAllFleets });
          notice = "video";
          break;
        case "remove":
          if (!seesAllFleets) throw new ForbiddenError("Only platform owners may remove a fleet");
          await registry.deleteFleet(fleetId);
          return c.redirect(withNotice(paths.fleets(), "removed"), 303);
        case "webhook":
        case "webhook-rotate":
        case "webhook-remove": {
          const done = await runWebhookAction(deps, fleetId, action, form);
          if (done && "secret" in done) {
            return await renderView(
              context,
              settingsView(context, await usedBy(deps, fleetId), { secret: done.secret }),
            );
          }
          notice = done!.notice;
          break;
        }
        default: {
          const done = await runUploadAction(deps, fleetId, action, form);
          if (!done) return c.text(`Unknown action "${action}"`, 400);
          notice = done;
        }
      }
    } catch (error) {
      const { status, ...problem } = problemOf(uploadFormOf(action, form), error);
      const values = action === "remove" ? {} : form;
      return await renderView(context, {
        ...settingsView(context, await usedBy(deps, fleetId), { problem, values }),
        status,
      });
    }
    return c.redirect(withNotice(paths.settings(fleetId), notice), 303);
  });
}
