/**
 * The catalog's repository contract, one body run on both engines: the embedded SQLite catalog and
 * the PostgreSQL one (a throwaway Debian cluster, tests/support/postgres.ts). Each case gets a
 * fresh catalog. Then what only a shared server has to hold: two catalogs indexing the same
 * segments at once keep one row each, four opening an empty database at once migrate it once, and
 * PostgreSQL down is a 503 with Retry-After until it is back.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { join } from "node:path";
import {
  type Catalog,
  openCatalog,
  type SegmentRecord,
  type UrlSigningKey,
} from "../../lib/catalog/mod.ts";
import { ConflictError, UnavailableError } from "../../lib/errors/mod.ts";
import { POSTGRES_MIGRATIONS } from "../../lib/catalog/postgres/migrations.ts";
import { type PostgresCluster, startPostgres } from "../support/postgres.ts";

/**
 * Asserts `call` fails with `kind`, whether it throws or rejects (the SQLite repositories are
 * synchronous underneath and throw before returning their promise).
 */
function rejects(call: () => Promise<unknown>, kind: new (...args: never[]) => Error) {
  return assert.rejects(async () => await call(), kind);
}

/** Opens a fresh, empty catalog of one engine (twice on the same database with `again`). */
interface Engine {
  name: string;
  fresh(): Promise<{ url: string; catalog: Catalog }>;
}

const T0 = Date.UTC(2026, 10, 24, 3, 0, 0);

/** A fleet with a vehicle with a camera. */
async function camera(catalog: Catalog, fleetName = "Acme") {
  const fleet = await catalog.fleets.create({ name: fleetName });
  const vehicle = await catalog.vehicles.create({ fleetId: fleet.id, name: "truck-1" });
  const cam = await catalog.cameras.create({
    fleetId: fleet.id,
    vehicleId: vehicle.id,
    name: "front",
  });
  return { fleet, vehicle, camera: cam };
}

/** Segment `sequence` of recording `recordingId` of `at`'s camera: 2 s each from `startMs`. */
function segment(
  at: Awaited<ReturnType<typeof camera>>,
  recordingId: string,
  sequence: number,
  startMs = T0 + sequence * 2000,
): SegmentRecord {
  return {
    fleetId: at.fleet.id,
    vehicleId: at.vehicle.id,
    cameraId: at.camera.id,
    recordingId,
    sequence,
    startMs,
    durationMs: 2000,
    size: 1000 + sequence,
    sha256: `sha-${sequence}`,
    objectKey: `${at.camera.id}/${recordingId}/${String(sequence).padStart(10, "0")}.m4s`,
  };
}

