/**
 * Bad input on ingest: each a clear 4xx problem, nothing stored, and the server keeps serving.
 */
import assert from "node:assert/strict";
import { enrolDevice } from "../support/device.ts";
import { contentDigest, makeCmaf } from "../support/media.ts";
import { makeFleet, startTestPlatform } from "../support/platform.ts";
import { startServer } from "../support/server.ts";
import type { DistributedServer } from "../support/distributed.ts";

const cmaf = await makeCmaf({ seconds: 2 });
const segment = cmaf.segments[0].bytes;

async function storedFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.name === ".tmp") continue;
      if (entry.isDirectory) await walk(`${dir}/${entry.name}`);
      else out.push(`${dir}/${entry.name}`);
    }
  };
  await walk(root).catch(() => {});
  return out.sort();
}

Deno.test("ingest refuses bad uploads with a clear 4xx and stores nothing", async () => {
  await using platform = await startTestPlatform({ SEGMENT_MAX_BYTES: String(segment.byteLength) });
  const fleet = await makeFleet(platform, "Acme");
  const other = await makeFleet(platform, "Other");
  const device = await enrolDevice(platform, fleet.enrolmentCode);
  const secondVehicle = await platform.registry.registerVehicle(fleet.fleetId, "bus-2");
  const now = Date.now();
  const good = {
    "content-digest": await contentDigest(segment),
    "motorcade-segment-start": new Date(now - 10_000).toISOString(),
    "motorcade-segment-duration": "2.000",
  };
  const base = `/api/v1/ingest/vehicles/${fleet.vehicleId}/cameras/front/recordings/r1`;

  const cases: Array<{
    label: string;
    path?: string;
    token?: string | null;
    headers?: Record<string, string | undefined>;
    body?: Uint8Array;
    status: number;
    detail: RegExp;
  }> = [
    { label: "no token", token: null, status: 401, detail: /Authentication required/ },
    { label: "user token", token: fleet.tokens.admin, status: 403, detail: /for vehicles/ },
    {
      label: "another vehicle's key",
      path:
        `/api/v1/ingest/vehicles/${secondVehicle.vehicle.id}/cameras/front/recordings/r1/segments/0`,
      status: 403,
      detail: /cannot act for vehicle/,
    },
    {
      label: "a vehicle of another fleet",
      path: `/api/v1/ingest/vehicles/${other.vehicleId}/cameras/front/recordings/r1/segments/0`,
      status: 403,
      detail: /cannot act for vehicle/,
    },
    {
      label: "non-video body",
      body: new TextEncoder().encode("<html>not video</html>".repeat(20)),
      status: 415,
      detail: /neither/,
    },
    {
      // Video bytes one past the limit, without a Content-Length: refused while streaming.
      label: "oversize body",
      body: Uint8Array.from([...segment, 0]),
      status: 413,
      detail: /larger than/,
    },
    {
      label: "digest mismatch",
      headers: { "content-digest": await contentDigest(cmaf.init) },
      status: 400,
      detail: /does not match the body/,
    },
    {
      label: "missing digest",
      headers: { "content-digest": undefined },
      status: 400,
      detail: /Content-Digest/,
    },
    {
      label: "malformed digest",
      headers: { "content-digest": "md5=abc" },
      status: 400,
      detail: /sha-256/,
    },
    {
      label: "path traversal in the recording id",
      path: `${base.replace("/r1", "/..%2F..%2Fetc")}/segments/0`,
      status: 400,
      detail: /recordingId/,
    },
    {
      label: "path traversal in the camera",
      path: `${base.replace("/front/", "/..%2Ffront/")}/segments/0`,
      status: 400,
      detail: /camera/,
    },
    {
      label: "path traversal in the vehicle id",
      path: `/api/v1/ingest/vehicles/..%2F..%2F/cameras/front/recordings/r1/segments/0`,
      status: 403,
      detail: /cannot act for vehicle/,
    },
    {
      label: "negative sequence",
      path: `${base}/segments/-1`,
      status: 400,
      detail: /sequence/,
    },
    {
      label: "huge sequence",
      path: `${base}/segments/2147483648`,
      status: 400,
      detail: /Sequence must be an integer/,
    },
    // A time far in the future or before 2000 is re-timed, not refused (ingest_timing_test.ts).
    {
      label: "malformed corrected time",
      headers: { "motorcade-segment-start-corrected": "soon" },
      status: 400,
      detail: /motorcade-segment-start-corrected: must be an RFC 3339 time/,
    },
    {
      label: "malformed time",
      headers: { "motorcade-segment-start": "yesterday" },
      status: 400,
      detail: /RFC 3339/,
    },
    {
      label: "zero duration",
      headers: { "motorcade-segment-duration": "0" },
      status: 400,
      detail: /duration/,
    },
    {
      label: "camera not registered",
      path: `${base.replace("/front/", "/roof/")}/segments/0`,
      status: 404,
      detail: /not registered/,
    },
  ];

  for (const c of cases) {
    const headers: Record<string, string> = { "content-type": "video/iso.segment" };
    const digest = c.body ? { "content-digest": await contentDigest(c.body) } : {};
    for (const [name, value] of Object.entries({ ...good, ...digest, ...c.headers })) {
      if (value !== undefined) headers[name] = value;
    }
    const response = await platform.call("PUT", c.path ?? `${base}/segments/0`, {
      token: c.token === null ? undefined : c.token ?? device.token,
      body: (c.body ?? segment) as BodyInit,
      headers,
    });
    assert.equal(response.status, c.status, `${c.label}: ${await response.clone().text()}`);
    assert.equal(response.headers.get("content-type"), "application/problem+json", c.label);
    const problem = await response.json();
    assert.match(problem.detail, c.detail, `${c.label}: ${problem.detail}`);
    assert.deepEqual(await storedFiles(`${platform.dataDir}/objects`), [], c.label);
  }

  const ok = await platform.call("PUT", `${base}/segments/0`, {
    token: device.token,
    body: segment as BodyInit,
    headers: good,
  });
  assert.equal(ok.status, 201, "the server still accepts a good upload");
  assert.equal((await storedFiles(`${platform.dataDir}/objects`)).length, 1);
});

