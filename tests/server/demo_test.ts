/**
 * `deno task demo` as a newcomer runs it (`scripts/demo.ts`): the platform and its demo vehicle,
 * with LIVE=off meaning no live link anywhere.
 */
import assert from "node:assert/strict";
import { followChild } from "../support/child.ts";
import { freePort } from "../support/server.ts";

const DEMO = new URL("../../scripts/demo.ts", import.meta.url).pathname;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(
  what: string,
  check: () => boolean,
  timeoutMs: number,
  poll?: () => Promise<void>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await poll?.(), !check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(200);
  }
}

/** The paths of the requests the demo's server logged. */
function requestPaths(lines: string[]): string[] {
  return lines.flatMap((line) => {
    try {
      const record = JSON.parse(line);
      return record.msg === "request" ? [String(record.path)] : [];
    } catch {
      return [];
    }
  });
}

Deno.test("the demo with LIVE=off runs its vehicle without a live link", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "motorcade-demo-" });
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", DEMO],
    env: {
      LIVE: "off",
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: "127.0.0.1",
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      // The server logs every request; the demo vehicle logs warnings (a failed live link is one).
      LOG_LEVEL: "info",
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const stop = followChild(child, (line) => lines.push(line));
  let status: Deno.CommandStatus | undefined;
  try {
    await waitFor("the playlist line", () => lines.some((l) => l.startsWith("playlist: ")), 60_000);
    // The vehicle is up once its segments arrive; a live link would try at the same time.
    await waitFor(
      "the demo vehicle's first segment",
      () => requestPaths(lines).some((path) => path.includes("/segments/")),
      60_000,
    );
    // The printed playlist link plays without sign-in: the playlist and its first segment.
    const playlistUrl = lines.find((l) => l.startsWith("playlist: "))!.slice("playlist: ".length);
    let playlist = "";
    await waitFor(
      "a segment in the printed playlist",
      () => /\.m4s/.test(playlist),
      30_000,
      async () => {
        const response = await fetch(playlistUrl);
        playlist = await response.text();
        assert.equal(response.status, 200, `the printed playlist answers 200: ${playlist}`);
      },
    );
    const segment = playlist.split("\n").find((l) => l.includes(".m4s") && !l.startsWith("#"))!;
    const media = await fetch(new URL(segment, playlistUrl));
    await media.arrayBuffer();
    assert.equal(media.status, 200, "the printed playlist's segment answers 200");
    await sleep(6_000);
    const paths = requestPaths(lines);
    assert.ok(paths.includes("/api/v1/device/heartbeat"), "the vehicle reports");
    assert.deepEqual(paths.filter((path) => path.startsWith("/api/v1/live")), [], "no live link");
    assert.deepEqual(lines.filter((line) => /live link/i.test(line)), []);
  } finally {
    // The demo stops its vehicle and server on SIGTERM; a hung one is killed.
    let timer: ReturnType<typeof setTimeout> | undefined;
    status = await Promise.race([
      stop("SIGTERM"),
      new Promise<undefined>((resolve) => timer = setTimeout(() => resolve(undefined), 30_000)),
    ]);
    clearTimeout(timer);
    if (!status) {
      child.kill("SIGKILL");
      await child.status;
    }
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
  assert.equal(status?.code, 0, `the demo stops cleanly:\n${lines.slice(-20).join("\n")}`);
});
