/**
 * Playback and live links: what their URLs reach (only the recordings the link's range touches,
 * no longer than the link lives), revocation by id, camera and maker reaching URLs already handed
 * out, links ending with their maker, URL signing keys rotating with overlap, and live links
 * needing a stated lifetime.
 */
import assert from "node:assert/strict";
import { runCtl } from "../../lib/ctl/mod.ts";
import { recordingPrefix } from "../../lib/ingest/mod.ts";
import { playbackFixture, T0 } from "./fixture.ts";
import type { TestPlatform } from "../support/platform.ts";

const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** A camera with recording `a` (10 s at T0) and recording `b` (10 s, 5 hours later), stored. */
async function twoRecordings() {
  const f = await playbackFixture();
  const { fleetId, vehicleId, cameraId } = f.camera;
  for (const [id, startMs] of [["a", T0], ["b", T0 + 5 * HOUR]] as const) {
    await f.init(id);
    await f.index(id, { count: 5, startMs });
    const prefix = recordingPrefix(fleetId, vehicleId, cameraId, id);
    await store(f.platform, `${prefix}init.mp4`, new Uint8Array(64));
    for (let n = 0; n < 5; n++) {
      await store(f.platform, f.key(id, n), new Uint8Array(100 + n));
    }
  }
  const camera = `/api/v1/fleets/${fleetId}/vehicles/${vehicleId}/cameras/${cameraId}`;
  return { f, camera };
}

async function store(platform: TestPlatform, key: string, bytes: Uint8Array) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  const sha256 = btoa(String.fromCharCode(...digest));
  await platform.store.putIfAbsent(key, new Blob([bytes as BlobPart]).stream(), {
    contentType: "application/octet-stream",
    sha256,
    maxBytes: 1 << 20,
  });
}

/** GET through the app; the status and the body (read to the end). */
async function get(platform: TestPlatform, url: string, token?: string) {
  const u = new URL(url);
  const response = await platform.call("GET", u.pathname + u.search, { token });
  return { status: response.status, text: await response.text() };
}

/** Makes a playback link as `token`'s user; returns its id, HLS URL and expiry. */
async function makeLink(
  platform: TestPlatform,
  camera: string,
  token: string,
  body: Record<string, string | number>,
): Promise<{ id: string; hls: string; expiresAt: string }> {
  const response = await platform.call("POST", `${camera}/links`, { token, json: body });
  assert.equal(response.status, 201, await response.clone().text());
  return await response.json();
}

/** The media URLs of a link's HLS playlist (segment and init). */
async function mediaUrls(platform: TestPlatform, hls: string): Promise<string[]> {
  const playlist = await get(platform, hls);
  assert.equal(playlist.status, 200, playlist.text);
  const uris = [
    ...playlist.text.matchAll(/^(http\S+)$/gm),
    ...playlist.text.matchAll(/URI="([^"]+)"/g),
  ].map((m) => m[1]);
  assert.ok(uris.length > 0, playlist.text);
  return uris;
}

