/**
 * Janus's media statistics reach the ABR controller (issue 13): the supervised Janus posts its
 * media events (sample event handler, every second) to the server's loopback listener, and a
 * Chromium WHEP viewer's REMB — which Janus's Admin API does not show — becomes the bandwidth
 * estimate of that viewer's samples; the admin's WebSocket viewer gets the lower of its REMB and
 * Chromium's own estimate, and still after Janus is killed and restarted. Posts without the secret
 * are refused, big ones too.
 */
import assert from "node:assert/strict";
import { liveLink, openAdminViewer, openWhepViewer } from "../support/abr_link.ts";
import { hasChromium, launchChromium } from "../support/browser.ts";
import { liveServerEnv, requireLiveNamespace, startLiveVehicle } from "../support/live.ts";

/** Waits (at most `ms`) for a server record from line `from` on matching `test`. */
async function record(
  logs: string[],
  test: (r: Record<string, unknown>) => boolean,
  ms: number,
  from = 0,
): Promise<Record<string, unknown> | null> {
  const deadline = Date.now() + ms;
  let seen = from;
  while (Date.now() < deadline) {
    for (; seen < logs.length; seen++) {
      try {
        const r = JSON.parse(logs[seen]);
        if (test(r)) return r;
      } catch { /* not JSON */ }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return null;
}

Deno.test({
  name:
    "live: Janus's media events make each viewer's REMB its ABR estimate (WHEP, WebSocket, after a Janus restart); forged posts refused",
  ignore: !hasChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    requireLiveNamespace();
    await using live = await startLiveVehicle({
      env: { ...liveServerEnv(), LOG_LEVEL: "debug", ACCESS_TOKEN_TTL: "1h" },
    });
    const { server } = live;
    const listening = await record(server.logs, (r) => r.msg === "janus events listening", 5_000);
    assert.ok(listening, "the server never said where Janus's events go");
    const url = String(listening.url);
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);

    await using browser = await launchChromium();
    const link = await liveLink(server.url, live.vehicle);
    const started = performance.now();
    const whep = await openWhepViewer(browser, link.whepUrl, link.token);

    const remb = await record(server.logs, (r) => r.msg === "viewer remb", 20_000);
    assert.ok(remb, "no REMB from Janus's media events within 20 s");
    console.log(
      `first REMB ${Math.round(Number(remb.bitrate) / 1000)} kbit/s ` +
        `${Math.round(performance.now() - started)} ms after the offer`,
    );
    // The controller's sample carries it: a WHEP viewer has no estimate of its own.
    const estimate = await record(
      server.logs,
      (r) =>
        r.msg === "viewer estimate" && r.viewer === remb.viewer &&
        typeof r.availableBitrate === "number" && r.availableBitrate === r.remb &&
        r.own === undefined,
      10_000,
    );
    assert.ok(estimate, "no ABR sample carried the viewer's REMB within 10 s");
    console.log(`sample estimate ${Math.round(Number(estimate.availableBitrate) / 1000)} kbit/s`);
    await whep[Symbol.asyncDispose]();

    // The admin's WebSocket viewer: the lower of its REMB and Chromium's own estimate.
    const wsFrom = server.logs.length;
    await using _ws = await openAdminViewer(browser, server.url, live.vehicle);
    const both = (from: number, ms: number) =>
      record(
        server.logs,
        (r) =>
          r.msg === "viewer estimate" && r.viewer !== remb.viewer &&
          typeof r.own === "number" && typeof r.remb === "number" &&
          Number(r.rembAgeMs) < 2_000 &&
          r.availableBitrate === Math.min(r.own, r.remb),
        ms,
        from,
      );
    const ws = await both(wsFrom, 30_000);
    assert.ok(ws, "no WebSocket viewer's sample carried its REMB and its own estimate within 30 s");
    console.log(`WebSocket viewer: REMB ${ws.remb}, own ${ws.own}, sample ${ws.availableBitrate}`);

    // Janus killed and restarted by the supervisor: the new one posts to the same listener.
    const ready = await record(server.logs, (r) => r.msg === "janus ready", 1_000);
    assert.ok(ready, "no 'janus ready' record");
    const killedAt = server.logs.length;
    Deno.kill(Number(ready.pid), "SIGKILL");
    const again = await record(
      server.logs,
      (r) => r.msg === "janus ready" && r.generation === 2,
      30_000,
      killedAt,
    );
    assert.ok(again, "Janus was not restarted within 30 s");
    // From 2.5 s after it is back on, a REMB under 2 s old came from the new Janus.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const after = await both(server.logs.length, 30_000);
    assert.ok(after, "no fresh REMB reached the WebSocket viewer's samples after the restart");
    console.log(`after the restart: REMB ${after.remb}, sample ${after.availableBitrate}`);

    // Only Janus may post: no or wrong credentials 401; with its secret, a big body 413.
    const post = (body: BodyInit, authorization?: string) =>
      fetch(url, { method: "POST", headers: authorization ? { authorization } : {}, body });
    const forged = JSON.stringify([{
      type: 32,
      subtype: 3,
      session_id: 1,
      handle_id: 1,
      event: { media: "video", "remb-bitrate": 1 },
    }]);
    for (const auth of [undefined, `Basic ${btoa("janus:guess")}`]) {
      const refused = await post(forged, auth);
      await refused.body?.cancel();
      assert.equal(refused.status, 401);
    }
    const config = await Deno.readTextFile(
      `${server.dataDir}/janus/janus.eventhandler.sampleevh.jcfg`,
    );
    const secret = config.match(/backend_pwd = "([^"]+)"/)?.[1];
    assert.ok(secret, "Janus's event handler has no password");
    const big = await post("[" + " ".repeat(2 << 20) + "]", `Basic ${btoa(`janus:${secret}`)}`);
    await big.body?.cancel();
    assert.equal(big.status, 413);
  },
});
