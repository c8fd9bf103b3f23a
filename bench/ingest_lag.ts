/**
 * Benchmark: ingest-to-playable lag. A handful of vehicles upload real ~500 KB CMAF segments at
 * real-time pace (one 2-second segment every `--interval` seconds each, staggered), and for every
 * segment this process measures the time from the PUT's 2xx to the first moment the camera's
 * open-ended HLS playlist (its signed link from POST …/links) lists it, polling the playlist
 * back to back from the 2xx on. The server runs in its own process.
 *
 * Baseline in the same run: the floor of this measurement, the duration of one playlist GET
 * issued right after the 2xx with no wait. A poll-based lag can never be shorter than that; a
 * lag equal to it means the segment was playable on the first look.
 *
 *   deno task bench:lag [--vehicles 10] [--segments 200] [--interval 2]
 */
import { parseArgs } from "node:util";
import { contentDigest, makeCmaf } from "../tests/support/media.ts";
import { supervise } from "./support/children.ts";
import { machineLine, ms, percentile, row, verdict } from "./support/report.ts";
import { type BenchVehicle, startBenchServer } from "./support/server.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    vehicles: { type: "string", default: "10" },
    segments: { type: "string", default: "200" },
    interval: { type: "string", default: "2" },
    bitrate: { type: "string", default: "2000k" },
    size: { type: "string", default: "1280x720" },
  },
});
const machine = machineLine(); // before the run: the load average is that of the machine alone
const VEHICLES = Number(values.vehicles);
const PER_VEHICLE = Math.ceil(Number(values.segments) / VEHICLES);
const INTERVAL_MS = Number(values.interval) * 1000;
const SEGMENT_MS = 2000;
/** A segment not in the playlist this long after its 2xx counts as never playable. */
const GIVE_UP_MS = 5_000;
const GOAL_P99_MS = 250;
const now = () => performance.timeOrigin + performance.now();

interface Sample {
  key: string;
  ackAt: number;
  /** Duration of the first playlist GET after the 2xx. */
  floorMs: number;
  /** From the 2xx until a playlist listing the segment was read; NaN if it never was. */
  lagMs: number;
  polls: number;
}

const cmaf = await makeCmaf({ seconds: 6, size: values.size, bitrate: values.bitrate });
const body = new Uint8Array(cmaf.segments[1].bytes);
const init = new Uint8Array(cmaf.init);

await using server = supervise(await startBenchServer({ vehicles: VEHICLES }));

/** Each vehicle's recording: its segments are `${recordingOf(vehicle)}/${sequence}`. */
const recordingOf = (vehicle: BenchVehicle) => `lag-${vehicle.vehicleId}`;

async function put(
  vehicle: BenchVehicle,
  path: string,
  bytes: Uint8Array<ArrayBuffer>,
  headers: Record<string, string> = {},
) {
  const response = await fetch(
    `${server.url}/api/v1/ingest/vehicles/${vehicle.vehicleId}/cameras/front/recordings/${
      recordingOf(vehicle)
    }/${path}`,
    {
      method: "PUT",
      body: bytes,
      headers: {
        authorization: `Bearer ${vehicle.token}`,
        "content-digest": await contentDigest(bytes),
        ...headers,
      },
    },
  );
  await response.body?.cancel();
  if (response.status !== 201) throw new Error(`PUT ${path}: ${response.status}`);
}

/** The vehicle's open-ended playlist link (EVENT: it grows as segments arrive). */
async function playlistLink(vehicle: BenchVehicle, fromMs: number): Promise<string> {
  const response = await fetch(
    `${server.url}/api/v1/fleets/${server.fleetId}/vehicles/${vehicle.vehicleId}/cameras/${vehicle.cameraId}/links`,
    {
      method: "POST",
      headers: { authorization: `Bearer ${server.ownerToken}`, "content-type": "application/json" },
      body: JSON.stringify({ from: new Date(fromMs).toISOString() }),
    },
  );
  if (response.status !== 201) throw new Error(`POST links: ${response.status}`);
  return (await response.json()).hls;
}