/** Waits (at most `ms`) until `url` answers `status`; returns the last status seen. */
async function statusWithin(platform: TestPlatform, url: string, status: number, ms = 6000) {
  const end = Date.now() + ms;
  let seen = 0;
  while (Date.now() < end) {
    seen = (await get(platform, url)).status;
    if (seen === status) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return seen;
}

Deno.test("a link for a 6-second range cannot fetch a recording hours away", async () => {
  const { f, camera } = await twoRecordings();
  await using _ = f;
  const link = await makeLink(f.platform, camera, f.ownerToken, {
    from: iso(T0 + 2000),
    to: iso(T0 + 8000),
    ttlSeconds: 60,
  });
  const urls = await mediaUrls(f.platform, link.hls);
  const segment = urls.find((u) => /\/a\/\d+\.m4s/.test(u))!;
  assert.equal((await get(f.platform, segment)).status, 200);
  assert.ok(urls.every((u) => !u.includes("/b/")), "the playlist lists only recording a");

  const other = segment.replace("/a/", "/b/");
  const refused = await get(f.platform, other);
  assert.equal(refused.status, 401, refused.text);
  assert.match(refused.text, /signature is not valid/);
  const withoutLink = new URL(segment);
  withoutLink.searchParams.delete("link");
  assert.equal((await get(f.platform, withoutLink.href.replace("/a/", "/b/"))).status, 401);

  const exp = Number(new URL(segment).searchParams.get("exp")) * 1000;
  assert.ok(exp <= Date.parse(link.expiresAt), "media URLs expire no later than the link");
});

Deno.test("a link for a few seconds of a long recording reaches only the segments it lists", async () => {
  const { f, camera } = await twoRecordings();
  await using _ = f;
  const link = await makeLink(f.platform, camera, f.ownerToken, {
    from: iso(T0 + 2000),
    to: iso(T0 + 6000),
    ttlSeconds: 60,
  });
  const urls = await mediaUrls(f.platform, link.hls);
  const listed = urls.map((u) => /\/a\/(\w+)\.m(p4|4s)/.exec(u)?.[1]);
  assert.deepEqual(listed.filter((n) => n !== "init").map(Number).sort(), [1, 2]);
  for (const url of urls) assert.equal((await get(f.platform, url)).status, 200, url);
  const segment = urls.find((u) => /\/a\/0*2\.m4s/.test(u))!;
  for (const outside of ["0", "3", "4"]) {
    const refused = await get(f.platform, segment.replace(/\/a\/0*2\.m4s/, `/a/${outside}.m4s`));
    assert.equal(refused.status, 403, refused.text);
    assert.match(refused.text, new RegExp(`does not cover segment ${outside} of recording`));
  }
  const widened = new URL(segment);
  widened.searchParams.set("seq", "0-4");
  assert.equal((await get(f.platform, widened.href)).status, 401, "seq is signed");
  widened.searchParams.delete("seq");
  assert.equal((await get(f.platform, widened.href)).status, 401, "seq cannot be dropped");
});

Deno.test("a link's playlist and segment URLs stop working when it expires", async () => {
  const { f, camera } = await twoRecordings();
  await using _ = f;
  const link = await makeLink(f.platform, camera, f.ownerToken, {
    from: iso(T0),
    to: iso(T0 + 10_000),
    ttlSeconds: 2,
  });
  const [segment] = await mediaUrls(f.platform, link.hls);
  assert.equal((await get(f.platform, segment)).status, 200);
  assert.equal(await statusWithin(f.platform, segment, 401), 401);
  assert.equal((await get(f.platform, link.hls)).status, 401);
});

Deno.test("revoking a link by id, by camera or by maker ends its issued URLs", async () => {
  const { f, camera } = await twoRecordings();
  await using _ = f;
  const p = f.platform;
  const { fleetId } = f.camera;
  await p.registry.createUser({
    fleetId,
    email: "op@acme.test",
    role: "operator",
    password: "password-operator",
  });
  const operator = (await p.login("op@acme.test", "password-operator")).accessToken;
  const range = { from: iso(T0), to: iso(T0 + 10_000), ttlSeconds: 3600 };
  const byId = await makeLink(p, camera, operator, range);
  const byCamera = await makeLink(p, camera, operator, range);
  const byMaker = await makeLink(p, camera, operator, range);
  const kept = await makeLink(p, camera, f.ownerToken, range);
  const urls = new Map<string, string[]>();
  for (const link of [byId, byCamera, byMaker, kept]) {
    urls.set(link.id, [link.hls, ...await mediaUrls(p, link.hls)]);
  }
  const works = async (id: string) => {
    for (const url of urls.get(id)!) assert.equal((await get(p, url)).status, 200, url);
  };
  const ended = async (id: string) => {
    for (const url of urls.get(id)!) assert.equal(await statusWithin(p, url, 401), 401, url);
  };

  const listed = await p.call("GET", `/api/v1/fleets/${fleetId}/links`, { token: operator });
  assert.equal(listed.status, 200);
  assert.deepEqual(
    new Set((await listed.json()).links.map((l: { id: string }) => l.id)),
    new Set([byId.id, byCamera.id, byMaker.id]),
    "an operator sees the links it made",
  );

  const deleted = await p.call("DELETE", `/api/v1/fleets/${fleetId}/links/${byId.id}`, {
    token: operator,
  });
  assert.equal(deleted.status, 200);
  assert.ok((await deleted.json()).revokedAt);
  await ended(byId.id);
  await works(byCamera.id);

  const missing = await p.call("DELETE", `/api/v1/fleets/${fleetId}/links/${kept.id}`, {
    token: operator,
  });
  assert.equal(missing.status, 404, "an operator cannot revoke the owner's link");
  await missing.body?.cancel();

  const none = await p.call("DELETE", `/api/v1/fleets/${fleetId}/links`, {
    token: f.ownerToken,
  });
  assert.equal(none.status, 400);
  assert.match((await none.json()).detail, /cameraId, createdBy or both/);

  const operatorId = (await p.catalog.users.getByEmail("op@acme.test"))!.id;
  const byCam = await p.call(
    "DELETE",
    `/api/v1/fleets/${fleetId}/links?cameraId=${f.camera.cameraId}`,
    {
      token: operator,
    },
  );
  assert.equal(byCam.status, 200);
  assert.deepEqual(
    new Set((await byCam.json()).revoked),
    new Set([byCamera.id, byMaker.id]),
    "an operator's bulk revocation reaches only its own links",
  );
  await ended(byCamera.id);
  await works(kept.id);

  const another = await makeLink(p, camera, operator, range);
  urls.set(another.id, [another.hls, ...await mediaUrls(p, another.hls)]);
  const byUser = await p.call("DELETE", `/api/v1/fleets/${fleetId}/links?createdBy=${operatorId}`, {
    token: f.ownerToken,
  });
  assert.deepEqual((await byUser.json()).revoked, [another.id]);
  await ended(another.id);
  await works(kept.id);
});

Deno.test("a link ends when its maker is disabled or deleted", async () => {
  const { f, camera } = await twoRecordings();
  await using _ = f;
  const p = f.platform;
  const { fleetId } = f.camera;
  const range = { from: iso(T0), to: iso(T0 + 10_000), ttlSeconds: 3600 };
  const viewer = await p.registry.createUser({
    fleetId,
    email: "v@acme.test",
    role: "viewer",
    password: "password-viewer",
  });
  const link = await makeLink(
    p,
    camera,
    (await p.login(viewer.email, "password-viewer")).accessToken,
    range,
  );
  const [segment] = await mediaUrls(p, link.hls);
  await p.registry.updateUser(fleetId, viewer.id, { disabled: true });
  assert.equal(await statusWithin(p, segment, 401), 401);
  assert.equal((await get(p, link.hls)).status, 401);
});

Deno.test("an operator's live link stops working once the operator is deleted", async () => {
  const { f } = await twoRecordings();
  await using _ = f;
  const p = f.platform;
  const { fleetId, vehicleId } = f.camera;
  const operator = await p.registry.createUser({
    fleetId,
    email: "op@acme.test",
    role: "operator",
    password: "password-operator",
  });
  const token = (await p.login(operator.email, "password-operator")).accessToken;
  const camera = `/api/v1/fleets/${fleetId}/vehicles/${vehicleId}/cameras/${f.camera.cameraId}`;
  const made = await p.call("POST", `${camera}/live-links`, { token, json: { ttlSeconds: 3600 } });
  assert.equal(made.status, 201);
  const link = await made.json();
  const whep = () =>
    p.call("POST", `${camera}/whep`, {
      token: link.token,
      body: "v=0\r\n",
      headers: { "content-type": "application/sdp" },
    });
  // Live is off in this platform: 503 says the token was accepted, 401 that it was not.
  const before = await whep();
  assert.equal(before.status, 503, await before.text());
  await p.registry.deleteUser(fleetId, operator.id);
  const end = Date.now() + 6000;
  let after = await whep();
  while (after.status !== 401 && Date.now() < end) {
    await after.body?.cancel();
    await new Promise((resolve) => setTimeout(resolve, 100));
    after = await whep();
  }
  assert.equal(after.status, 401);
  assert.match((await after.json()).detail, /revoked/);
});

Deno.test("a live link asked for without a body is refused, naming ttlSeconds", async () => {
  const { f } = await twoRecordings();
  await using _ = f;
  const { fleetId, vehicleId } = f.camera;
  const camera = `/api/v1/fleets/${fleetId}/vehicles/${vehicleId}/cameras/${f.camera.cameraId}`;
  for (const options of [{}, { json: {} }]) {
    const response = await f.platform.call("POST", `${camera}/live-links`, {
      token: f.ownerToken,
      ...options,
    });
    const text = await response.text();
    assert.equal(response.status, 400, text);
    assert.match(JSON.parse(text).detail, /ttlSeconds: required: how long the link lasts/);
  }
});

Deno.test("a link's lifetime is ttlSeconds for playback and live; the older ttl string still works, marked deprecated", async () => {
  const { f, camera } = await twoRecordings();
  await using _ = f;
  const { fleetId, vehicleId } = f.camera;
  const live =
    `/api/v1/fleets/${fleetId}/vehicles/${vehicleId}/cameras/${f.camera.cameraId}/live-links`;
  const ask = async (path: string, json: Record<string, unknown>) => {
    const before = Date.now();
    const response = await f.platform.call("POST", path, { token: f.ownerToken, json });
    const body = await response.json();
    const lifetime = response.status === 201 ? Date.parse(body.expiresAt) - before : NaN;
    return { response, body, lifetime };
  };
  for (const path of [`${camera}/links`, live]) {
    // A live link has no range: its body is only the lifetime.
    const from = path === live ? undefined : iso(T0);
    const canonical = await ask(path, { from, ttlSeconds: 7200 });
    assert.equal(canonical.response.status, 201, JSON.stringify(canonical.body));
    assert.equal(canonical.response.headers.get("deprecation"), null, path);
    assert.ok(Math.abs(canonical.lifetime - 7_200_000) < 5_000, `${path}: ${canonical.lifetime}`);

    const old = await ask(path, { from, ttl: "2h" });
    assert.equal(old.response.status, 201, JSON.stringify(old.body));
    assert.equal(old.response.headers.get("deprecation"), "true", path);
    assert.ok(Math.abs(old.lifetime - 7_200_000) < 5_000, `${path}: ${old.lifetime}`);

    const both = await ask(path, { from, ttlSeconds: 60, ttl: "1m" });
    assert.equal(both.response.status, 400, path);
    assert.match(both.body.detail, /give ttlSeconds or ttl, not both/);
    for (
      const [json, field] of [[{ ttlSeconds: 31 * 86_400 }, "ttlSeconds"], [
        { ttl: "31d" },
        "ttl",
      ]] as const
    ) {
      const long = await ask(path, { from, ...json });
      assert.equal(long.response.status, 400, `${path} ${field}`);
      assert.equal(long.body.issues[0].path, `json.${field}`);
    }
  }
  // Live links must say how long they last; playback links default to MEDIA_URL_TTL (6 h).
  const fallback = await ask(`${camera}/links`, { from: iso(T0) });
  assert.equal(fallback.response.status, 201);
  assert.ok(Math.abs(fallback.lifetime - 6 * HOUR) < 5_000, String(fallback.lifetime));
  const short = await ask(live, { ttlSeconds: 59 });
  assert.equal(short.response.status, 400);
  assert.equal(short.body.issues[0].path, "json.ttlSeconds");
});

Deno.test("URL key rotation: old URLs verify during the overlap, new ones use the new key", async () => {
  const { f, camera } = await twoRecordings();
  await using _ = f;
  const p = f.platform;
  const range = { from: iso(T0), to: iso(T0 + 10_000), ttlSeconds: 3600 };
  const link = await makeLink(p, camera, f.ownerToken, range);
  const [first] = await mediaUrls(p, link.hls);
  const firstKid = new URL(first).searchParams.get("kid");

  const out: string[] = [];
  const io = {
    stdout: { write: (text: string) => Promise.resolve(void out.push(text)) },
    stderr: { write: (text: string) => Promise.resolve(void out.push(text)) },
    env: { DATA_DIR: p.dataDir },
  };
  assert.equal(
    await runCtl(["url-keys", "rotate", "--overlap", "1h"], io as never),
    0,
    out.join(""),
  );
  await p.identity.urls.keyring.reload(); // a running server re-reads its keys within a minute
  const [second] = await mediaUrls(p, link.hls);
  const secondKid = new URL(second).searchParams.get("kid");
  assert.notEqual(secondKid, firstKid, "new URLs are signed with the new key");
  assert.equal((await get(p, first)).status, 200, "the old key verifies during the overlap");
  assert.equal((await get(p, second)).status, 200);
  assert.equal((await get(p, link.hls)).status, 200, "the link itself, signed by the old key");

  await p.identity.urls.keyring.rotate(0); // a leaked key: its URLs end at once
  const [third] = await mediaUrls(p, link.hls);
  assert.equal((await get(p, second)).status, 401);
  assert.equal((await get(p, first)).status, 200, "the first key's overlap still runs");
  assert.equal((await get(p, third)).status, 200);
});

Deno.test("what a live link holds open ends within seconds of its revocation", async () => {
  const { f } = await twoRecordings();
  await using _ = f;
  const p = f.platform;
  const { fleetId, vehicleId } = f.camera;
  const camera = `/api/v1/fleets/${fleetId}/vehicles/${vehicleId}/cameras/${f.camera.cameraId}`;
  const made = await p.call("POST", `${camera}/live-links`, {
    token: f.ownerToken,
    json: { ttlSeconds: 3600 },
  });
  const link = await made.json();
  let open = true;
  const links = p.identity.urls.links;
  links.watch(link.id, Date.parse(link.expiresAt), { alive: () => open, end: () => open = false });
  try {
    const revoked = await p.call("DELETE", `/api/v1/fleets/${fleetId}/links/${link.id}`, {
      token: f.ownerToken,
    });
    assert.equal(revoked.status, 200);
    await revoked.body?.cancel();
    const end = Date.now() + 6000;
    while (open && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(open, false, "the holder was ended");
  } finally {
    links.close();
  }
});
