/**
 * `GET /admin/fleets/{fleetId}/vehicles`: every vehicle with its online state and cameras, and
 * (admins) registering a vehicle with its enrolment command, new codes, renaming and removing
 * vehicles and cameras; `GET …/vehicles/{vehicleId}`: a vehicle's live grid, enrolment state and
 * heartbeat history. The forms post to the actions registered by
 * {@linkcode registerVehicleActions}, which work without JavaScript (redirect back with a notice,
 * or the page again with the API's message next to the field).
 */
import type { Context } from "hono";
import type { Camera, Fleet, Role, User, Vehicle, VehicleStatus } from "../../lib/catalog/mod.ts";
import { type Enrolment, FleetStatus, type Presence } from "../../lib/fleet/mod.ts";
import type { ApiApp, AppEnv } from "../../lib/http/mod.ts";
import { Island } from "../../lib/ui/mod.ts";
import EnrolmentCommand from "../../islands/EnrolmentCommand.tsx";
import VehicleLive from "../../islands/VehicleLive.tsx";
import { enrolCommand, enrolmentStateView } from "../api/v1/views.ts";
import type { RouteDeps } from "../deps.ts";
import {
  actionContext,
  errorPage,
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
  may,
  type PageContext,
  type PageView,
  renderView,
  type UiContext,
} from "./page.tsx";
import { paths, patterns } from "./paths.ts";
import {
  loadVehicleUploads,
  registerUploadActions,
  UPLOAD_VEHICLE_NOTICES,
  VehicleUploadSections,
} from "./vehicle_uploads.tsx";

/** Who may register, re-code and remove vehicles (as the API: fleet admins; owners pass). */
const ADMINS: readonly Role[] = ["admin"];
/** Who may rename vehicles and add or remove cameras (as the API). */
const OPERATORS: readonly Role[] = ["admin", "operator"];

/** The form actions' URL patterns. */
const actions = {
  add: patterns.vehicles,
  rename: `${patterns.vehicle}/rename`,
  code: `${patterns.vehicle}/code`,
  remove: `${patterns.vehicle}/remove`,
  addCamera: `${patterns.vehicle}/cameras`,
  removeCamera: `${patterns.camera}/remove`,
  labelCamera: `${patterns.camera}/label`,
} as const;

const NOTICES: Record<string, string> = {
  renamed: "Vehicle renamed.",
  removed: "Vehicle removed. Its recordings left the catalog; their objects stay in the store.",
  "camera-added": "Camera added.",
  "camera-removed":
    "Camera removed. Its recordings left the catalog; their objects stay in the store.",
};

const VEHICLE_NOTICES: Record<string, string> = {
  "camera-labelled": "Camera label saved.",
  ...UPLOAD_VEHICLE_NOTICES,
};

/** What operators call a camera: its label, else its name. */
const cameraTitle = (camera: { name: string; label: string | null }) => camera.label ?? camera.name;

/** What removing says will happen to the recordings (as the API documents it). */
const REMOVAL_EFFECT =
  "Its recordings leave the catalog at once: no playlist, clip or share link reaches them any more. Their segment objects stay in the object store (outside retention) until removed there.";

const utc = (date: Date) => `${date.toISOString().slice(0, 19).replace("T", " ")} UTC`;

function When({ at }: { at: Date | null }) {
  return at ? <time dateTime={at.toISOString()}>{utc(at)}</time> : <span>never</span>;
}

function Online({ presence }: { presence?: Presence }) {
  const online = presence?.online ?? false;
  return (
    <span class={`badge ${online ? "online" : "offline"}`} data-testid="online">
      {online ? "Online" : "Offline"}
    </span>
  );
}

/** A just-issued enrolment code shown with its command and how to run it. */
interface IssuedCode {
  vehicle: Vehicle;
  code: string;
  command: string;
  expiresAt: Date;
}

