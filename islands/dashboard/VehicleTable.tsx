/**
 * The dashboard's table of vehicles, under 720 px as cards (`table.responsive`). Two renderers of
 * one markup: {@linkcode vehicleTableHtml} (a string, for the server: 500 vehicles in about a
 * millisecond) and {@linkcode VehicleTable} (Preact, for the FleetDashboard island, which then
 * patches the server's DOM in place, keeping focus). tests/ui/dashboard_table_test.ts holds them
 * equal.
 */
import { paths } from "../../routes/ui/paths.ts";
import {
  backlogOf,
  type CameraStatusJson,
  formatAge,
  formatBytes,
  type VehicleStatusJson,
} from "./model.ts";

/** Props of {@linkcode VehicleTable}. */
export interface VehicleTableProps {
  fleetId: string;
  /** The vehicles to show, filtered and ordered. */
  vehicles: readonly VehicleStatusJson[];
  /** How many the fleet has (to tell "none registered" from "none match"). */
  total: number;
  /** The instant ages are counted from (ms since the epoch). */
  now: number;
}

const LIVE_TEXT = { streaming: "Live: watched", ready: "Live: ready", unavailable: "Live: off" };
const HEADINGS = ["Vehicle", "Status", "Cameras", "Upload backlog", "Clock", "Uploaded today"];
const NONE_REGISTERED = "No vehicle registered yet.";
const NONE_MATCH = "No vehicle matches this filter.";
const CAPTION = "Vehicles and their status";

/** What one camera shows. */
function cameraText(camera: CameraStatusJson, now: number) {
  const rec = camera.recording === true ? "on" : camera.recording === false ? "off" : "unknown";
  let detail = `last segment ${formatAge(camera.lastSegmentAt, now)}`;
  if (camera.backlog) detail += ` · backlog ${camera.backlog.segments}`;
  if (camera.clock && camera.clock !== "ok") detail += ` · clock ${camera.clock}`;
  return {
    rec,
    recText: rec === "on" ? "Recording" : rec === "off" ? "Not recording" : "Not reported",
    live: camera.live ? LIVE_TEXT[camera.live] : null,
    detail,
  };
}

/** What one vehicle's row shows. */
function rowText(v: VehicleStatusJson, now: number) {
  const backlog = backlogOf(v);
  let lastUpload: string | null = null;
  let today = 0;
  for (const c of v.cameras) {
    const at = c.backlog?.lastUploadAt;
    if (at && (!lastUpload || at > lastUpload)) lastUpload = at;
    today += c.bytesToday;
  }
  const clock = v.clock ?? "—";
  return {
    state: v.online ? "Online" : "Offline",
    seen: `seen ${formatAge(v.lastSeenAt, now)}`,
    backlog: `${backlog.segments} seg · ${formatBytes(backlog.bytes)}`,
    uploaded: `uploaded ${formatAge(lastUpload, now)}`,
    clock,
    clockWarn: clock !== "ok" && clock !== "—",
    today: formatBytes(today),
  };
}

function Camera(
  { fleetId, vehicleId, camera, now }: {
    fleetId: string;
    vehicleId: string;
    camera: CameraStatusJson;
    now: number;
  },
) {
  const t = cameraText(camera, now);
  return (
    <li>
      <a href={paths.camera(fleetId, vehicleId, camera.id)}>{camera.label ?? camera.name}</a>
      <span class={`pill rec-${t.rec}`}>{t.recText}</span>
      {t.live && <span class={`pill live-${camera.live}`}>{t.live}</span>}
      <span class="muted">{t.detail}</span>
    </li>
  );
}

