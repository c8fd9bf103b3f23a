/**
 * Benchmark: click-to-first-frame of "Watch live" in Chromium, cold and warm. A real server (LIVE
 * on, Janus, the default ladder `480:600k,720:1500k,1080:3m`), a real vehicle agent (testsrc
 * 1280x720 25 fps 2 Mbit/s, recording too) and headless Chromium watching through WHEP (its own
 * RTCPeerConnection: offer, POST, answer), all inside the test network namespace. The clock starts
 * when the page begins (the "click": before createOffer) and stops at the first decoded frame
 * (`requestVideoFrameCallback`).
 *
 * - cold: a vehicle agent started afresh for each round (first watch after the vehicle starts).
 * - on demand: the same agent, idle again after the viewer left (LIVE_IDLE_GRACE).
 * - warm: another Chromium viewer keeps watching; a second one watches and measures.
 *
 * Each cold round prints a timeline from the page's steps and the agent's and server's log
 * records (same machine clock), so the seconds can be placed.
 *
 * `--via ws` watches through the signaling WebSocket instead (offer from the server, answer from
 * the page), with the socket open and authenticated before the click. `--via page` is what an
 * operator does: it signs in, opens the vehicle page and clicks its "Watch live", so the click
 * pays for everything the live player does (token, socket, auth, watch, negotiation).
 *
 *   bash scripts/netns.sh deno run -A bench/live_cold.ts [--rounds 5] [--ladder off] [--live-warm on|off|omit] [--via whep|ws|page]
 */
import { parseArgs } from "node:util";
import type { Page } from "playwright-core";
import { startAgent, type TestAgent } from "../tests/support/agent.ts";
import { launchChromium } from "../tests/support/browser.ts";
import { setUpVehicle } from "../tests/support/fleet_api.ts";
import { OWNER } from "../tests/support/platform.ts";
import { liveServerEnv, requireLiveNamespace } from "../tests/support/live.ts";
import { startServer } from "../tests/support/server.ts";
import { sleep } from "./support/live_procs.ts";
import { machineLine, percentile, verdict } from "./support/report.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "5" },
    size: { type: "string", default: "1280x720" },
    ladder: { type: "string", default: "480:600k,720:1500k,1080:3m" },
    timeline: { type: "boolean", default: true },
    "live-warm": { type: "string", default: "on" },
    via: { type: "string", default: "whep" },
  },
});
const ROUNDS = Number(values.rounds);
const GRACE_S = 2;
const AGENT_ARGS = ["--video-size", values.size, "--fps", "25", "--bitrate", "2000k"];
const GOAL_COLD_MS = 1_000;

requireLiveNamespace();
const machine = machineLine();

/** The page's steps, in ms since the click (epoch is Date.now() at the click). */
interface PageTimes {
  epoch: number;
  offer: number;
  answer: number;
  connected: number;
  frame: number;
  resource: string;
  /** `--via page`: the signaling socket opened; its `ready` (authenticated) arrived. */
  socket?: number;
  ready?: number;
}

/** In the page: one WHEP watch, timed; the video element stays playing until `stopWatch`. */
async function watch(page: Page, url: string, token: string): Promise<PageTimes> {
  return await page.evaluate(async ({ url, token }) => {
    const epoch = Date.now();
    const t0 = performance.now();
    const at = () => performance.now() - t0;
    const pc = new RTCPeerConnection();
    pc.addTransceiver("video", { direction: "recvonly" });
    const times = { epoch, offer: 0, answer: 0, connected: 0, frame: 0, resource: "" };
    const video = document.createElement("video");
    video.muted = true;
    video.autoplay = true;
    video.playsInline = true;
    document.body.append(video);
    const frame = new Promise<number>((resolve) => {
      // deno-lint-ignore no-explicit-any
      (video as any).requestVideoFrameCallback(() => resolve(at()));
    });
    pc.ontrack = (event) => {
      video.srcObject = event.streams[0] ?? new MediaStream([event.track]);
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "connected" && !times.connected) times.connected = at();
    };
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise<void>((resolve) => {
      if (pc.iceGatheringState === "complete") return resolve();
      pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && resolve();
      setTimeout(resolve, 2_000);
    });
    times.offer = at();
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/sdp", authorization: `Bearer ${token}` },
      body: pc.localDescription!.sdp,
    });
    if (response.status !== 201) {
      throw new Error(`WHEP ${response.status}: ${await response.text()}`);
    }
    times.resource = response.headers.get("location") ?? "";
    await pc.setRemoteDescription({ type: "answer", sdp: await response.text() });
    times.answer = at();
    times.frame = await Promise.race([
      frame,
      new Promise<number>((_, reject) => setTimeout(() => reject(new Error("no frame")), 20_000)),
    ]);
    // deno-lint-ignore no-explicit-any
    ((globalThis as any).watches ??= []).push({ pc, video });
    return times;
  }, { url, token });
}