function EnrolmentPanel({ issued, fleet }: { issued: IssuedCode; fleet: Fleet }) {
  return (
    <section class="card enrolment" aria-labelledby="enrol-title">
      <h2 id="enrol-title">Enrol {issued.vehicle.name}</h2>
      <p>
        Enrolment code <code class="code" data-testid="enrol-code">{issued.code}</code>{" "}
        works once, until <When at={issued.expiresAt} />; it is shown only now.
      </p>
      <ol class="steps">
        <li>
          On the vehicle's on-board computer, install <a href="https://deno.com">Deno 2</a>{" "}
          and ffmpeg, and copy this Motorcade repository there (the agent is in{" "}
          <code>vehicle/</code>).
        </li>
        <li>In the repository's folder, as the user the agent will run as, run:</li>
      </ol>
      <Island
        name="EnrolmentCommand"
        component={EnrolmentCommand}
        props={{
          fleetId: fleet.id,
          vehicleId: issued.vehicle.id,
          command: issued.command,
          state: "pending" as const,
        }}
      />
      <p class="muted">
        The vehicle makes its own key in{" "}
        <code>/var/lib/motorcade/device.json</code>; then start recording with{" "}
        <code>
          deno task vehicle record --state /var/lib/motorcade --camera NAME=SOURCE
        </code>. The state turns to enrolled here by itself (without JavaScript, open{" "}
        <a href={paths.vehicle(fleet.id, issued.vehicle.id)}>the vehicle's page</a>).
      </p>
    </section>
  );
}

interface VehicleRow {
  vehicle: Vehicle;
  presence?: Presence;
  cameras: { id: string; name: string; label: string | null }[];
}

interface ListProps {
  fleet: Fleet;
  user: User;
  csrf: string;
  query: URLSearchParams;
  rows: VehicleRow[];
  problem?: FormProblem;
  /** The values the refused form had. */
  values?: Record<string, string>;
  issued?: IssuedCode;
}

function Csrf({ csrf }: { csrf: string }) {
  return <input type="hidden" name="_csrf" value={csrf} />;
}

function VehicleCard({ row, props }: { row: VehicleRow; props: ListProps }) {
  const { fleet, user, csrf, problem, values } = props;
  const { vehicle, presence, cameras } = row;
  const base = paths.vehicle(fleet.id, vehicle.id);
  const admin = may(user, ADMINS);
  const operate = may(user, OPERATORS);
  const mine = (form: string) => problem?.form === form;
  const renameForm = `rename:${vehicle.id}`;
  const cameraForm = `camera:${vehicle.id}`;
  const open = [renameForm, cameraForm, `code:${vehicle.id}`, `remove:${vehicle.id}`].some(mine) ||
    cameras.some((c) => mine(`remove-camera:${c.id}`));
  const id = (what: string) => `${what}-${vehicle.id}`;
  return (
    <li class="card vehicle-card" data-vehicle={vehicle.name}>
      <div class="vehicle-head">
        <a href={base}>
          <strong>{vehicle.name}</strong>
        </a>
        <Online presence={presence} />
      </div>
      <p class="muted">
        Last seen <When at={presence?.lastSeenAt ?? null} />
      </p>
      {cameras.length === 0
        ? <p class="muted">No camera yet.</p>
        : (
          <ul class="camera-links" aria-label={`Cameras of ${vehicle.name}`}>
            {cameras.map((camera) => (
              <li key={camera.id}>
                <a href={paths.camera(fleet.id, vehicle.id, camera.id)}>{cameraTitle(camera)}</a>
              </li>
            ))}
          </ul>
        )}
      {operate && (
        <details class="manage" open={open}>
          <summary>Manage {vehicle.name}</summary>
          <form method="post" action={`${base}/rename`} class="vehicle-form">
            <Csrf csrf={csrf} />
            <label for={id("rename")}>Name</label>
            <input
              id={id("rename")}
              name="name"
              required
              maxLength={64}
              value={mine(renameForm) ? values?.name : vehicle.name}
              {...fieldState(problem, renameForm, "name", id("rename"))}
            />
            <button type="submit">Rename</button>
            <FieldProblem problem={problem} form={renameForm} field="name" id={id("rename")} />
            <FieldProblem problem={problem} form={renameForm} id={id("rename-form")} />
          </form>
          <form method="post" action={`${base}/cameras`} class="vehicle-form">
            <Csrf csrf={csrf} />
            <label for={id("camera")}>New camera</label>
            <input
              id={id("camera")}
              name="name"
              required
              maxLength={32}
              placeholder="front"
              value={mine(cameraForm) ? values?.name : ""}
              {...fieldState(problem, cameraForm, "name", id("camera"))}
            />
            <button type="submit">Add camera</button>
            <FieldProblem problem={problem} form={cameraForm} field="name" id={id("camera")} />
            <FieldProblem problem={problem} form={cameraForm} id={id("camera-form")} />
          </form>
          {cameras.map((camera) => (
            <details class="confirm" key={camera.id}>
              <summary>Remove camera {cameraTitle(camera)}…</summary>
              <p>{REMOVAL_EFFECT}</p>
              <form
                method="post"
                action={`${base}/cameras/${encodeURIComponent(camera.id)}/remove`}
              >
                <Csrf csrf={csrf} />
                <button type="submit" class="danger">
                  Remove camera {cameraTitle(camera)}
                </button>
              </form>
              <FieldProblem
                problem={problem}
                form={`remove-camera:${camera.id}`}
                id={`remove-${camera.id}`}
              />
            </details>
          ))}
          {admin && (
            <>
              <form method="post" action={`${base}/code`}>
                <Csrf csrf={csrf} />
                <button type="submit">Issue a new enrolment code</button>
                <FieldProblem problem={problem} form={`code:${vehicle.id}`} id={id("code")} />
              </form>
              <details class="confirm">
                <summary>Remove vehicle {vehicle.name}…</summary>
                <p>
                  Its cameras and credentials go with it (its tokens stop working at once).{" "}
                  {REMOVAL_EFFECT}
                </p>
                <form method="post" action={`${base}/remove`}>
                  <Csrf csrf={csrf} />
                  <button type="submit" class="danger">Remove vehicle {vehicle.name}</button>
                </form>
                <FieldProblem problem={problem} form={`remove:${vehicle.id}`} id={id("remove")} />
              </details>
            </>
          )}
        </details>
      )}
    </li>
  );
}

function VehiclesBody(props: ListProps) {
  const { fleet, user, csrf, query, rows, problem, values, issued } = props;
  return (
    <>
      <PageTitle title="Vehicles" />
      <Notice query={query} notices={NOTICES} />
      {issued && <EnrolmentPanel issued={issued} fleet={fleet} />}
      {may(user, ADMINS) && (
        <form method="post" action={paths.vehicles(fleet.id)} class="card vehicle-form add-vehicle">
          <Csrf csrf={csrf} />
          <label for="add-name">New vehicle</label>
          <input
            id="add-name"
            name="name"
            required
            maxLength={64}
            placeholder="bus-17"
            value={problem?.form === "add" ? values?.name : ""}
            {...fieldState(problem, "add", "name", "add-name")}
          />
          <button type="submit" class="primary">Add vehicle</button>
          <FieldProblem problem={problem} form="add" field="name" id="add-name" />
          <FieldProblem problem={problem} form="add" id="add-form" />
        </form>
      )}
      {rows.length === 0
        ? <p class="empty">No vehicle registered yet.</p>
        : (
          <ul class="card-list vehicle-list" aria-label="Vehicles">
            {rows.map((row) => <VehicleCard key={row.vehicle.id} row={row} props={props} />)}
          </ul>
        )}
    </>
  );
}

async function vehicleRows(deps: RouteDeps, fleetId: string): Promise<VehicleRow[]> {
  const [vehicles, presences, cameras] = await Promise.all([
    deps.registry.listVehicles(fleetId),
    statusOf(deps).presences(fleetId),
    deps.catalog.vehicleStatus.cameraActivity(fleetId, Date.now()),
  ]);
  return vehicles.map((vehicle) => ({
    vehicle,
    presence: presences.get(vehicle.id),
    cameras: cameras
      .filter((c) => c.vehicleId === vehicle.id)
      .map((c) => ({ id: c.cameraId, name: c.name, label: c.label }))
      .sort((a, b) => cameraTitle(a).localeCompare(cameraTitle(b))),
  }));
}

const statuses = new WeakMap<RouteDeps, FleetStatus>();
function statusOf(deps: RouteDeps): FleetStatus {
  let status = statuses.get(deps);
  if (!status) {
    status = new FleetStatus({
      catalog: deps.catalog,
      registry: deps.registry,
      offlineAfterMs: deps.config.vehicleOfflineAfterMs,
      live: deps.live,
    });
    statuses.set(deps, status);
  }
  return status;
}

async function renderList(
  context: PageContext,
  extra: Pick<ListProps, "problem" | "values" | "issued"> & { status?: number } = {},
): Promise<Response> {
  const fleet = context.fleet!;
  const rows = await vehicleRows(context.deps, fleet.id);
  return await renderView(context, {
    title: `Vehicles · ${fleet.name}`,
    section: "vehicles",
    status: extra.status,
    body: (
      <VehiclesBody
        fleet={fleet}
        user={context.user}
        csrf={context.csrf}
        query={context.query}
        rows={rows}
        {...extra}
      />
    ),
  });
}

/** The vehicles page. */
export const vehiclesPage = definePage({
  pattern: patterns.vehicles,
  access: { kind: "user" },
  load: (context) => renderList(context),
});

function heartbeatSummary(status: Record<string, unknown>): string[] {
  const cameras = Array.isArray(status.cameras) ? status.cameras as Record<string, unknown>[] : [];
  return cameras.map((c) => {
    const parts = [c.capturing ? "recording" : "not recording"];
    parts.push(`${c.queueDepth ?? 0} queued`);
    if (typeof c.bytesPending === "number" && c.bytesPending > 0) {
      parts.push(`${(c.bytesPending / 1e6).toFixed(1)} MB pending`);
    }
    if (typeof c.evictedSegments === "number" && c.evictedSegments > 0) {
      parts.push(`${c.evictedSegments} evicted`);
    }
    return `${c.camera}: ${parts.join(", ")}`;
  });
}

function HeartbeatTable({ heartbeats }: { heartbeats: VehicleStatus[] }) {
  if (heartbeats.length === 0) return <p class="empty">No heartbeat received yet.</p>;
  return (
    <table class="responsive heartbeats">
      <thead>
        <tr>
          <th scope="col">Received</th>
          <th scope="col">Uptime</th>
          <th scope="col">Clock</th>
          <th scope="col">Cameras</th>
        </tr>
      </thead>
      <tbody>
        {heartbeats.map((beat) => {
          const clock = beat.status.clock as { state?: string; jumps?: number } | undefined;
          const uptime = Number(beat.status.uptimeS ?? 0);
          return (
            <tr key={beat.reportedAt.getTime()}>
              <td data-label="Received">
                <When at={beat.reportedAt} />
              </td>
              <td data-label="Uptime">{`${Math.round(uptime)} s`}</td>
              <td data-label="Clock">
                {clock?.state ?? "?"}
                {clock?.jumps ? ` (${clock.jumps} jumps)` : ""}
              </td>
              <td data-label="Cameras">
                {heartbeatSummary(beat.status).map((line) => <div key={line}>{line}</div>)}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

const ENROLMENT_TEXT = {
  enrolled: "Enrolled",
  pending: "Pending: a code awaits enrolment",
  none: "Not enrolled: no valid code",
} as const;

/** The vehicle page's view; `extra` carries a refused label form back to it. */
async function vehicleView(
  { deps, fleet, params, user, csrf, query }: PageContext,
  extra: { problem?: FormProblem; values?: Record<string, string> } = {},
): Promise<PageView> {
  const vehicle = await deps.registry.vehicle(fleet!.id, params.vehicleId);
  const [cameras, credentials, presence, heartbeats] = await Promise.all([
    deps.registry.listCameras(fleet!.id, vehicle.id),
    deps.registry.listCredentials(fleet!.id, vehicle.id),
    statusOf(deps).presence(fleet!.id, vehicle.id),
    deps.registry.heartbeats.list(vehicle.id),
  ]);
  const enrolment = enrolmentStateView(credentials);
  const sorted = [...cameras].sort((a: Camera, b: Camera) =>
    cameraTitle(a).localeCompare(cameraTitle(b))
  );
  const uploads = await loadVehicleUploads(deps, user, fleet!.id, vehicle.id, sorted);
  const history = deps.registry.heartbeats;
  return {
    title: `${vehicle.name} · ${fleet!.name}`,
    section: "vehicles",
    body: (
      <>
        <PageTitle
          title={vehicle.name}
          actions={<a class="button-link" href={paths.vehicles(fleet!.id)}>All vehicles</a>}
        >
          <Online presence={presence} />
        </PageTitle>
        <Notice query={query} notices={VEHICLE_NOTICES} />
        <dl class="facts">
          <dt>Last seen</dt>
          <dd>
            <When at={presence.lastSeenAt} />
          </dd>
          <dt>Enrolment</dt>
          <dd data-testid="enrolment-state">
            {ENROLMENT_TEXT[enrolment.state]}
            {enrolment.enrolledAt && (
              <>
                {" "}since <When at={new Date(enrolment.enrolledAt)} />
              </>
            )}
            {enrolment.state === "pending" && enrolment.pendingUntil && (
              <>
                {" "}until <When at={new Date(enrolment.pendingUntil)} />
              </>
            )}
          </dd>
        </dl>
        {may(user, ADMINS) && enrolment.state !== "enrolled" && (
          <form
            method="post"
            action={`${paths.vehicle(fleet!.id, vehicle.id)}/code`}
            class="vehicle-form"
          >
            <Csrf csrf={csrf} />
            <button type="submit">Issue a new enrolment code</button>
          </form>
        )}
        <h2>Cameras</h2>
        {sorted.length === 0 ? <p class="empty">No camera yet.</p> : (
          <>
            <ul class="camera-links" aria-label="Recordings">
              {sorted.map((camera) => (
                <li key={camera.id}>
                  <a href={paths.camera(fleet!.id, vehicle.id, camera.id)}>
                    Recordings of {cameraTitle(camera)}
                  </a>
                </li>
              ))}
            </ul>
            <Island
              name="VehicleLive"
              component={VehicleLive}
              props={{
                fleetId: fleet!.id,
                vehicleId: vehicle.id,
                vehicleName: vehicle.name,
                cameras: sorted.map((c) => ({ id: c.id, name: c.name, label: c.label })),
                live: deps.live !== null,
              }}
            />
            {may(user, OPERATORS) && (
              <CameraLabels
                fleetId={fleet!.id}
                vehicleId={vehicle.id}
                cameras={sorted}
                csrf={csrf}
                {...extra}
              />
            )}
          </>
        )}
        <VehicleUploadSections
          fleetId={fleet!.id}
          vehicleId={vehicle.id}
          uploads={uploads}
          user={user}
          csrf={csrf}
          {...extra}
        />
        <h2>Heartbeats</h2>
        {heartbeats.length > 0 && (
          <p class="muted">
            {history.keepMs > 0
              ? `The last ${heartbeats.length} heartbeats (newest first; the server keeps ${
                Math.round(history.keepMs / 3_600_000 * 10) / 10
              } h of them, at most ${history.atMost.toLocaleString("en")}).`
              : "The last heartbeat (HEARTBEAT_HISTORY is 0: no history is kept)."}
          </p>
        )}
        <HeartbeatTable heartbeats={heartbeats} />
      </>
    ),
  };
}

/** Forms that label each camera (operators): what the pages call it, its name unchanged. */
function CameraLabels(
  { fleetId, vehicleId, cameras, csrf, problem, values }: {
    fleetId: string;
    vehicleId: string;
    cameras: Camera[];
    csrf: string;
    problem?: FormProblem;
    values?: Record<string, string>;
  },
) {
  const refused = cameras.some((camera) => problem?.form === `label:${camera.id}`);
  return (
    <details class="manage camera-labels" open={refused}>
      <summary>Label cameras</summary>
      <p class="muted">
        A label is what these pages call a camera; its name (what the vehicle's agent records under)
        stays. Leave it empty to show the name.
      </p>
      {cameras.map((camera) => {
        const form = `label:${camera.id}`;
        const id = `label-${camera.id}`;
        return (
          <form
            key={camera.id}
            method="post"
            action={`${paths.camera(fleetId, vehicleId, camera.id)}/label`}
            class="vehicle-form"
          >
            <Csrf csrf={csrf} />
            <label for={id}>Label of camera {camera.name}</label>
            <input
              id={id}
              name="label"
              maxLength={64}
              placeholder={camera.name}
              value={problem?.form === form ? values?.label : camera.label ?? ""}
              {...fieldState(problem, form, "label", id)}
            />
            <button type="submit">
              Save label <span class="visually-hidden">of camera {camera.name}</span>
            </button>
            <FieldProblem problem={problem} form={form} field="label" id={id} />
            <FieldProblem problem={problem} form={form} id={`${id}-form`} />
          </form>
        );
      })}
    </details>
  );
}

/** The vehicle page. */
export const vehiclePage = definePage({
  pattern: patterns.vehicle,
  access: { kind: "user" },
  load: (context) => vehicleView(context),
});

/** The vehicle (and camera) of an action's path, 404 when not of the fleet. */
async function targetOf(context: PageContext): Promise<Vehicle> {
  return await context.deps.registry.vehicle(context.fleet!.id, context.params.vehicleId);
}

type Action = (
  context: PageContext,
  form: Record<string, string>,
) => Promise<Response>;

function action(
  app: ApiApp,
  deps: RouteDeps,
  ui: UiContext,
  pattern: string,
  roles: readonly Role[],
  formName: (params: Record<string, string>) => string,
  run: Action,
): void {
  app.post(pattern, async (c: Context<AppEnv>) => {
    const context = await actionContext(c, deps, ui, roles);
    if (context instanceof Response) return context;
    const form = await formOf(c);
    try {
      return await run(context, form);
    } catch (error) {
      const problem = problemOf(formName(context.params), error);
      if (problem.status === 404) return await errorPage(context, error);
      return await renderList(context, { problem, values: form, status: problem.status });
    }
  });
}

function issuedOf(vehicle: Vehicle, enrolment: Enrolment, publicUrl: string): IssuedCode {
  return {
    vehicle,
    code: enrolment.code,
    command: enrolCommand(publicUrl, enrolment.code),
    expiresAt: enrolment.credential.enrolmentExpiresAt,
  };
}

/** Registers the vehicles page's form actions (each checks the role the API would). */
export function registerVehicleActions(app: ApiApp, deps: RouteDeps, ui: UiContext): void {
  const { registry, config } = deps;
  const back = (context: PageContext, notice: string) =>
    context.c.redirect(withNotice(paths.vehicles(context.fleet!.id), notice), 303);

  action(app, deps, ui, actions.add, ADMINS, () => "add", async (context, form) => {
    const { vehicle, enrolment } = await registry.registerVehicle(
      context.fleet!.id,
      form.name ?? "",
    );
    return await renderList(context, {
      issued: issuedOf(vehicle, enrolment, config.publicUrl),
      status: 201,
    });
  });
  action(app, deps, ui, actions.code, ADMINS, (p) => `code:${p.vehicleId}`, async (context) => {
    const vehicle = await targetOf(context);
    const enrolment = await registry.issueCredential(context.fleet!.id, vehicle.id);
    return await renderList(context, {
      issued: issuedOf(vehicle, enrolment, config.publicUrl),
      status: 201,
    });
  });
  action(
    app,
    deps,
    ui,
    actions.rename,
    OPERATORS,
    (p) => `rename:${p.vehicleId}`,
    async (context, form) => {
      await registry.renameVehicle(context.fleet!.id, context.params.vehicleId, form.name ?? "");
      return back(context, "renamed");
    },
  );
  action(app, deps, ui, actions.remove, ADMINS, (p) => `remove:${p.vehicleId}`, async (context) => {
    await registry.deleteVehicle(context.fleet!.id, context.params.vehicleId);
    return back(context, "removed");
  });
  action(
    app,
    deps,
    ui,
    actions.addCamera,
    OPERATORS,
    (p) => `camera:${p.vehicleId}`,
    async (context, form) => {
      await registry.addCamera(context.fleet!.id, context.params.vehicleId, form.name ?? "");
      return back(context, "camera-added");
    },
  );
  registerUploadActions(app, deps, ui, vehicleView);
  app.post(actions.labelCamera, async (c: Context<AppEnv>) => {
    const context = await actionContext(c, deps, ui, OPERATORS);
    if (context instanceof Response) return context;
    const form = await formOf(c);
    const { vehicleId, cameraId } = context.params;
    try {
      await registry.labelCamera(context.fleet!.id, vehicleId, cameraId, form.label ?? "");
      return context.c.redirect(
        withNotice(paths.vehicle(context.fleet!.id, vehicleId), "camera-labelled"),
        303,
      );
    } catch (error) {
      const problem = problemOf(`label:${cameraId}`, error);
      if (problem.status === 404) return await errorPage(context, error);
      const view = await vehicleView(context, { problem, values: form });
      return await renderView(context, { ...view, status: problem.status });
    }
  });
  action(
    app,
    deps,
    ui,
    actions.removeCamera,
    OPERATORS,
    (p) => `remove-camera:${p.cameraId}`,
    async (context) => {
      const { vehicleId, cameraId } = context.params;
      await registry.deleteCamera(context.fleet!.id, vehicleId, cameraId);
      return back(context, "camera-removed");
    },
  );
}