const CASES: Record<string, (catalog: Catalog) => Promise<void>> = {
  async "fleet settings are set one at a time and null restores the default"(catalog) {
    const acme = await catalog.fleets.create({ name: "Acme" });
    assert.deepEqual([acme.timeZone, acme.segmentSeconds, acme.liveLadder], [null, null, null]);
    await catalog.fleets.setSettings(acme.id, { timeZone: "Europe/Berlin", segmentSeconds: 2.5 });
    const set = await catalog.fleets.setSettings(acme.id, {
      liveLadder: "480:600k,720:1m,1080:3m",
    });
    assert.deepEqual(
      [set?.timeZone, set?.segmentSeconds, set?.liveLadder],
      ["Europe/Berlin", 2.5, "480:600k,720:1m,1080:3m"],
    );
    assert.deepEqual(await catalog.fleets.get(acme.id), set);
    const reset = await catalog.fleets.setSettings(acme.id, { timeZone: null });
    assert.deepEqual([reset?.timeZone, reset?.segmentSeconds], [null, 2.5]);
    assert.equal(await catalog.fleets.setSettings("flt_00000000000000000000", {}), undefined);
  },

  async "a fleet's heartbeats and camera activity are read in one call each"(catalog) {
    const at = await camera(catalog);
    const other = await camera(catalog, "Other");
    await catalog.vehicleStatus.report(at.vehicle.id, { n: 1 }, new Date(T0));
    await catalog.vehicleStatus.report(other.vehicle.id, { n: 2 }, new Date(T0));
    await catalog.recordings.indexSegments([
      segment(at, "rec-1", 0),
      segment(at, "rec-1", 1),
      segment(at, "rec-1", 2, T0 + 86_400_000),
    ]);
    // A recording whose init arrived before any segment has an empty range (ended at 0): it is
    // not the camera's last segment (the dashboard showed "20794 d ago" for a starting camera).
    await catalog.recordings.setInit(
      {
        fleetId: at.fleet.id,
        vehicleId: at.vehicle.id,
        cameraId: at.camera.id,
        recordingId: "rec-2",
      },
      "init-rec-2",
    );
    const starting = await camera(catalog, "Starting");
    await catalog.recordings.setInit(
      {
        fleetId: starting.fleet.id,
        vehicleId: starting.vehicle.id,
        cameraId: starting.camera.id,
        recordingId: "rec-0",
      },
      "init-rec-0",
    );
    const [justInit] = await catalog.vehicleStatus.cameraActivity(starting.fleet.id, T0);
    assert.equal(justInit.lastSegmentAt, null, "no segment yet: no last segment time");
    const statuses = await catalog.vehicleStatus.listFleet(at.fleet.id);
    assert.deepEqual(statuses.map((s) => [s.vehicleId, s.status]), [[at.vehicle.id, { n: 1 }]]);
    const [activity, ...none] = await catalog.vehicleStatus.cameraActivity(at.fleet.id, T0 + 1);
    assert.deepEqual(none, []);
    assert.equal(activity.cameraId, at.camera.id);
    assert.equal(activity.lastSegmentAt?.getTime(), T0 + 86_400_000 + 2000);
    assert.equal(activity.bytesSince, 1001 + 1002, "segments from sinceMs on");
  },

  async "a camera's label is set and cleared while its name stays"(catalog) {
    const at = await camera(catalog);
    assert.equal(at.camera.label, null);
    const labelled = await catalog.cameras.setLabel(at.fleet.id, at.camera.id, "Door, rear");
    assert.deepEqual(labelled, { ...at.camera, label: "Door, rear" });
    assert.deepEqual(await catalog.cameras.get(at.fleet.id, at.camera.id), labelled);
    assert.deepEqual(await catalog.cameras.list(at.fleet.id, at.vehicle.id), [labelled]);
    const [activity] = await catalog.vehicleStatus.cameraActivity(at.fleet.id, T0);
    assert.deepEqual([activity.name, activity.label], ["front", "Door, rear"]);
    const other = await camera(catalog, "Other");
    assert.equal(
      await catalog.cameras.setLabel(other.fleet.id, at.camera.id, "x"),
      undefined,
      "another fleet's camera is not found",
    );
    const cleared = await catalog.cameras.setLabel(at.fleet.id, at.camera.id, null);
    assert.equal(cleared?.label, null);
    assert.equal(cleared?.name, "front");
  },

  async "a vehicle's heartbeat history keeps what it is asked to, newest first"(catalog) {
    const at = await camera(catalog);
    const other = await camera(catalog, "Other");
    const second = (s: number) => new Date(T0 + s * 1000);
    for (let s = 0; s < 6; s++) {
      await catalog.vehicleStatus.report(at.vehicle.id, { s }, second(s), {
        since: second(s - 3),
        atMost: 10,
      });
    }
    await catalog.vehicleStatus.report(other.vehicle.id, { s: 99 }, second(5), {
      since: second(0),
      atMost: 10,
    });
    const history = await catalog.vehicleStatus.history(at.vehicle.id, second(0), 100);
    assert.deepEqual(history.map((h) => h.status.s), [5, 4, 3, 2], "older than `since` deleted");
    assert.deepEqual(history[0], {
      vehicleId: at.vehicle.id,
      reportedAt: second(5),
      status: { s: 5 },
    });
    assert.deepEqual((await catalog.vehicleStatus.get(at.vehicle.id))?.status, { s: 5 });
    assert.deepEqual(
      (await catalog.vehicleStatus.history(at.vehicle.id, second(4), 100)).map((h) => h.status.s),
      [5, 4],
      "read from `since`",
    );
    assert.deepEqual(
      (await catalog.vehicleStatus.history(at.vehicle.id, second(0), 1)).map((h) => h.status.s),
      [5],
      "at most `limit`",
    );
    // A bound by count: only the newest `atMost` stay.
    await catalog.vehicleStatus.report(at.vehicle.id, { s: 6 }, second(6), {
      since: second(0),
      atMost: 2,
    });
    assert.deepEqual(
      (await catalog.vehicleStatus.history(at.vehicle.id, second(0), 100)).map((h) => h.status.s),
      [6, 5],
    );
    // Without `keep`, only the last heartbeat changes.
    await catalog.vehicleStatus.report(at.vehicle.id, { s: 7 }, second(7));
    assert.deepEqual((await catalog.vehicleStatus.get(at.vehicle.id))?.status, { s: 7 });
    assert.equal((await catalog.vehicleStatus.history(at.vehicle.id, second(0), 100)).length, 2);
    assert.deepEqual(
      (await catalog.vehicleStatus.history(other.vehicle.id, second(0), 100)).map((h) => h.status),
      [{ s: 99 }],
      "another vehicle's history is its own",
    );
    await catalog.vehicles.delete(at.fleet.id, at.vehicle.id);
    assert.deepEqual(
      await catalog.vehicleStatus.history(at.vehicle.id, second(0), 100),
      [],
      "the history goes with its vehicle",
    );
  },

  async "fleets are unique by name, renamed, and deleted only when empty"(catalog) {
    const acme = await catalog.fleets.create({ name: "Acme" });
    const zeta = await catalog.fleets.create({ name: "Zeta" });
    await rejects(() => catalog.fleets.create({ name: "Acme" }), ConflictError);
    assert.deepEqual(await catalog.fleets.get(acme.id), acme);
    assert.equal(await catalog.fleets.get("flt_00000000000000000000"), undefined);
    assert.deepEqual((await catalog.fleets.list()).map((f) => f.name), ["Acme", "Zeta"]);
    await rejects(() => catalog.fleets.rename(zeta.id, "Acme"), ConflictError);
    assert.equal((await catalog.fleets.rename(zeta.id, "Beta"))?.name, "Beta");
    assert.equal(await catalog.fleets.rename("flt_00000000000000000000", "X"), undefined);
    const vehicle = await catalog.vehicles.create({ fleetId: acme.id, name: "truck-1" });
    await rejects(() => catalog.fleets.delete(acme.id), ConflictError);
    await catalog.vehicles.delete(acme.id, vehicle.id);
    assert.equal(await catalog.fleets.delete(acme.id), true);
    assert.equal(await catalog.fleets.delete(acme.id), false);
  },

  async "users are unique by email, listed per fleet, updated and counted"(catalog) {
    const fleet = await catalog.fleets.create({ name: "Acme" });
    const owner = await catalog.users.create({
      email: "owner@example.com",
      role: "owner",
      fleetId: null,
      passwordHash: "h0",
    });
    const admin = await catalog.users.create({
      email: "admin@example.com",
      role: "admin",
      fleetId: fleet.id,
      passwordHash: "h1",
    });
    await rejects(() =>
      catalog.users.create({
        email: "admin@example.com",
        role: "viewer",
        fleetId: fleet.id,
        passwordHash: "h2",
      }), ConflictError);
    assert.deepEqual(await catalog.users.get(owner.id), owner);
    assert.deepEqual(await catalog.users.getByEmail("admin@example.com"), admin);
    assert.deepEqual((await catalog.users.list(fleet.id)).map((u) => u.id), [admin.id]);
    assert.deepEqual((await catalog.users.list()).map((u) => u.id), [admin.id, owner.id]);
    const updated = await catalog.users.update(admin.id, { role: "viewer", disabled: true });
    assert.equal(updated?.role, "viewer");
    assert.equal(updated?.disabled, true);
    assert.equal(updated?.passwordHash, "h1");
    assert.equal(
      (await catalog.users.update(admin.id, { passwordHash: "h9" }))?.passwordHash,
      "h9",
    );
    assert.equal((await catalog.users.update(admin.id, { disabled: false }))?.disabled, false);
    assert.equal(await catalog.users.count(), 2);
    assert.equal(await catalog.users.delete(admin.id), true);
    assert.equal(await catalog.users.get(admin.id), undefined);
    assert.equal(await catalog.users.count(), 1);
  },

  async "vehicles and cameras are read only through their fleet, unique by name"(catalog) {
    const { fleet, vehicle, camera: front } = await camera(catalog);
    const other = await catalog.fleets.create({ name: "Other" });
    await rejects(
      () => catalog.vehicles.create({ fleetId: fleet.id, name: "truck-1" }),
      ConflictError,
    );
    assert.deepEqual(await catalog.vehicles.get(fleet.id, vehicle.id), vehicle);
    assert.equal(await catalog.vehicles.get(other.id, vehicle.id), undefined);
    const second = await catalog.vehicles.create({ fleetId: fleet.id, name: "bus-2" });
    assert.deepEqual((await catalog.vehicles.list(fleet.id)).map((v) => v.name), [
      "bus-2",
      "truck-1",
    ]);
    await rejects(() => catalog.vehicles.rename(fleet.id, second.id, "truck-1"), ConflictError);
    assert.equal((await catalog.vehicles.rename(fleet.id, second.id, "bus-3"))?.name, "bus-3");
    assert.equal(await catalog.vehicles.rename(other.id, second.id, "x"), undefined);

    await rejects(
      () => catalog.cameras.create({ fleetId: fleet.id, vehicleId: vehicle.id, name: "front" }),
      ConflictError,
    );
    const cabin = await catalog.cameras.create({
      fleetId: fleet.id,
      vehicleId: vehicle.id,
      name: "cabin",
    });
    assert.deepEqual(await catalog.cameras.get(fleet.id, front.id), front);
    assert.equal(await catalog.cameras.get(other.id, front.id), undefined);
    assert.deepEqual((await catalog.cameras.list(fleet.id, vehicle.id)).map((c) => c.name), [
      "cabin",
      "front",
    ]);
    assert.equal(await catalog.cameras.delete(other.id, cabin.id), false);
    assert.equal(await catalog.cameras.delete(fleet.id, cabin.id), true);

    // A vehicle goes with its cameras, credentials, status and recordings.
    await catalog.credentials.create({
      fleetId: fleet.id,
      vehicleId: vehicle.id,
      codeHash: "code",
      enrolmentExpiresAt: new Date(Date.now() + 60_000),
    });
    await catalog.vehicleStatus.report(vehicle.id, { ok: true }, new Date());
    await catalog.recordings.indexSegments([
      segment({ fleet, vehicle, camera: front }, "r1", 0),
    ]);
    assert.equal(await catalog.vehicles.delete(other.id, vehicle.id), false);
    assert.equal(await catalog.vehicles.delete(fleet.id, vehicle.id), true);
    assert.equal(await catalog.cameras.get(fleet.id, front.id), undefined);
    assert.deepEqual(await catalog.credentials.list(fleet.id, vehicle.id), []);
    assert.equal(await catalog.vehicleStatus.get(vehicle.id), undefined);
    assert.deepEqual(await catalog.recordings.segments(front.id, "r1"), []);
  },

  async "credentials enrol once, expire, revoke, and assertions are used once"(catalog) {
    const { fleet, vehicle } = await camera(catalog);
    const now = new Date();
    const credential = await catalog.credentials.create({
      fleetId: fleet.id,
      vehicleId: vehicle.id,
      codeHash: "code-1",
      enrolmentExpiresAt: new Date(now.getTime() + 60_000),
    });
    await rejects(() =>
      catalog.credentials.create({
        fleetId: fleet.id,
        vehicleId: vehicle.id,
        codeHash: "code-1",
        enrolmentExpiresAt: new Date(now.getTime() + 60_000),
      }), ConflictError);
    assert.deepEqual(await catalog.credentials.get(credential.id), credential);
    const jwk: JsonWebKey = { kty: "EC", crv: "P-256", x: "x", y: "y" };
    const enrolled = await catalog.credentials.enrol("code-1", jwk, now);
    assert.deepEqual(enrolled?.publicJwk, jwk);
    assert.equal(enrolled?.enrolledAt?.getTime(), now.getTime());
    assert.equal(await catalog.credentials.enrol("code-1", jwk, now), undefined, "used");
    const late = await catalog.credentials.create({
      fleetId: fleet.id,
      vehicleId: vehicle.id,
      codeHash: "code-2",
      enrolmentExpiresAt: new Date(now.getTime() - 1),
    });
    assert.equal(await catalog.credentials.enrol("code-2", jwk, now), undefined, "expired");
    const other = await catalog.fleets.create({ name: "Other" });
    assert.equal(await catalog.credentials.revoke(other.id, credential.id, now), undefined);
    const revoked = await catalog.credentials.revoke(fleet.id, credential.id, now);
    assert.equal(revoked?.revokedAt?.getTime(), now.getTime());
    const again = await catalog.credentials.revoke(fleet.id, credential.id, new Date());
    assert.equal(again?.revokedAt?.getTime(), now.getTime(), "the first revocation stays");
    assert.deepEqual(
      (await catalog.credentials.list(fleet.id, vehicle.id)).map((c) => c.id).sort(),
      [credential.id, late.id].sort(),
    );

    const expires = new Date(now.getTime() + 1000);
    assert.equal(await catalog.credentials.useAssertion("jti-1", expires, now), true);
    assert.equal(await catalog.credentials.useAssertion("jti-1", expires, now), false, "replay");
    const later = new Date(now.getTime() + 2000);
    assert.equal(await catalog.credentials.useAssertion("jti-1", expires, later), true, "pruned");
  },

  async "refresh tokens rotate once, families revoke and expire"(catalog) {
    const user = await catalog.users.create({
      email: "a@example.com",
      role: "owner",
      fleetId: null,
      passwordHash: "h",
    });
    const now = new Date();
    const family = await catalog.sessions.createFamily({
      userId: user.id,
      expiresAt: new Date(now.getTime() + 60_000),
    });
    assert.deepEqual(await catalog.sessions.getFamily(family.id), family);
    const first = {
      tokenHash: "t1",
      familyId: family.id,
      expiresAt: new Date(now.getTime() + 60_000),
      rotatedAt: null,
    };
    await catalog.sessions.addToken(first);
    assert.deepEqual(await catalog.sessions.getToken("t1"), first);
    const next = { ...first, tokenHash: "t2" };
    assert.equal(await catalog.sessions.rotate("t1", next, now), true);
    assert.equal((await catalog.sessions.getToken("t1"))?.rotatedAt?.getTime(), now.getTime());
    assert.equal(await catalog.sessions.rotate("t1", { ...first, tokenHash: "t3" }, now), false);
    assert.equal(await catalog.sessions.getToken("t3"), undefined, "a replay stores nothing");
    assert.ok(await catalog.sessions.getToken("t2"));

    await catalog.sessions.revokeFamily(family.id, "reuse", now);
    await catalog.sessions.revokeFamily(family.id, "later", new Date());
    const revoked = await catalog.sessions.getFamily(family.id);
    assert.equal(revoked?.revokedReason, "reuse");
    assert.equal(revoked?.revokedAt?.getTime(), now.getTime());
    const second = await catalog.sessions.createFamily({
      userId: user.id,
      expiresAt: new Date(now.getTime() - 1),
    });
    await catalog.sessions.revokeUser(user.id, "password changed", now);
    assert.equal((await catalog.sessions.getFamily(second.id))?.revokedReason, "password changed");
    assert.equal(await catalog.sessions.prune(now), 1);
    assert.equal(await catalog.sessions.getFamily(second.id), undefined);
    assert.ok(await catalog.sessions.getFamily(family.id));
  },

  async "signing keys: activating one retires the others"(catalog) {
    const key = (kid: string, at: number) => ({
      kid,
      privateJwk: { kty: "EC", d: kid },
      publicJwk: { kty: "EC", x: kid },
      createdAt: new Date(at),
      retiredAt: null,
    });
    await catalog.signingKeys.activate(key("k1", T0));
    await catalog.signingKeys.activate(key("k2", T0 + 1000));
    const keys = await catalog.signingKeys.list();
    assert.deepEqual(keys.map((k) => [k.kid, k.retiredAt?.getTime() ?? null]), [
      ["k1", T0 + 1000],
      ["k2", null],
    ]);
    assert.deepEqual(keys[1].privateJwk, { kty: "EC", d: "k2" });
    await catalog.signingKeys.delete("k1");
    assert.deepEqual((await catalog.signingKeys.list()).map((k) => k.kid), ["k2"]);
  },

  async "segments index once, widen their recording, and list by time for playlists"(catalog) {
    const at = await camera(catalog);
    const cameraId = at.camera.id;
    await catalog.recordings.setInit(
      { fleetId: at.fleet.id, vehicleId: at.vehicle.id, cameraId, recordingId: "r1" },
      "r1/init.mp4",
    );
    assert.deepEqual(await catalog.recordings.list(at.fleet.id, cameraId), [], "no segment yet");
    const batch = [2, 0, 1].map((i) => segment(at, "r1", i));
    assert.equal(await catalog.recordings.indexSegments([...batch, batch[0]]), 3);
    assert.equal(await catalog.recordings.indexSegments(batch), 0, "indexed already");
    assert.equal(await catalog.recordings.indexSegments([]), 0);
    // A second recording, later, in another batch with a segment of the first.
    assert.equal(
      await catalog.recordings.indexSegments([
        segment(at, "r1", 3),
        segment(at, "r2", 0, T0 + 10_000),
        segment(at, "r2", 1, T0 + 12_000),
      ]),
      3,
    );
    const r1 = await catalog.recordings.get(at.fleet.id, cameraId, "r1");
    assert.deepEqual(r1 && { ...r1 }, {
      id: "r1",
      fleetId: at.fleet.id,
      vehicleId: at.vehicle.id,
      cameraId,
      startedAt: new Date(T0),
      endedAt: new Date(T0 + 8000),
      segmentCount: 4,
      rendition: "full",
      initKey: "r1/init.mp4",
      closedAt: null,
    });
    const other = await catalog.fleets.create({ name: "Other" });
    assert.equal(await catalog.recordings.get(other.id, cameraId, "r1"), undefined);
    await catalog.recordings.close(cameraId, "r1", new Date(T0 + 9000));
    await catalog.recordings.close(cameraId, "r1", new Date(T0 + 99_000));
    assert.equal(
      (await catalog.recordings.get(at.fleet.id, cameraId, "r1"))?.closedAt?.getTime(),
      T0 + 9000,
    );
    assert.deepEqual(
      (await catalog.recordings.list(at.fleet.id, cameraId)).map((r) => r.id),
      ["r1", "r2"],
    );
    assert.deepEqual(
      (await catalog.recordings.list(at.fleet.id, cameraId, T0 + 9000, T0 + 20_000)).map((r) =>
        r.id
      ),
      ["r2"],
    );
    assert.deepEqual(await catalog.recordings.list(other.id, cameraId), []);

    const all = await catalog.recordings.segments(cameraId, "r1");
    assert.deepEqual(all.map((s) => s.sequence), [0, 1, 2, 3]);
    const { fleetId: _f, vehicleId: _v, cameraId: _c, ...first } = segment(at, "r1", 0);
    assert.deepEqual(all[0], first);
    assert.deepEqual(
      await catalog.recordings.playlistSegments(cameraId, "r2"),
      [0, 1].map((sequence) => ({
        recordingId: "r2",
        sequence,
        startMs: T0 + 10_000 + sequence * 2000,
        durationMs: 2000,
        size: 1000 + sequence,
      })),
    );
    // [T0 + 3 s, T0 + 11 s): r1's segments 1 (which started before and overlaps), 2, 3; r2's 0.
    const between = await catalog.recordings.segmentsBetween(cameraId, T0 + 3000, T0 + 11_000);
    assert.deepEqual(between.map((s) => `${s.recordingId}/${s.sequence}`), [
      "r1/1",
      "r1/2",
      "r1/3",
      "r2/0",
    ]);
    const listed = await catalog.recordings.playlistSegmentsBetween(
      cameraId,
      T0 + 3000,
      T0 + 11_000,
    );
    assert.deepEqual(
      listed,
      between.map(({ recordingId, sequence, startMs, durationMs, size }) => ({
        recordingId,
        sequence,
        startMs,
        durationMs,
        size,
      })),
    );
    assert.deepEqual(
      await catalog.recordings.playlistSegmentsBetween(cameraId, T0 + 100_000, T0 + 200_000),
      [],
    );
  },

  async "vehicle status keeps the latest report; secrets are made once"(catalog) {
    const { vehicle } = await camera(catalog);
    await catalog.vehicleStatus.report(vehicle.id, { battery: 80 }, new Date(T0));
    await catalog.vehicleStatus.report(vehicle.id, { battery: 70 }, new Date(T0 + 1000));
    assert.deepEqual(await catalog.vehicleStatus.get(vehicle.id), {
      vehicleId: vehicle.id,
      reportedAt: new Date(T0 + 1000),
      status: { battery: 70 },
    });
    assert.equal(await catalog.vehicleStatus.get("veh_00000000000000000000"), undefined);
    const made = await Promise.all(
      ["a", "b", "c"].map((v) => catalog.secrets.getOrCreate("media", () => v)),
    );
    assert.equal(new Set(made).size, 1);
    assert.equal(await catalog.secrets.getOrCreate("media", () => "z"), made[0]);
  },

  async "links list and revoke by filter, and say which no longer hold"(catalog) {
    const at = await camera(catalog);
    const other = await catalog.fleets.create({ name: "Other" });
    const person = (email: string, role: "admin" | "viewer", fleetId = at.fleet.id) =>
      catalog.users.create({ email, role, fleetId, passwordHash: "h" });
    const admin = await person("admin@example.com", "admin");
    const viewer = await person("viewer@example.com", "viewer");
    const leaver = await person("leaver@example.com", "admin");
    const now = new Date();
    const link = async (kind: "playback" | "live", by: string, expiresIn = 60_000) => {
      const made = await catalog.links.create({
        kind,
        fleetId: at.fleet.id,
        vehicleId: at.vehicle.id,
        cameraId: at.camera.id,
        createdBy: by,
        expiresAt: new Date(now.getTime() + expiresIn),
        fromMs: kind === "playback" ? T0 : null,
        toMs: kind === "playback" ? T0 + 1000 : null,
      });
      await new Promise((resolve) => setTimeout(resolve, 2)); // distinct creation times
      return made;
    };
    const playback = await link("playback", admin.id);
    const live = await link("live", admin.id);
    const viewersLive = await link("live", viewer.id);
    const leaversLink = await link("playback", leaver.id);
    const expired = await link("playback", admin.id, -1000);
    assert.deepEqual(await catalog.links.get(at.fleet.id, playback.id), playback);
    assert.equal(await catalog.links.get(other.id, playback.id), undefined);
    assert.deepEqual(
      (await catalog.links.list(at.fleet.id, {}, now)).map((l) => l.id),
      [leaversLink.id, viewersLive.id, live.id, playback.id],
    );
    assert.deepEqual(
      (await catalog.links.list(at.fleet.id, { kind: "live", createdBy: admin.id }, now)).map((l) =>
        l.id
      ),
      [live.id],
    );
    assert.deepEqual(await catalog.links.unusable(now), [viewersLive.id]);

    await catalog.users.delete(leaver.id);
    assert.deepEqual(await catalog.links.revoke(at.fleet.id, { id: playback.id }, now), [
      playback.id,
    ]);
    assert.deepEqual(await catalog.links.revoke(at.fleet.id, { id: playback.id }, now), []);
    assert.deepEqual(await catalog.links.revoke(other.id, { kind: "live" }, now), []);
    assert.equal(
      (await catalog.links.get(at.fleet.id, playback.id))?.revokedAt?.getTime(),
      now.getTime(),
    );
    assert.deepEqual(
      (await catalog.links.unusable(now)).sort(),
      [playback.id, viewersLive.id, leaversLink.id].sort(),
    );
    await catalog.users.update(admin.id, { disabled: true });
    assert.ok((await catalog.links.unusable(now)).includes(live.id));
    assert.deepEqual(
      (await catalog.links.revoke(at.fleet.id, { cameraId: at.camera.id }, now)).sort(),
      [live.id, viewersLive.id, leaversLink.id].sort(),
    );
    assert.equal(await catalog.links.prune(now), 1);
    assert.equal(await catalog.links.get(at.fleet.id, expired.id), undefined);
  },

  async "password reset codes work once, until they expire or another is issued"(catalog) {
    const fleet = await catalog.fleets.create({ name: "Acme" });
    const user = await catalog.users.create({
      email: "someone@example.com",
      role: "viewer",
      fleetId: fleet.id,
      passwordHash: "h",
    });
    const now = new Date(T0);
    const later = new Date(T0 + 60_000);
    const issue = (codeHash: string) =>
      catalog.passwordResets.issue({ userId: user.id, codeHash, expiresAt: later }, now);
    await issue("a");
    await issue("b");
    assert.equal(await catalog.passwordResets.redeem("a", now), undefined, "replaced by b");
    const twice = await Promise.all([
      catalog.passwordResets.redeem("b", now),
      catalog.passwordResets.redeem("b", now),
    ]);
    assert.deepEqual(twice.sort(), [undefined, user.id].sort(), "used once");
    await issue("c");
    assert.equal(await catalog.passwordResets.redeem("c", later), undefined, "expired");
    await issue("d");
    await catalog.passwordResets.revokeUser(user.id, now);
    assert.equal(await catalog.passwordResets.redeem("d", now), undefined, "revoked");
    await issue("e");
    await catalog.users.delete(user.id);
    assert.equal(await catalog.passwordResets.redeem("e", now), undefined, "gone with the user");
  },

  async "URL signing keys: the first is added once, rotation retires, prune ends overlaps"(
    catalog,
  ) {
    const key = (kid: string, at: number): UrlSigningKey => ({
      kid,
      secret: btoa(kid),
      createdAt: new Date(at),
      retiredAt: null,
      verifyUntil: null,
    });
    const firsts = await Promise.all(
      ["a", "b", "c"].map((kid) => catalog.urlSigningKeys.addFirst(key(kid, T0))),
    );
    assert.deepEqual(firsts.filter(Boolean), [true]);
    const [first] = await catalog.urlSigningKeys.list();
    await catalog.urlSigningKeys.activate(key("z", T0 + 1000), new Date(T0 + 5000));
    assert.deepEqual(await catalog.urlSigningKeys.list(), [
      { ...first, retiredAt: new Date(T0 + 1000), verifyUntil: new Date(T0 + 5000) },
      key("z", T0 + 1000),
    ]);
    assert.equal(await catalog.urlSigningKeys.prune(new Date(T0 + 4999)), 0);
    assert.equal(await catalog.urlSigningKeys.prune(new Date(T0 + 5000)), 1);
    assert.deepEqual((await catalog.urlSigningKeys.list()).map((k) => k.kid), ["z"]);
    await catalog.ping();
  },
};

