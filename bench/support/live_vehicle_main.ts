/**
 * A vehicle for the live benchmarks that only does live: the agent's own {@linkcode LiveLink}
 * (signaling, on-demand {@linkcode LivePublisher}) for one camera, without the recording encoder
 * and uploader, which would take CPU from the viewers on a small machine. Argument: JSON
 * `{stateDir, camera}` (an enrolled vehicle's state folder, a `CameraConfig`). Its log lines
 * (JSON, info) go to stdout; it prints `{type:"ready"}` once the link is up and stops when
 * stdin ends.
 */
import { createLogger } from "../../lib/log/mod.ts";
import type { CameraConfig } from "../../vehicle/config.ts";
import { DeviceTokens, loadDeviceState } from "../../vehicle/identity.ts";
import { LiveLink } from "../../vehicle/live/live_link.ts";
import { LIVE_ADDRESS } from "../../tests/support/live.ts";
import { reply } from "./live_worker.ts";

const { stateDir, camera } = JSON.parse(Deno.args[0]) as {
  stateDir: string;
  camera: CameraConfig;
};
const state = await loadDeviceState(stateDir);
const link = new LiveLink({
  serverUrl: state.serverUrl,
  tokens: new DeviceTokens(state),
  cameras: [camera],
  logger: createLogger("info", undefined, { service: "bench-vehicle" }),
  additionalHostAddresses: [LIVE_ADDRESS],
});
link.start();
while (!link.connected) await new Promise((resolve) => setTimeout(resolve, 50));
reply({ type: "ready" });
for await (const _ of Deno.stdin.readable) { /* the parent holds stdin open while it needs us */ }
await link.close();
Deno.exit(0);
