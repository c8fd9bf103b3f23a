/**
 * Renditions and upload kinds through ingest: the headers a vehicle sends (Motorcade-Rendition,
 * Motorcade-Upload-Kind, Motorcade-Recall-Id) reach the catalog; a recalled segment joins its
 * recording long after later ones; range playlists play the full rendition; data usage (API and
 * metric) equals the bytes the server stored, by kind.
 */
import assert from "node:assert/strict";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { enrolDevice } from "../support/device.ts";
import { contentDigest, makeCmaf } from "../support/media.ts";
import { makeFleet, startTestPlatform, type TestPlatform } from "../support/platform.ts";

/** Polls `check` until it returns a value (the indexer is asynchronous), for at most 10 s. */
async function eventually<T>(check: () => Promise<T | undefined>): Promise<T> {
  const until = Date.now() + 10_000;
  while (true) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error("Condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}

const full = await makeCmaf({ seconds: 8, size: "640x360" });
const proxy = await makeCmaf({ seconds: 8, size: "320x180", bitrate: "100k" });

async function put(
  p: TestPlatform,
  token: string,
  path: string,
  body: Uint8Array,
  headers: Record<string, string> = {},
) {
  return await p.call("PUT", `/api/v1/ingest/vehicles/${path}`, {
    token,
    body: body as BodyInit,
    headers: {
      "content-type": "video/iso.segment",
      "content-digest": await contentDigest(body),
      ...headers,
    },
  });
}

Deno.test("ingest carries renditions and upload kinds to the catalog, playlists and data usage", async (t) => {
  await using p = await startTestPlatform();
  const fleet = await makeFleet(p, "Acme");
  const { token } = await enrolDevice(p, fleet.enrolmentCode);
  const start = Date.now() - 120_000;
  const base = `${fleet.vehicleId}/cameras/front/recordings`;
  const segment = async (
    recordingId: string,
    n: number,
    fixture: typeof full,
    headers: Record<string, string> = {},
  ) => {
    const response = await put(
      p,
      token,
      `${base}/${recordingId}/segments/${n}`,
      fixture.segments[n].bytes,
      {
        "motorcade-segment-start": new Date(start + n * 2000).toISOString(),
        "motorcade-segment-duration": "2.000",
        ...headers,
      },
    );
    assert.ok(response.status < 300, await response.clone().text());
    return response;
  };
  const size = (fixture: typeof full, ...ns: number[]) =>
    ns.reduce((sum, n) => sum + fixture.segments[n].bytes.byteLength, 0);
  const PROXY = { "motorcade-rendition": "proxy" };
  const RECALL = { "motorcade-upload-kind": "recall", "motorcade-recall-id": "rcl_1" };

  await t.step("bad rendition headers are refused, naming the header", async () => {
    const wrong = await put(p, token, `${base}/r1/init`, full.init, {
      "motorcade-rendition": "hd",
    });
    assert.equal(wrong.status, 400);
    assert.match((await wrong.json()).detail, /Motorcade-Rendition/);
    const orphan = await put(p, token, `${base}/r1/segments/0`, full.segments[0].bytes, {
      "motorcade-segment-start": new Date(start).toISOString(),
      "motorcade-segment-duration": "2.000",
      "motorcade-recall-id": "rcl_1",
    });
    assert.equal(orphan.status, 400);
    assert.match((await orphan.json()).detail, /Motorcade-Recall-Id.*Motorcade-Upload-Kind/);
  });

  await t.step(
    "the proxy complete, the full rendition with a hole a recall fills late",
    async () => {
      assert.equal((await put(p, token, `${base}/r1-p/init`, proxy.init, PROXY)).status, 201);
      for (const n of [0, 1, 2, 3]) await segment("r1-p", n, proxy, PROXY);
      assert.equal((await put(p, token, `${base}/r1/init`, full.init)).status, 201);
      // Full quality: 0 and 3 continuously; 1 recalled after them; 2 never uploaded.
      await segment("r1", 0, full);
      await segment("r1", 3, full, { "motorcade-upload-kind": "continuous" });
      await segment("r1", 1, full, RECALL);
      // A retry of stored bytes counts nowhere again.
      assert.equal((await segment("r1", 1, full, RECALL)).status, 200);
      const path =
        `/api/v1/fleets/${fleet.fleetId}/vehicles/${fleet.vehicleId}/cameras/${fleet.cameraId}/recordings`;
      const recordings = await eventually(async () => {
        const body = await (await p.call("GET", path, { token: fleet.tokens.viewer })).json();
        const counts = body.recordings.map((r: { segmentCount: number }) => r.segmentCount);
        return counts.join() === "3,4" || counts.join() === "4,3" ? body.recordings : undefined;
      });
      const byId = Object.fromEntries(
        recordings.map((r: { id: string; rendition: string }) => [r.id, r.rendition]),
      );
      assert.deepEqual(byId, { "r1": "full", "r1-p": "proxy" });
      const proxies = await (await p.call("GET", `${path}?rendition=proxy`, {
        token: fleet.tokens.viewer,
      })).json();
      assert.deepEqual(proxies.recordings.map((r: { id: string }) => r.id), ["r1-p"]);
    },
  );

  await t.step("a range playlist plays the full rendition", async () => {
    const query = new URLSearchParams({
      from: new Date(start).toISOString(),
      to: new Date(start + 8000).toISOString(),
    });
    const response = await p.call(
      "GET",
      `/api/v1/fleets/${fleet.fleetId}/vehicles/${fleet.vehicleId}/cameras/${fleet.cameraId}/index.m3u8?${query}`,
      { token: fleet.tokens.viewer },
    );
    assert.equal(response.status, 200);
    const playlist = await response.text();
    const media = playlist.split("\n").filter((line) => line.includes("/r1"));
    assert.ok(media.length >= 3, playlist);
    assert.ok(!playlist.includes("/r1-p/"), `the proxy is not in a range playlist:\n${playlist}`);
  });

  await t.step("a multivariant playlist lists the proxy, then full quality", async () => {
    const camera =
      `/api/v1/fleets/${fleet.fleetId}/vehicles/${fleet.vehicleId}/cameras/${fleet.cameraId}`;
    const query = new URLSearchParams({
      from: new Date(start).toISOString(),
      to: new Date(start + 8000).toISOString(),
    });
    const get = (path: string) => p.call("GET", path, { token: fleet.tokens.viewer });
    const master = await (await get(`${camera}/multivariant.m3u8?${query}`)).text();
    const uris = master.split("\n").filter((line) => line && !line.startsWith("#"));
    assert.deepEqual(uris, [
      `renditions/proxy/index.m3u8?${query}`,
      `renditions/full/index.m3u8?${query}`,
    ]);
    const full = await (await get(`${camera}/${uris[1]}`)).text();
    // Sequence 2 was never uploaded: a gap where the proxy has its segment.
    assert.equal((full.match(/#EXT-X-GAP/g) ?? []).length, 1, full);
    assert.equal((full.match(/#EXTINF/g) ?? []).length, 4, full);
    const proxyList = await (await get(`${camera}/${uris[0]}`)).text();
    assert.ok(proxyList.includes("/r1-p/0000000003.m4s"), proxyList);
    assert.equal((proxyList.match(/#EXT-X-GAP/g) ?? []).length, 0, proxyList);
    assert.equal((await get(`${camera}/renditions/hd/index.m3u8?${query}`)).status, 400);
  });

  await t.step("a range with only full quality has only its full variant", async () => {
    const later = start + 60_000;
    const base2 = `${base}/r2`;
    assert.equal((await put(p, token, `${base2}/init`, full.init)).status, 201);
    const upload = await put(p, token, `${base2}/segments/0`, full.segments[0].bytes, {
      "motorcade-segment-start": new Date(later).toISOString(),
      "motorcade-segment-duration": "2.000",
    });
    assert.equal(upload.status, 201);
    const camera =
      `/api/v1/fleets/${fleet.fleetId}/vehicles/${fleet.vehicleId}/cameras/${fleet.cameraId}`;
    const query = new URLSearchParams({
      from: new Date(later).toISOString(),
      to: new Date(later + 2000).toISOString(),
    });
    const master = await eventually(async () => {
      const response = await p.call("GET", `${camera}/multivariant.m3u8?${query}`, {
        token: fleet.tokens.viewer,
      });
      return response.status === 200 ? await response.text() : undefined;
    });
    assert.deepEqual(
      master.split("\n").filter((line) => line && !line.startsWith("#")),
      [`renditions/full/index.m3u8?${query}`],
    );
    assert.match(master, /RESOLUTION=640x360/);
  });

  await t.step("the bytes of a recall an event rule made count as event", async () => {
    const recall = await p.catalog.recalls.create(
      {
        fleetId: fleet.fleetId,
        vehicleId: fleet.vehicleId,
        cameraId: fleet.cameraId,
        fromMs: start,
        toMs: start + 8000,
        origin: "event",
        createdBy: null,
      },
      32,
      new Date(),
    );
    assert.ok(recall);
    await segment("r1", 2, full, {
      "motorcade-upload-kind": "recall",
      "motorcade-recall-id": recall.id,
    });
  });

  await t.step("data usage is the bytes stored, by kind, in the API and the metrics", async () => {
    const expected = {
      continuous: 2 * full.init.byteLength + size(full, 0, 3) + size(full, 0),
      proxy: proxy.init.byteLength + size(proxy, 0, 1, 2, 3),
      recall: size(full, 1),
      event: size(full, 2),
    };
    const usagePath = `/api/v1/fleets/${fleet.fleetId}/vehicles/${fleet.vehicleId}/usage`;
    const today = new Date().toISOString().slice(0, 10);
    const readUsage = async () => {
      const report = await (await p.call("GET", `${usagePath}?from=${today}`, {
        token: fleet.tokens.operator,
      })).json();
      const metrics = parsePrometheusTextFormat(
        await (await p.call("GET", "/metrics")).text(),
      ) as Array<
        { name: string; metrics: Array<{ labels?: Record<string, string>; value?: string }> }
      >;
      const family = metrics.find((f) => f.name === "motorcade_upload_bytes_total");
      const counted: Record<string, number> = Object.fromEntries(
        (family?.metrics ?? []).map((m) => [m.labels?.kind, Number(m.value)]),
      );
      return { report, counted };
    };
    // Usage is counted as the indexer takes each upload's event, after ingest answered: the last
    // upload (the event rule's recall) may not be counted yet. Wait for it, then compare.
    const all = expected.continuous + expected.proxy + expected.recall + expected.event;
    let usage = await readUsage();
    for (
      const until = Date.now() + 10_000;
      (usage.report.bytes?.all !== all || usage.counted.event !== expected.event) &&
      Date.now() < until;
    ) {
      await new Promise((r) => setTimeout(r, 25));
      usage = await readUsage();
    }
    const { report, counted } = usage;
    assert.deepEqual(
      {
        continuous: report.bytes.continuous,
        proxy: report.bytes.proxy,
        recall: report.bytes.recall,
        event: report.bytes.event,
      },
      expected,
    );
    assert.equal(
      report.bytes.all,
      expected.continuous + expected.proxy + expected.recall + expected.event,
    );
    assert.deepEqual(report.cameras.map((c: { cameraId: string }) => c.cameraId), [fleet.cameraId]);
    assert.equal(report.days.reduce((n: number, d: { objects: number }) => n + d.objects, 0), 12);
    // The same bytes as the objects in the store.
    let stored = 0;
    for await (const key of p.store.list(`fleets/${fleet.fleetId}`)) {
      stored += (await p.store.head(key))!.size;
    }
    assert.equal(report.bytes.all, stored);

    assert.deepEqual(counted, expected);

    const viewer = await p.call("GET", usagePath, { token: fleet.tokens.viewer });
    assert.equal(viewer.status, 403);
    const backwards = await p.call("GET", `${usagePath}?from=2026-12-07&to=2026-12-01`, {
      token: fleet.tokens.admin,
    });
    assert.equal(backwards.status, 400);
    assert.match((await backwards.json()).detail, /"to" is before "from"/);
    const bad = await p.call("GET", `${usagePath}?from=2026-02-30`, { token: fleet.tokens.admin });
    assert.equal(bad.status, 400);
  });
});