/** Runs every case of the contract on `engine`, then two catalogs on one database at once. */
async function contract(
  t: Deno.TestContext,
  engine: Engine,
  open: (url: string) => Promise<Catalog>,
) {
  for (const [name, body] of Object.entries(CASES)) {
    await t.step(name, async () => {
      const { catalog } = await engine.fresh();
      try {
        await body(catalog);
      } finally {
        await catalog.close();
      }
    });
  }
  await t.step("two catalogs indexing the same segments at once keep one row of each", async () => {
    const { url, catalog: one } = await engine.fresh();
    const two = await open(url);
    try {
      const at = await camera(one);
      const segments = Array.from({ length: 40 }, (_, i) => segment(at, `r${i % 2}`, i));
      // Overlapping batches, in both orders, from both catalogs, all at once.
      const batches = [
        [one, segments.slice(0, 30)],
        [two, segments.slice(10, 40).reverse()],
        [one, segments.slice(5, 35)],
        [two, segments],
      ] as const;
      const added = await Promise.all(
        batches.flatMap(([catalog, batch]) =>
          Array.from({ length: 3 }, () => catalog.recordings.indexSegments([...batch]))
        ),
      );
      assert.equal(added.reduce((sum, n) => sum + n, 0), 40, `added per batch: ${added}`);
      for (const recordingId of ["r0", "r1"]) {
        const rows = await two.recordings.segments(at.camera.id, recordingId);
        assert.equal(rows.length, 20);
        const recording = await one.recordings.get(at.fleet.id, at.camera.id, recordingId);
        assert.equal(recording?.segmentCount, 20);
      }
    } finally {
      await one.close();
      await two.close();
    }
  });
}

