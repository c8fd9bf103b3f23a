/**
 * Processes split by ROLES share one PostgreSQL catalog and hear each other's news over
 * LISTEN/NOTIFY: a revocation in one ends what another holds open, and segments indexed by one
 * make another's cached playlists stale. Each platform here has its own connections, as separate
 * processes would.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import type { AccessChange } from "../../lib/auth/mod.ts";
import { PostgresBroadcast } from "../../lib/broadcast/mod.ts";
import { LiveAccess } from "../../lib/live/live_access.ts";
import { silentLogger } from "../../lib/log/mod.ts";
import { OWNER, startTestPlatform } from "../support/platform.ts";
import { startPostgres } from "../support/postgres.ts";

async function waitFor<T>(what: string, probe: () => T | undefined, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test({
  name: "a revocation in one process ends a socket and refuses a cached token in another",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using pg = await startPostgres();
    const catalogUrl = await pg.createDatabase();
    await using a = await startTestPlatform({ CATALOG_URL: catalogUrl, ROLES: "api" });
    await using b = await startTestPlatform({ CATALOG_URL: catalogUrl, ROLES: "api,live" });
    assert.equal(a.broadcast.kind, "postgres");

    const heard: AccessChange[] = [];
    b.identity.changes.subscribe((change) => heard.push(change));
    const { accessToken } = await a.login(OWNER.email, OWNER.password);
    // B verifies (and caches) the token, and holds a socket open on it.
    assert.equal((await b.call("GET", "/api/v1/me", { token: accessToken })).status, 200);
    const principal = await b.identity.authenticate(accessToken);
    const access = new LiveAccess(b.identity, {
      maxSocketsPerUser: 8,
      maxSocketsPerVehicle: 2,
      maxWhepPerUser: 8,
      recheckMs: 600_000, // the timer cannot be what ends it
    }, silentLogger);
    const ended: string[] = [];
    access.admit({ kind: "socket", principal: () => principal, end: (why) => ended.push(why) });

    assert.equal((await a.call("POST", "/api/v1/auth/logout", { token: accessToken })).status, 204);
    await waitFor("B to end the socket", () => ended.length > 0);
    assert.deepEqual(ended, ["revoked"]);
    assert.deepEqual(heard, [{
      subject: "session",
      id: principal.kind === "user" ? principal.sessionId : "",
    }]);
    assert.equal((await b.call("GET", "/api/v1/me", { token: accessToken })).status, 401);
    access.close();
  },
});

Deno.test({
  name: "segments indexed in one process make another's playlists stale, and a lost connection all",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using pg = await startPostgres();
    const catalogUrl = await pg.createDatabase();
    await using indexer = await startTestPlatform({ CATALOG_URL: catalogUrl, ROLES: "indexer" });
    await using api = await startTestPlatform({ CATALOG_URL: catalogUrl, ROLES: "api" });
    const cache = api.playback.cache;
    assert.equal(cache.version("cam_1"), 0);

    indexer.indexer.onIndexed?.([{ cameraId: "cam_1" }, { cameraId: "cam_2" }] as never);
    await waitFor("the api's cache to hear of cam_1", () => cache.version("cam_1") === 1);
    assert.equal(cache.version("cam_2"), 1);
    assert.equal(cache.version("cam_3"), 0);

    // Notifications sent while the api's listening connection is down are lost: when it is back,
    // every cached playlist is stale.
    const admin = postgres(catalogUrl, { max: 1, onnotice: () => {} });
    try {
      const killed = await admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = current_database() AND query ILIKE 'listen%' AND pid <> pg_backend_pid()`;
      assert.ok(killed.length >= 1, "the listening connections");
    } finally {
      await admin.end({ timeout: 5 });
    }
    await waitFor("the api's cache to resync", () => cache.version("cam_3") >= 1, 20_000);
  },
});

Deno.test({
  name: "a broadcast listener waits out PostgreSQL down at start, then hears and resyncs",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using pg = await startPostgres();
    const url = await pg.createDatabase();
    await pg.stop();
    const listener = new PostgresBroadcast(url, silentLogger);
    const sender = new PostgresBroadcast(url, silentLogger);
    try {
      const heard: string[] = [];
      let resyncs = 0;
      listener.subscribe("indexed", (message) => heard.push(message), () => resyncs++);
      const started = Date.now();
      await listener.ready(500);
      assert.ok(Date.now() - started < 5_000, "ready gives up waiting, the server starts");
      await pg.start();
      await waitFor("the listener to listen and resync", () => resyncs >= 1, 20_000);
      sender.publish("indexed", "cam_9");
      await waitFor("the message", () => heard.includes("cam_9"));
    } finally {
      await listener.close();
      await sender.close();
    }
  },
});
