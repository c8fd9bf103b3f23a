import assert from "node:assert/strict";
import { startAgent, type TestAgent } from "../support/agent.ts";
import { setUpVehicle } from "../support/fleet_api.ts";
import { liveServerEnv, requireLiveNamespace, SignalingClient } from "../support/live.ts";
import { startServer } from "../support/server.ts";
import { WebrtcViewer } from "../support/webrtc_viewer.ts";

const SMALL = ["--video-size", "320x240", "--fps", "10", "--bitrate", "300k"];

/** A WebSocket viewer that answers every offer (a new PeerConnection for a restart). */
class Watcher {
  viewer = new WebrtcViewer();
  offers = 0;
  #stopped = false;

  constructor(readonly client: SignalingClient, readonly id: string) {
    this.#loop();
  }

  async #loop(): Promise<void> {
    while (!this.#stopped) {
      const offer = await this.client.next((m) => m.type === "offer" && m.id === this.id, 120_000)
        .catch(() => null);
      if (!offer || this.#stopped) return;
      if (this.offers++ > 0) {
        await this.viewer.close();
        this.viewer = new WebrtcViewer();
      }
      const sdp = await this.viewer.answer(String(offer.sdp));
      this.client.send({ type: "answer", id: this.id, sdp });
    }
  }

  /** Resolves once `frames` more frames arrived on the current PeerConnection. */
  async frames(count: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let viewer = this.viewer;
    let start = viewer.counters.frames;
    while (true) {
      if (viewer !== this.viewer) {
        viewer = this.viewer;
        start = 0;
      }
      if (viewer.counters.frames - start >= count && viewer.counters.keyframes > 0) return;
      if (Date.now() > deadline) {
        throw new Error(`Watcher ${this.id}: ${JSON.stringify(viewer.counters)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.viewer.close();
  }
}

async function janusPid(): Promise<number> {
  const out = await new Deno.Command("pgrep", { args: ["-x", "janus"], stdout: "piped" }).output();
  const pids = new TextDecoder().decode(out.stdout).trim().split("\n").filter(Boolean).map(Number);
  assert.equal(pids.length, 1, `one janus running, got ${pids}`);
  return pids[0];
}

Deno.test({
  name:
    "live: many viewers share one publication, and viewers recover when the vehicle drops off and when Janus restarts",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    requireLiveNamespace();
    await using server = await startServer(liveServerEnv({ graceSeconds: 30 }));
    const v = await setUpVehicle(server.url, ["front"]);
    const spoolDir = await Deno.makeTempDir({ prefix: "motorcade-spool-" });
    const agentOptions = {
      server: server.url,
      stateDir: v.stateDir,
      spoolDir,
      cameras: { front: "testsrc" },
      live: true,
      args: SMALL,
    };
    let agent: TestAgent = startAgent(agentOptions);
    const clients: SignalingClient[] = [];
    const watchers: Watcher[] = [];
    try {
      // Six viewers on three connections.
      for (let c = 0; c < 3; c++) {
        const client = await SignalingClient.connect(server.url, v.ownerToken);
        clients.push(client);
        for (let w = 0; w < 2; w++) {
          const id = `c${c}w${w}`;
          watchers.push(new Watcher(client, id));
          client.send({
            type: "watch",
            id,
            fleetId: v.fleetId,
            vehicleId: v.vehicleId,
            camera: "front",
          });
        }
      }
      await Promise.all(watchers.map((w) => w.frames(10)));
      const publications = agent.logs.filter((l) => l.includes('"msg":"publishing"')).length;
      assert.equal(publications, 1, "one publication serves every viewer");

      // The vehicle drops off (crash) and comes back: the same watches get video again.
      await agent.stop("SIGKILL");
      await clients[0].next((m) => m.type === "status" && m.state === "vehicle-offline");
      agent = startAgent(agentOptions);
      await Promise.all(watchers.map((w) => w.frames(20)));

      // Janus is killed: the supervisor restarts it and every viewer gets a new offer.
      Deno.kill(await janusPid(), "SIGKILL");
      const deadline = Date.now() + 30_000;
      while (!watchers.every((w) => w.offers >= 2)) {
        assert.ok(Date.now() < deadline, `offers: ${watchers.map((w) => w.offers)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await Promise.all(watchers.map((w) => w.frames(20, 45_000)));
    } catch (error) {
      console.log(
        server.logs.filter((l) => !/"debug"|"request"|ladder ffmpeg/.test(l)).slice(-40).join("\n"),
      );
      console.log(agent.logs.slice(-20).join("\n"));
      throw error;
    } finally {
      for (const w of watchers) await w.stop();
      for (const c of clients) c.close();
      await agent.stop();
      await Deno.remove(spoolDir, { recursive: true }).catch(() => {});
    }
  },
});