Deno.test("the SQLite catalog keeps the repository contract", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "motorcade-catalog-" });
  let files = 0;
  const open = (url: string) => openCatalog(url);
  try {
    await contract(t, {
      name: "sqlite",
      async fresh() {
        const url = `sqlite:${join(dir, `catalog-${++files}.db`)}`;
        return { url, catalog: await open(url) };
      },
    }, open);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the PostgreSQL catalog keeps the repository contract", async (t) => {
  await using pg = await startPostgres();
  const open = (url: string) => openCatalog(url);
  await contract(t, {
    name: "postgres",
    async fresh() {
      const url = await pg.createDatabase();
      return { url, catalog: await open(url) };
    },
  }, open);

  await t.step("four catalogs opening an empty database at once migrate it once", async () => {
    const url = await pg.createDatabase();
    const catalogs = await Promise.all(Array.from({ length: 4 }, () => openCatalog(url)));
    await Promise.all(catalogs.map((catalog) => catalog.close()));
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      const rows = await sql`SELECT version FROM schema_migrations ORDER BY version`;
      assert.deepEqual(rows.map((row) => row.version), POSTGRES_MIGRATIONS.map((m) => m.version));
    } finally {
      await sql.end();
    }
  });

  await t.step("PostgreSQL down is 503 with Retry-After, and back is back", async () => {
    await downAndBack(pg);
  });
});