/**
 * In the page: one watch through the signaling WebSocket, as the admin's player does (the socket is
 * open and authenticated before the click, as the admin keeps it), timed like {@linkcode watch}.
 */
async function watchWs(page: Page, token: string, target: Record<string, string>) {
  return await page.evaluate(async ({ token, target }) => {
    // deno-lint-ignore no-explicit-any
    const g = globalThis as any;
    if (!g.signaling) {
      const socket = new WebSocket(location.origin.replace(/^http/, "ws") + "/api/v1/live/ws");
      g.handlers = new Set();
      socket.onmessage = (event) => {
        const message = JSON.parse(String(event.data));
        for (const handler of g.handlers) handler(message);
      };
      await new Promise((resolve) => (socket.onopen = resolve));
      const ready = new Promise((resolve) => {
        const handler = (m: { type: string }) => {
          if (m.type === "ready") g.handlers.delete(handler), resolve(m);
        };
        g.handlers.add(handler);
      });
      socket.send(JSON.stringify({ type: "auth", token }));
      await ready;
      g.signaling = socket;
    }
    const socket: WebSocket = g.signaling;
    const id = `w${Math.random().toString(36).slice(2, 10)}`;
    const epoch = Date.now();
    const t0 = performance.now();
    const at = () => performance.now() - t0;
    const times = { epoch, offer: 0, answer: 0, connected: 0, frame: 0, resource: "" };
    const pc = new RTCPeerConnection();
    const video = document.createElement("video");
    video.muted = true;
    video.autoplay = true;
    document.body.append(video);
    const frame = new Promise<number>((resolve) => {
      // deno-lint-ignore no-explicit-any
      (video as any).requestVideoFrameCallback(() => resolve(at()));
    });
    pc.ontrack = (event) => {
      video.srcObject = event.streams[0] ?? new MediaStream([event.track]);
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "connected" && !times.connected) times.connected = at();
    };
    const handler = async (m: { type: string; id?: string; sdp?: string }) => {
      if (m.id !== id || m.type !== "offer") return;
      times.offer = at(); // the server's offer arrived
      await pc.setRemoteDescription({ type: "offer", sdp: m.sdp! });
      await pc.setLocalDescription(await pc.createAnswer());
      await new Promise<void>((resolve) => {
        if (pc.iceGatheringState === "complete") return resolve();
        pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && resolve();
        setTimeout(resolve, 2_000);
      });
      socket.send(JSON.stringify({ type: "answer", id, sdp: pc.localDescription!.sdp }));
      times.answer = at();
    };
    g.handlers.add(handler);
    socket.send(JSON.stringify({ type: "watch", id, ...target }));
    times.frame = await Promise.race([
      frame,
      new Promise<number>((_, reject) => setTimeout(() => reject(new Error("no frame")), 20_000)),
    ]);
    g.handlers.delete(handler);
    (g.watches ??= []).push({
      pc,
      video,
      bye: () => socket.send(JSON.stringify({ type: "bye", id })),
    });
    return times;
  }, { token, target });
}

/**
 * The operator's way: on a freshly loaded vehicle page (signed in), a click on "Watch live" mounts
 * the live player, which fetches a token if the page has none, opens the signaling socket,
 * authenticates and watches, all after the click. Steps are read from the page's own WebSocket and
 * RTCPeerConnection (wrapped before the click).
 */
