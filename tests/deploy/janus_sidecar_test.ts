/**
 * The live role as deploy/ runs it: Janus as a sidecar the server does not start, configured by
 * scripts/janus_config.ts from the server's own variables (the `janus` service of compose.yaml, the
 * `janus-config` and `janus` containers of kubernetes/live.yaml), reached on loopback.
 */
import assert from "node:assert/strict";
import {
  liveServerEnv,
  requireLiveNamespace,
  SignalingClient,
  startLiveVehicle,
} from "../support/live.ts";
import { WebrtcViewer } from "../support/webrtc_viewer.ts";

const SCRIPT = new URL("../../scripts/janus_config.ts", import.meta.url).pathname;

/** Runs scripts/janus_config.ts as the sidecar's first step does, with only `env`. */
async function renderSidecarConfig(dir: string, env: Record<string, string>) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-env", "--allow-read", "--allow-write", SCRIPT, dir],
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
      NO_COLOR: "1",
      ...env,
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code: output.code, out: text.decode(output.stdout) + text.decode(output.stderr) };
}

/** A live server's variables with an external Janus on JANUS_PORT's loopback, as deploy/ sets them. */
function sidecarEnv(): Record<string, string> {
  const base = liveServerEnv();
  const port = Number(base.JANUS_PORT);
  return {
    ...base,
    JANUS_URL: `ws://127.0.0.1:${port}`,
    JANUS_ADMIN_URL: `http://127.0.0.1:${port + 2}`,
    JANUS_API_SECRET: crypto.randomUUID(),
    JANUS_ADMIN_SECRET: crypto.randomUUID(),
  };
}

Deno.test("scripts/janus_config.ts refuses a sidecar the server would not reach", async () => {
  const dir = await Deno.makeTempDir({ prefix: "motorcade-janus-sidecar-" });
  try {
    const env = sidecarEnv();
    const elsewhere = await renderSidecarConfig(dir, {
      ...env,
      JANUS_URL: `ws://127.0.0.1:${Number(env.JANUS_PORT) + 10}`,
    });
    assert.equal(elsewhere.code, 1);
    assert.match(elsewhere.out, /JANUS_URL "ws:\/\/127\.0\.0\.1:\d+" is not on JANUS_PORT \d+/);
    const { JANUS_URL: _, ...supervised } = env;
    const unset = await renderSidecarConfig(dir, supervised);
    assert.equal(unset.code, 1);
    assert.match(unset.out, /JANUS_URL is unset, so the server starts Janus itself/);
    const noSecret = await renderSidecarConfig(dir, { ...env, JANUS_API_SECRET: "" });
    assert.equal(noSecret.code, 1);
    assert.match(noSecret.out, /JANUS_URL needs JANUS_ADMIN_URL, JANUS_API_SECRET/);
    assert.deepEqual([...Deno.readDirSync(dir)], [], "nothing written");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "live: a Janus sidecar configured by scripts/janus_config.ts carries a camera to a viewer",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    requireLiveNamespace();
    const env = sidecarEnv();
    const dir = await Deno.makeTempDir({ prefix: "motorcade-janus-sidecar-" });
    const rendered = await renderSidecarConfig(dir, env);
    assert.equal(rendered.code, 0, rendered.out);
    const jcfg = await Deno.readTextFile(`${dir}/janus.jcfg`);
    assert.match(jcfg, new RegExp(`api_secret = "${env.JANUS_API_SECRET}"`));
    assert.equal((await Deno.stat(`${dir}/janus.jcfg`)).mode! & 0o777, 0o600);
    // The sidecar's command in deploy/: janus -F <dir> -C <dir>/janus.jcfg.
    const janus = new Deno.Command("janus", {
      args: ["-F", dir, "-C", `${dir}/janus.jcfg`],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      const info = `http://127.0.0.1:${Number(env.JANUS_PORT) + 1}/janus/info`;
      for (let attempt = 0;; attempt++) {
        const answer = await fetch(info).catch(() => null);
        if (answer?.ok) {
          assert.equal((await answer.json()).janus, "server_info");
          break;
        }
        await answer?.body?.cancel();
        if (attempt >= 100) throw new Error(`Janus did not answer ${info} within 10 s`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await using live = await startLiveVehicle({ env });
      const { server, vehicle: v } = live;
      const ready = await (await fetch(`${server.url}/readyz`)).json();
      assert.deepEqual(ready.checks.janus, { ok: true });
      const client = await SignalingClient.connect(server.url, v.ownerToken);
      const viewer = new WebrtcViewer();
      try {
        client.send({
          type: "watch",
          id: "x",
          fleetId: v.fleetId,
          vehicleId: v.vehicleId,
          camera: "front",
        });
        const offer = await client.next((m) => m.type === "offer");
        client.send({ type: "answer", id: "x", sdp: await viewer.answer(String(offer.sdp)) });
        await viewer.waitFor((c) => c.keyframes >= 1 && c.frames >= 10, 30_000);
      } finally {
        await viewer.close();
        client.close();
      }
    } finally {
      janus.kill("SIGTERM");
      await janus.status;
      await Deno.remove(dir, { recursive: true });
    }
  },
});