Deno.test("ingest refuses a truncated upload over a real socket and stores nothing", async () => {
  await using server = await startServer();
  const login = await (await fetch(`${server.url}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: "owner@example.com", password: "owner-password-1" }),
  })).json();
  const auth = { authorization: `Bearer ${login.accessToken}`, "content-type": "application/json" };
  const fleet = await (await fetch(`${server.url}/api/v1/fleets`, {
    method: "POST",
    headers: auth,
    body: JSON.stringify({ name: "Acme" }),
  })).json();
  const added = await (await fetch(`${server.url}/api/v1/fleets/${fleet.id}/vehicles`, {
    method: "POST",
    headers: auth,
    body: JSON.stringify({ name: "bus-1" }),
  })).json();
  const vehicleId = added.vehicle.id;
  await (await fetch(`${server.url}/api/v1/fleets/${fleet.id}/vehicles/${vehicleId}/cameras`, {
    method: "POST",
    headers: auth,
    body: JSON.stringify({ name: "front" }),
  })).body?.cancel();
  const { enrol, DeviceTokens } = await import("../../vehicle/identity.ts");
  const stateDir = await Deno.makeTempDir();
  const tokens = new DeviceTokens(await enrol(server.url, added.enrolment.code, stateDir));
  const token = await tokens.token();

  const port = Number(new URL(server.url).port);
  const connection = await Deno.connect({ hostname: "127.0.0.1", port });
  const head = [
    `PUT /api/v1/ingest/vehicles/${vehicleId}/cameras/front/recordings/r1/segments/0 HTTP/1.1`,
    `Host: 127.0.0.1:${port}`,
    `Authorization: Bearer ${token}`,
    `Content-Digest: ${await contentDigest(segment)}`,
    `Motorcade-Segment-Start: ${new Date(Date.now() - 5000).toISOString()}`,
    "Motorcade-Segment-Duration: 2.000",
    "Content-Type: video/iso.segment",
    `Content-Length: ${segment.byteLength}`,
    "",
    "",
  ].join("\r\n");
  await connection.write(new TextEncoder().encode(head));
  await connection.write(segment.subarray(0, Math.floor(segment.byteLength / 2)));
  connection.closeWrite();
  const reply = new Uint8Array(4096);
  const n = await connection.read(reply).catch(() => null);
  connection.close();
  if (n) assert.match(new TextDecoder().decode(reply.subarray(0, n)), /^HTTP\/1\.1 4\d\d/);
  // What the server stored: files under its DATA_DIR, or the distributed deployment's bucket.
  const stored = "objects" in server
    ? await Array.fromAsync((server as DistributedServer).objects().list(""))
    : await storedFiles(`${server.dataDir}/objects`);
  assert.deepEqual(stored, []);
  const health = await fetch(`${server.url}/healthz`);
  assert.equal(health.status, 200, "the server keeps serving");
  await health.body?.cancel();
  await Deno.remove(stateDir, { recursive: true });
});