async function watchPage(page: Page, vehiclePage: string): Promise<PageTimes> {
  await page.goto(vehiclePage);
  await page.getByRole("button", { name: /Watch live/ }).first().waitFor();
  return await page.evaluate(async () => {
    // deno-lint-ignore no-explicit-any
    const g = globalThis as any;
    const epoch = Date.now();
    const t0 = performance.now();
    const at = () => performance.now() - t0;
    const times = {
      epoch,
      socket: 0,
      ready: 0,
      offer: 0,
      answer: 0,
      connected: 0,
      frame: 0,
      resource: "",
    };
    const NativeSocket = WebSocket;
    g.WebSocket = class extends NativeSocket {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(url, protocols);
        this.addEventListener("open", () => times.socket ||= at());
        this.addEventListener("message", (event) => {
          if (!times.ready && String(event.data).includes('"ready"')) times.ready = at();
        });
      }
    };
    const NativePc = RTCPeerConnection;
    g.RTCPeerConnection = class extends NativePc {
      constructor(config?: RTCConfiguration) {
        super(config);
        this.addEventListener("connectionstatechange", () => {
          if (this.connectionState === "connected") times.connected ||= at();
        });
      }
      override setRemoteDescription(description: RTCSessionDescriptionInit) {
        times.offer ||= at();
        return super.setRemoteDescription(description);
      }
      override setLocalDescription(description?: RTCLocalSessionDescriptionInit) {
        return super.setLocalDescription(description).then(() => void (times.answer ||= at()));
      }
    };
    const frame = new Promise<number>((resolve) => {
      const seen = () => {
        const video = document.querySelector(".live-player video");
        if (!video) return false;
        // deno-lint-ignore no-explicit-any
        (video as any).requestVideoFrameCallback(() => resolve(at()));
        return true;
      };
      const observer = new MutationObserver(() => seen() && observer.disconnect());
      observer.observe(document.body, { childList: true, subtree: true });
    });
    document.querySelector<HTMLButtonElement>(".live-tile button.primary")!.click();
    times.frame = await Promise.race([
      frame,
      new Promise<number>((_, reject) => setTimeout(() => reject(new Error("no frame")), 20_000)),
    ]);
    return times;
  });
}

/** In the page: ends every watch it holds; then the WHEP resources are deleted. */
async function stopWatches(page: Page, server: string, token: string, resources: string[]) {
  if (values.via === "page") {
    // Leaving the vehicle page closes its player's socket, which ends the watch.
    await page.goto(`${server}/healthz`);
    return;
  }
  await page.evaluate(() => {
    // deno-lint-ignore no-explicit-any
    for (const w of (globalThis as any).watches ?? []) {
      w.bye?.();
      w.pc.close();
      w.video.remove();
    }
    // deno-lint-ignore no-explicit-any
    (globalThis as any).watches = [];
  });
  for (const resource of resources) {
    if (!resource) continue;
    await fetch(new URL(resource, server), {
      method: "DELETE",
      headers: { authorization: `Bearer ${token}` },
    }).then((r) => r.body?.cancel());
  }
}

const count = (agent: TestAgent, text: string) => agent.logs.filter((l) => l.includes(text)).length;
const publishing = (agent: TestAgent) =>
  count(agent, '"publishing"') > count(agent, '"stopped publishing"');

