/**
 * The server with its catalog on PostgreSQL (`CATALOG_URL=postgres://…`, a throwaway Debian
 * cluster): the owner signs in, a vehicle is set up and enrolled, segments uploaded through ingest
 * are indexed there and play (ffmpeg reads the whole playlist). With PostgreSQL stopped while
 * the vehicle keeps uploading, the API answers 503 with Retry-After and /readyz names the
 * catalog; once it is back, every segment is indexed exactly once.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { join } from "node:path";
import { apiCall, setUpVehicle, signedLinks } from "../support/fleet_api.ts";
import { makeCmaf } from "../support/media.ts";
import { recordingUpload } from "../support/recording_upload.ts";
import { startPostgres } from "../support/postgres.ts";
import { startServer } from "../support/server.ts";

Deno.test("a server on PostgreSQL signs in, indexes uploads and plays them, across a PostgreSQL restart", async () => {
  const cmaf = await makeCmaf({ seconds: 12 });
  await using pg = await startPostgres();
  const catalogUrl = await pg.createDatabase();
  await using server = await startServer({ CATALOG_URL: catalogUrl });
  const vehicle = await setUpVehicle(server.url);
  const token = await vehicle.tokens!.token();
  const { start, put, segment } = recordingUpload(server.url, vehicle.vehicleId, token, cmaf);

  assert.equal((await put("init", cmaf.init)).status, 201);
  const count = cmaf.segments.length;
  const half = Math.floor(count / 2);
  for (let i = 0; i < half; i++) assert.equal((await segment(i)).status, 201);

  // PostgreSQL down: what needs the catalog says 503, retry; uploads go on (ingest spools them on
  // the bus and the indexer retries them).
  await pg.stop();
  const fleets = await fetch(`${server.url}/api/v1/fleets`, {
    headers: { authorization: `Bearer ${vehicle.ownerToken}` },
  }).catch((error) => {
    throw new Error(`The server did not answer with PostgreSQL down:\n${server.logs.join("\n")}`, {
      cause: error,
    });
  });
  const problem = await fleets.text();
  assert.equal(fleets.status, 503, problem);
  assert.ok(Number(fleets.headers.get("retry-after")) > 0, problem);
  assert.match(problem, /Cannot use the catalog now/);
  const ready = await fetch(`${server.url}/readyz`);
  assert.equal(ready.status, 503);
  assert.match(await ready.text(), /catalog/);
  const whileDown = await segment(half, 1);
  assert.ok([200, 201, 503].includes(whileDown.status), `${whileDown.status} ${whileDown.text}`);
  await pg.start();
  if (whileDown.status === 503) assert.ok([200, 201].includes((await segment(half)).status));
  for (let i = half + 1; i < count; i++) {
    const stored = await segment(i);
    assert.ok([200, 201].includes(stored.status), `${stored.status} ${stored.text}`);
  }

  // Every segment indexed once, and the playlist plays.
  const to = new Date(start + cmaf.segments.reduce((ms, s) => ms + s.durationMs, 0));
  const links = await signedLinks(server.url, vehicle, "front", { from: new Date(start), to });
  let playlist = "";
  for (let attempt = 0; attempt < 300; attempt++) { // the indexer is asynchronous
    const response = await fetch(links.hls);
    playlist = await response.text();
    if (response.status === 200 && (playlist.match(/#EXTINF/g) ?? []).length === count) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const sequences = [...playlist.matchAll(/\/(\d{10})\.m4s\?/g)].map((m) => Number(m[1]));
  assert.deepEqual(sequences, Array.from({ length: count }, (_, i) => i), playlist);
  const sql = postgres(catalogUrl, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql`SELECT count(*)::int AS n, count(DISTINCT sequence)::int AS distinct
      FROM segments WHERE recording_id = 'r1'`;
    assert.deepEqual({ ...row }, { n: count, distinct: count });
  } finally {
    await sql.end();
  }
  const out = join(await Deno.makeTempDir({ prefix: "motorcade-pg-play-" }), "day.mp4");
  try {
    const copy = await new Deno.Command("ffmpeg", {
      args: ["-v", "error", "-y", "-i", links.hls, "-c", "copy", out],
      stderr: "piped",
    }).output();
    assert.ok(copy.success, new TextDecoder().decode(copy.stderr));
    const probe = await new Deno.Command("ffprobe", {
      args: ["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", out],
      stdout: "piped",
    }).output();
    const duration = Number(new TextDecoder().decode(probe.stdout));
    assert.ok(Math.abs(duration - (to.getTime() - start) / 1000) <= 1, `played ${duration} s`);
  } finally {
    await Deno.remove(join(out, ".."), { recursive: true });
  }

  const readyAgain = await fetch(`${server.url}/readyz`);
  assert.equal(readyAgain.status, 200, await readyAgain.text());
  const listed = await apiCall(server.url, "GET", "/api/v1/fleets", vehicle.ownerToken);
  assert.deepEqual(listed.fleets.map((f: { id: string }) => f.id), [vehicle.fleetId]);
  await Deno.remove(vehicle.stateDir, { recursive: true });
});