/** Stops the cluster under an open catalog: its calls fail as UnavailableError, then recover. */
async function downAndBack(pg: PostgresCluster) {
  const url = await pg.createDatabase();
  const catalog = await openCatalog(url);
  try {
    const at = await camera(catalog);
    assert.equal(await catalog.recordings.indexSegments([segment(at, "r1", 0)]), 1);
    await pg.stop();
    for (
      const call of [
        () => catalog.ping(),
        () => catalog.recordings.indexSegments([segment(at, "r1", 1)]),
        () => catalog.fleets.list(),
      ]
    ) {
      const error = await call().then(() => undefined, (e) => e);
      assert.ok(error instanceof UnavailableError, `not a 503: ${error?.stack ?? error}`);
      assert.equal(error.status, 503);
      assert.ok((error.retryAfterSeconds ?? 0) > 0);
      assert.match(error.message, /^Cannot use the catalog now: .*; retry later$/);
    }
    await pg.start();
    let back = false;
    for (let attempt = 0; attempt < 50 && !back; attempt++) { // reconnects on the next call
      back = await catalog.ping().then(() => true, () => false);
      if (!back) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(back, "the catalog did not come back");
    assert.equal(await catalog.recordings.indexSegments([segment(at, "r1", 1)]), 1);
  } finally {
    await catalog.close();
  }
}

Deno.test("a PostgreSQL catalog that cannot be reached fails to open naming it, not its password", async () => {
  const port = (() => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const { port } = listener.addr as Deno.NetAddr;
    listener.close();
    return port;
  })();
  const error = await openCatalog(`postgres://someone:s3cret@127.0.0.1:${port}/db`).then(
    () => undefined,
    (e) => e,
  );
  assert.ok(error instanceof Error);
  assert.match(
    error.message,
    new RegExp(`^Cannot open the catalog "postgres://someone:\\*{8}@127\\.0\\.0\\.1:${port}/db": `),
  );
  assert.doesNotMatch(error.message, /s3cret/);
  assert.ok(error.cause instanceof UnavailableError, String(error.cause));
});
