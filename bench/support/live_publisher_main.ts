/**
 * Baseline publisher of the live benchmarks: the vehicle's own {@linkcode LivePublisher} in a
 * process of its own, signaled by the parent instead of the server, so that a viewer can connect
 * to it directly (no server, no Janus). Prints `{type:"ready"}` once loaded; then commands (JSON
 * lines): `{type:"start", camera}` answers `{type:"offer", sdp}`; `{type:"answer", sdp}` answers
 * `{type:"answered"}`; `{type:"stop"}` answers `{type:"stopped"}`. Exits when stdin ends.
 */
import { createLogger } from "../../lib/log/mod.ts";
import type { CameraConfig } from "../../vehicle/config.ts";
import { LivePublisher } from "../../vehicle/live/publisher.ts";
import { LIVE_ADDRESS } from "../../tests/support/live.ts";
import { commands, reply } from "./live_worker.ts";

const logger = createLogger("error");
let publisher: LivePublisher | null = null;
reply({ type: "ready" });

for await (const command of commands()) {
  try {
    if (command.type === "start") {
      await publisher?.close();
      publisher = await LivePublisher.start({
        camera: command.camera as CameraConfig,
        additionalHostAddresses: [LIVE_ADDRESS],
        logger,
      });
      reply({ type: "offer", sdp: await publisher.createOffer() });
    } else if (command.type === "answer") {
      await publisher?.setAnswer(String(command.sdp));
      reply({ type: "answered" });
    } else if (command.type === "stop") {
      await publisher?.close();
      publisher = null;
      reply({ type: "stopped" });
    }
  } catch (error) {
    reply({ type: "error", message: (error as Error).message });
  }
}
await publisher?.close();
Deno.exit(0);