function Row({ fleetId, v, now }: { fleetId: string; v: VehicleStatusJson; now: number }) {
  const t = rowText(v, now);
  return (
    <tr data-vehicle={v.vehicle.id} data-online={String(v.online)}>
      <th scope="row">
        <a href={paths.vehicle(fleetId, v.vehicle.id)}>{v.vehicle.name}</a>
      </th>
      <td data-label="Status">
        <span class={v.online ? "state online" : "state offline"}>{t.state}</span>
        <span class="muted">{t.seen}</span>
      </td>
      <td data-label="Cameras">
        {v.cameras.length === 0 ? <span class="muted">No camera</span> : (
          <ul class="cams">
            {v.cameras.map((c) => (
              <Camera key={c.id} fleetId={fleetId} vehicleId={v.vehicle.id} camera={c} now={now} />
            ))}
          </ul>
        )}
      </td>
      <td data-label="Upload backlog" class="backlog">
        {t.backlog}
        <span class="muted">{t.uploaded}</span>
      </td>
      <td data-label="Clock" class={t.clockWarn ? "warn" : undefined}>{t.clock}</td>
      <td data-label="Uploaded today">{t.today}</td>
    </tr>
  );
}

/** The vehicles as a table (cards on a phone), each linking to its page, each camera to its DVR. */
export function VehicleTable({ fleetId, vehicles, total, now }: VehicleTableProps) {
  if (total === 0) return <p class="empty">{NONE_REGISTERED}</p>;
  if (vehicles.length === 0) return <p class="empty">{NONE_MATCH}</p>;
  return (
    <table class="responsive dashboard-table">
      <caption class="visually-hidden">{CAPTION}</caption>
      <thead>
        <tr>{HEADINGS.map((heading) => <th key={heading} scope="col">{heading}</th>)}</tr>
      </thead>
      <tbody>
        {vehicles.map((v) => <Row key={v.vehicle.id} fleetId={fleetId} v={v} now={now} />)}
      </tbody>
    </table>
  );
}

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", '"': "&quot;" };
const UNSAFE = /[&<"]/;
/** Text or an attribute value escaped as Preact's server renderer does (most need nothing). */
const esc = (text: string) => UNSAFE.test(text) ? text.replace(/[&<"]/g, (c) => ESCAPES[c]) : text;

/** {@linkcode VehicleTable}'s markup as a string, built directly (the server's renderer). */
export function vehicleTableHtml({ fleetId, vehicles, total, now }: VehicleTableProps): string {
  if (total === 0) return `<p class="empty">${NONE_REGISTERED}</p>`;
  if (vehicles.length === 0) return `<p class="empty">${NONE_MATCH}</p>`;
  const parts = [
    `<table class="responsive dashboard-table"><caption class="visually-hidden">${CAPTION}</caption><thead><tr>`,
    ...HEADINGS.map((heading) => `<th scope="col">${heading}</th>`),
    "</tr></thead><tbody>",
  ];
  for (const v of vehicles) {
    const t = rowText(v, now);
    const id = v.vehicle.id;
    parts.push(
      `<tr data-vehicle="${esc(id)}" data-online="${v.online}"><th scope="row"><a href="${
        esc(paths.vehicle(fleetId, id))
      }">${esc(v.vehicle.name)}</a></th><td data-label="Status"><span class="state ${
        v.online ? "online" : "offline"
      }">${t.state}</span><span class="muted">${esc(t.seen)}</span></td><td data-label="Cameras">`,
    );
    if (v.cameras.length === 0) parts.push(`<span class="muted">No camera</span>`);
    else {
      parts.push(`<ul class="cams">`);
      for (const c of v.cameras) {
        const ct = cameraText(c, now);
        parts.push(
          `<li><a href="${esc(paths.camera(fleetId, id, c.id))}">${
            esc(c.name)
          }</a><span class="pill rec-${ct.rec}">${ct.recText}</span>${
            ct.live ? `<span class="pill live-${c.live}">${ct.live}</span>` : ""
          }<span class="muted">${esc(ct.detail)}</span></li>`,
        );
      }
      parts.push("</ul>");
    }
    parts.push(
      `</td><td data-label="Upload backlog" class="backlog">${esc(t.backlog)}<span class="muted">${
        esc(t.uploaded)
      }</span></td><td data-label="Clock"${t.clockWarn ? ` class="warn"` : ""}>${
        esc(t.clock)
      }</td><td data-label="Uploaded today">${esc(t.today)}</td></tr>`,
    );
  }
  parts.push("</tbody></table>");
  return parts.join("");
}