async function until(what: string, predicate: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Log records after `epoch`, as "+ms who: message" lines, for the timeline. */
function timeline(epoch: number, sources: Record<string, string[]>, untilMs: number): string[] {
  const rows: Array<[number, string]> = [];
  for (const [who, lines] of Object.entries(sources)) {
    for (const line of lines) {
      let record: { time?: string; msg?: string; level?: string; state?: string; reason?: string };
      try {
        record = JSON.parse(line);
      } catch {
        continue;
      }
      if (!record.time || record.level === "debug") continue;
      const t = Date.parse(record.time) - epoch;
      if (t < -5 || t > untilMs + 50) continue;
      if (/ladder ffmpeg|request/.test(record.msg ?? "")) continue;
      const detail = record.state ?? record.reason;
      rows.push([t, `${who}: ${record.msg}${detail ? ` (${detail})` : ""}`]);
    }
  }
  return rows.sort((a, b) => a[0] - b[0]).map(([t, text]) =>
    `  +${String(Math.round(t)).padStart(5)} ms  ${text}`
  );
}

const results = { cold: [] as PageTimes[], demand: [] as PageTimes[], warm: [] as PageTimes[] };

{
  await using server = await startServer(
    { ...liveServerEnv({ ladder: values.ladder, graceSeconds: GRACE_S }), ACCESS_TOKEN_TTL: "1h" },
    { timeoutMs: 60_000 },
  );
  const vehicle = await setUpVehicle(server.url, ["front"]);
  const linkResponse = await fetch(
    `${server.url}/api/v1/fleets/${vehicle.fleetId}/vehicles/${vehicle.vehicleId}/cameras/${vehicle.cameras.front}/live-links`,
    {
      method: "POST",
      headers: {
        authorization: `Bearer ${vehicle.ownerToken}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ ttlSeconds: 3600 }),
    },
  );
  const link = await linkResponse.json() as { whepUrl: string; token: string };
  await using browser = await launchChromium();
  const page = await browser.newPage();
  await page.goto(`${server.url}/healthz`);
  const holderPage = await browser.newPage();
  await holderPage.goto(`${server.url}/healthz`);
  const vehiclePage = `${server.url}/admin/fleets/${vehicle.fleetId}/vehicles/${vehicle.vehicleId}`;
  if (values.via === "page") {
    for (const target of [page, holderPage]) {
      await target.goto(`${server.url}/admin/sign-in`);
      await target.getByLabel("Email").fill(OWNER.email);
      await target.getByLabel("Password").fill(OWNER.password);
      await Promise.all([
        target.waitForURL((u) => !u.pathname.startsWith("/admin/sign-in")),
        target.getByRole("button", { name: "Sign in" }).click(),
      ]);
    }
  }
  const once = async (target: Page): Promise<PageTimes> => {
    if (values.via === "page") return await watchPage(target, vehiclePage);
    const times = values.via === "ws"
      ? await watchWs(target, vehicle.ownerToken, {
        fleetId: vehicle.fleetId,
        vehicleId: vehicle.vehicleId,
        cameraId: vehicle.cameras.front,
      })
      : await watch(target, link.whepUrl, link.token);
    return times;
  };

  const startVehicle = async () => {
    const spoolDir = await Deno.makeTempDir({ prefix: "motorcade-bench-spool-" });
    const agent = startAgent({
      server: server.url,
      stateDir: vehicle.stateDir,
      spoolDir,
      cameras: { front: "testsrc" },
      live: true,
      args: [
        ...AGENT_ARGS,
        "--log-level",
        "info",
        // "omit": an agent from before the flag (the before figure, run from an older commit).
        ...(values["live-warm"] === "omit" ? [] : ["--live-warm", values["live-warm"]]),
      ],
    });
    await until("the vehicle's live link", () => count(agent, '"live link ready"') > 0, 30_000);
    return {
      agent,
      async stop() {
        await agent.stop();
        await Deno.remove(spoolDir, { recursive: true }).catch(() => {});
      },
    };
  };

  try {
    // A first vehicle start and watch warms the server's code paths and Chromium: not counted.
    for (let round = -1; round < ROUNDS; round++) {
      const vehicleRun = await startVehicle();
      try {
        // It shows online and its recording encoder is up; with --live-warm on, its publisher
        // has warmed up (as it has by the time an operator opens the vehicle and clicks).
        await sleep(1_500);
        if (values["live-warm"] === "on") {
          await until(
            "the warm-up",
            () => count(vehicleRun.agent, '"live publisher warm"') > 0,
            15_000,
          )
            .catch(() => {});
        }
        const serverFrom = server.logs.length;
        const agentFrom = vehicleRun.agent.logs.length;
        const cold = await once(page);
        if (round >= 0) results.cold.push(cold);
        if (values.timeline && round >= 0 && round < 2) {
          console.log(`cold round ${round}: first frame ${Math.round(cold.frame)} ms`);
          const pageRows = [
            `  +    0 ms  page: click`,
            ...(cold.socket
              ? [
                `  +${String(Math.round(cold.socket)).padStart(5)} ms  page: socket open`,
                `  +${String(Math.round(cold.ready ?? 0)).padStart(5)} ms  page: socket ready`,
              ]
              : []),
            `  +${String(Math.round(cold.offer)).padStart(5)} ms  page: ${
              values.via === "whep" ? "offer POSTed" : "server's offer in"
            }`,
            `  +${String(Math.round(cold.answer)).padStart(5)} ms  page: ${
              values.via === "whep" ? "answer applied" : "answer sent"
            }`,
            `  +${String(Math.round(cold.connected)).padStart(5)} ms  page: connected`,
            `  +${String(Math.round(cold.frame)).padStart(5)} ms  page: first frame decoded`,
          ];
          const logRows = timeline(cold.epoch, {
            agent: vehicleRun.agent.logs.slice(agentFrom),
            server: server.logs.slice(serverFrom),
          }, cold.frame);
          const all = [...pageRows, ...logRows].sort((a, b) =>
            Number(a.slice(3, 8)) - Number(b.slice(3, 8))
          );
          console.log(all.join("\n"));
        }
        await stopWatches(page, server.url, link.token, [cold.resource]);
        // On demand: the same vehicle once it stopped publishing.
        await until("the vehicle to stop publishing", () => !publishing(vehicleRun.agent), 30_000);
        await sleep(300);
        const demand = await once(page);
        if (round >= 0) results.demand.push(demand);
        await stopWatches(page, server.url, link.token, [demand.resource]);
        if (round === ROUNDS - 1) {
          const holder = await once(holderPage);
          await sleep(2_000);
          for (let i = 0; i < ROUNDS; i++) {
            await sleep(300 + Math.random() * 1_000); // land anywhere in the GOP
            const warm = await once(page);
            results.warm.push(warm);
            await stopWatches(page, server.url, link.token, [warm.resource]);
          }
          await stopWatches(holderPage, server.url, link.token, [holder.resource]);
        }
      } catch (error) {
        console.error(server.logs.filter((l) => !l.includes('"debug"')).slice(-30).join("\n"));
        console.error(vehicleRun.agent.logs.slice(-30).join("\n"));
        throw error;
      } finally {
        await vehicleRun.stop();
      }
      await sleep(1_000);
    }
  } finally {
    await Deno.remove(vehicle.stateDir, { recursive: true }).catch(() => {});
  }
}

const stat = (samples: PageTimes[], key: keyof PageTimes, p: number) =>
  Math.round(percentile(samples.map((s) => Number(s[key])), p));
console.log(machine);
console.log(
  `load: vehicle agent with testsrc ${values.size} 25 fps 2 Mbit/s (recording too), ` +
    `${ROUNDS} rounds each, Chromium viewer through ${values.via}; ladder ${values.ladder}; ` +
    `agent --live-warm ${values["live-warm"]}; ` +
    "times from the click (before createOffer) to the first decoded frame",
);
console.log(
  `${"".padEnd(44)}${"p50".padStart(7)}${"p90".padStart(7)}   p50 of: offer / answer / connected`,
);
for (const [name, samples] of Object.entries(results)) {
  const label = {
    cold: "cold (first watch after the vehicle starts)",
    demand: "on demand (vehicle online, idle)",
    warm: "warm (vehicle already publishing)",
  }[name]!;
  console.log(
    `${label.padEnd(44)}${String(stat(samples, "frame", 50)).padStart(7)}${
      String(stat(samples, "frame", 90)).padStart(7)
    }   ${stat(samples, "offer", 50)} / ${stat(samples, "answer", 50)} / ${
      stat(samples, "connected", 50)
    } ms`,
  );
}
console.log(
  `goal: cold p50 <= ${GOAL_COLD_MS} ms: ${
    verdict(stat(results.cold, "frame", 50) <= GOAL_COLD_MS)
  }`,
);