async function drive(vehicle: BenchVehicle, index: number, startAt: number): Promise<Sample[]> {
  const recordingStart = startAt - SEGMENT_MS; // its first segment has just been cut
  const link = await playlistLink(vehicle, recordingStart - 60_000);
  const samples: Sample[] = [];
  const offset = (index * INTERVAL_MS) / VEHICLES; // vehicles spread over the interval
  for (let sequence = 0; sequence < PER_VEHICLE; sequence++) {
    const due = startAt + offset + sequence * INTERVAL_MS;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - now())));
    await put(vehicle, `segments/${sequence}`, body, {
      "content-type": "video/iso.segment",
      "motorcade-segment-start": new Date(recordingStart + sequence * SEGMENT_MS).toISOString(),
      "motorcade-segment-duration": (SEGMENT_MS / 1000).toFixed(3),
    });
    const ackAt = now();
    const needle = `/${recordingOf(vehicle)}/${String(sequence).padStart(10, "0")}.m4s?`;
    let floorMs = NaN;
    let lagMs = NaN;
    let polls = 0;
    while (now() - ackAt < GIVE_UP_MS) {
      const sent = now();
      const response = await fetch(link);
      const text = await response.text();
      const read = now();
      if (response.status !== 200) throw new Error(`GET playlist: ${response.status}`);
      polls++;
      if (polls === 1) floorMs = read - sent;
      if (text.includes(needle)) {
        lagMs = read - ackAt;
        break;
      }
    }
    samples.push({ key: `${recordingOf(vehicle)}/${sequence}`, ackAt, floorMs, lagMs, polls });
  }
  return samples;
}

for (const vehicle of server.vehicles) {
  await put(vehicle, "init", init, { "content-type": "video/mp4" });
}
const startAt = now() + 500;
const perVehicle = await Promise.all(server.vehicles.map((v, i) => drive(v, i, startAt)));
const indexedAt = await server.indexedLog();

const samples = perVehicle.flat();
// Server side: when the indexer's batch holding the segment was committed, relative to the 2xx
// (negative: indexed before the response reached the vehicle).
const toIndexed = samples.filter((s) => indexedAt[s.key]).map((s) => indexedAt[s.key] - s.ackAt);
const seen = samples.filter((s) => Number.isFinite(s.lagMs));
const lags = seen.map((s) => s.lagMs);
const floors = samples.map((s) => s.floorMs);
const firstLook = samples.filter((s) => s.polls === 1 && Number.isFinite(s.lagMs)).length;

console.log(machine);
console.log(
  `load: ${VEHICLES} vehicles, one ${SEGMENT_MS / 1000} s segment of ${
    (body.byteLength / 1000).toFixed(0)
  } KB (${values.size} at ${values.bitrate}) every ${INTERVAL_MS / 1000} s each ` +
    `(${(VEHICLES * 1000 / INTERVAL_MS).toFixed(1)} segments/s), ${samples.length} segments`,
);
console.log(
  "lag = PUT 2xx -> a playlist GET (open-ended signed link) that lists the segment, read in full; " +
    "polled back to back",
);
console.log(
  "floor = the first playlist GET after the 2xx (no wait): the least a poll can measure",
);
console.log(
  `${"".padEnd(36)} ${"p50".padStart(10)}   ${"p99".padStart(10)}   ${"max".padStart(10)}`,
);
row(
  "floor: one playlist GET",
  ms(percentile(floors, 50)),
  ms(percentile(floors, 99)),
  ms(Math.max(...floors)),
);
row(
  "ingest-to-playable lag",
  ms(percentile(lags, 50)),
  ms(percentile(lags, 99)),
  ms(Math.max(...lags)),
);
row(
  "  2xx -> indexed (server hook)",
  ms(percentile(toIndexed, 50)),
  ms(percentile(toIndexed, 99)),
  ms(Math.max(...toIndexed)),
);
console.log(
  `playable on the first GET: ${firstLook} of ${samples.length}; never within ${GIVE_UP_MS} ms: ${
    samples.length - seen.length
  }; mean polls ${(samples.reduce((n, s) => n + s.polls, 0) / samples.length).toFixed(2)}`,
);
console.log(
  `ratio lag / floor at p50: ${
    (percentile(lags, 50) / percentile(floors, 50)).toFixed(2)
  }, at p99: ${(percentile(lags, 99) / percentile(floors, 99)).toFixed(2)}`,
);
const p99 = percentile(lags, 99);
console.log(
  `lag p99: ${p99.toFixed(1)} ms (goal <= ${GOAL_P99_MS} ms: ${
    verdict(p99 <= GOAL_P99_MS && seen.length === samples.length)
  })`,
);
