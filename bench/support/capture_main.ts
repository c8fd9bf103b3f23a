/**
 * One camera's capture as the vehicle agent runs it (spool + CameraCapture, its queue drained as
 * the uploader would), in a process of its own so that a benchmark can read its CPU from /proc.
 *
 *   deno run --allow-all bench/support/capture_main.ts --source rtsp://… --dir DIR
 *     [--passthrough on|off] [--proxy on|off] [--size 1280x720] [--bitrate 2M]
 *
 * Prints "segment SECONDS" for each full-rendition segment queued (so a benchmark can relate CPU to
 * the video made, which a starved encoder makes less of); stops on SIGTERM.
 */
import { parseArgs } from "node:util";
import { createLogger } from "../../lib/log/mod.ts";
import { CameraCapture, DEFAULT_PROXY } from "../../vehicle/capture.ts";
import { parseAgentConfig } from "../../vehicle/config.ts";
import { Spool } from "../../vehicle/spool.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    source: { type: "string" },
    dir: { type: "string" },
    passthrough: { type: "string", default: "off" },
    proxy: { type: "string", default: "off" },
    size: { type: "string", default: "1280x720" },
    bitrate: { type: "string", default: "2M" },
  },
});
if (!values.source || !values.dir) {
  throw new TypeError("Cannot capture: --source and --dir are required");
}
const logger = createLogger("warn");
const config = parseAgentConfig({
  cameras: [{ name: "front", source: values.source }],
  video: { size: values.size, fps: 25, bitrate: values.bitrate },
  passthrough: values.passthrough,
});
const spool = new Spool({
  dir: values.dir,
  diskBudgetBytes: 1e9,
  quarantineBudgetBytes: 1e8,
  drainOrder: "oldest",
  segmentSeconds: 2,
  logger,
});
await spool.open();
const capture = new CameraCapture({
  camera: config.cameras[0],
  segmentSeconds: 2,
  spool,
  logger,
  renditions: values.proxy === "on" ? ["full", "proxy"] : ["full"],
  proxy: DEFAULT_PROXY,
});
const stopping = new AbortController();
const drain = (async () => {
  while (!stopping.signal.aborted) {
    const entry = spool.take();
    if (!entry) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      continue;
    }
    if (entry.kind !== "end") await spool.read(entry); // what an upload reads
    await spool.done(entry);
    if (entry.kind === "segment" && !entry.recordingId.endsWith("-p")) {
      console.log(`segment ${entry.durationS}`);
    }
  }
})();
capture.start();
Deno.addSignalListener("SIGTERM", async () => {
  await capture.close();
  stopping.abort();
  await drain;
  Deno.exit(0);
});
