/**
 * The dashboard's table and view model: the server's string renderer and the island's Preact
 * component write the same markup (so the island patches the server's rows in place), and the
 * filter and sort read from and write to the URL query.
 */
import assert from "node:assert/strict";
import { h } from "preact";
import { renderToString } from "preact-render-to-string";
import {
  applyQuery,
  DEFAULT_QUERY,
  readQuery,
  type VehicleStatusJson,
  writeQuery,
} from "../../islands/dashboard/model.ts";
import { VehicleTable, vehicleTableHtml } from "../../islands/dashboard/VehicleTable.tsx";

const NOW = Date.parse("2026-12-07T08:14:00.000Z");
const ago = (s: number) => new Date(NOW - s * 1000).toISOString();

function vehicle(
  name: string,
  options: { online?: boolean; seen?: number; backlog?: number[]; recording?: boolean } = {},
): VehicleStatusJson {
  const backlog = options.backlog ?? [0];
  return {
    vehicle: { id: `veh_${name.replace(/\W/g, "")}`, fleetId: "flt_1", name },
    online: options.online ?? false,
    lastSeenAt: options.seen === undefined ? null : ago(options.seen),
    clock: options.online ? "ok" : null,
    cameras: backlog.map((segments, i) => ({
      id: `cam_${i}`,
      name: i ? `cam <${i}> & "x"` : "front",
      recording: options.recording ?? (options.online ? true : false),
      recordingId: null,
      live: i === 0 ? "ready" : i === 1 ? "streaming" : null,
      backlog: options.online
        ? { segments, bytes: segments * 800_000, lastUploadAt: ago(5) }
        : null,
      lastSegmentAt: options.online ? ago(4) : null,
      clock: i === 1 ? "reanchored" : options.online ? "ok" : null,
      bytesToday: 1_200_000,
    })),
  };
}

const FLEET = [
  vehicle("bus-10", { online: true, seen: 3, backlog: [1, 2] }),
  vehicle("bus-2", { online: true, seen: 30, backlog: [9], recording: false }),
  vehicle(`bus-'1' <a> & "b"`, { seen: 4000 }),
  { ...vehicle("spare"), cameras: [] },
];

Deno.test("the table's string renderer writes exactly the Preact component's markup", () => {
  const cases = [
    { vehicles: FLEET, total: FLEET.length },
    { vehicles: [], total: FLEET.length },
    { vehicles: [], total: 0 },
  ];
  for (const { vehicles, total } of cases) {
    const props = { fleetId: "flt_1", vehicles, total, now: NOW };
    assert.equal(vehicleTableHtml(props), renderToString(h(VehicleTable, props)));
  }
  const html = vehicleTableHtml({ fleetId: "flt_1", vehicles: FLEET, total: 4, now: NOW });
  assert.match(html, /href="\/admin\/fleets\/flt_1\/vehicles\/veh_bus10\/cameras\/cam_1"/);
  assert.match(html, /bus-'1' &lt;a> &amp; &quot;b&quot;/);
  assert.match(html, /3 seg · 2\.4 MB/);
  assert.match(html, /seen 3 s ago/);
  assert.match(html, /seen 67 min ago/);
  assert.match(html, /clock reanchored/);
  assert.match(html, /Uploaded today">2\.4 MB/);
});

Deno.test("the dashboard's filter and sort pick and order vehicles", () => {
  const names = (query: Partial<typeof DEFAULT_QUERY>) =>
    applyQuery(FLEET, { ...DEFAULT_QUERY, ...query }).map((v) => v.vehicle.name);
  assert.deepEqual(names({}), [`bus-'1' <a> & "b"`, "bus-2", "bus-10", "spare"]);
  assert.deepEqual(names({ presence: "online" }), ["bus-2", "bus-10"]);
  assert.deepEqual(names({ presence: "offline" }), [`bus-'1' <a> & "b"`, "spare"]);
  assert.deepEqual(names({ recording: "recording" }), ["bus-10"]);
  assert.deepEqual(names({ recording: "idle", presence: "online" }), ["bus-2"]);
  assert.deepEqual(names({ text: "BUS-1" }), ["bus-10"]);
  assert.deepEqual(names({ text: "'1'" }), [`bus-'1' <a> & "b"`]);
  assert.deepEqual(names({ text: "front", presence: "online" }), ["bus-2", "bus-10"]);
  assert.deepEqual(names({ sort: "seen" }), ["bus-10", "bus-2", `bus-'1' <a> & "b"`, "spare"]);
  assert.deepEqual(names({ sort: "backlog" }), ["bus-2", "bus-10", `bus-'1' <a> & "b"`, "spare"]);
});

Deno.test("the dashboard's query round-trips through the URL and drops unknown values", () => {
  const view = { text: "bus 1", presence: "offline", recording: "idle", sort: "backlog" } as const;
  const search = writeQuery(view);
  assert.equal(search, "?q=bus+1&status=offline&rec=idle&sort=backlog");
  assert.deepEqual(readQuery(new URLSearchParams(search)), view);
  assert.equal(writeQuery(DEFAULT_QUERY), "");
  assert.deepEqual(
    readQuery(new URLSearchParams("status=gone&rec=1&sort=colour&q=%20%20")),
    DEFAULT_QUERY,
  );
});
