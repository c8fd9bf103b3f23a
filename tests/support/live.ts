/**
 * The live tests' harness: they run inside the private network namespace `scripts/netns.sh`
 * creates (the test task runs the whole suite there), where 127.0.0.2 sits on a non-loopback
 * device so that Janus gathers an ICE candidate on it. This module starts Janus for a test and
 * checks that the namespace is there.
 */
import { JanusSupervisor } from "../../lib/janus/mod.ts";
import { createLogger, type Logger } from "../../lib/log/mod.ts";
import { freePort } from "./server.ts";

/** The address media flows on inside the test namespace. */
export const LIVE_ADDRESS = "127.0.0.2";

/** True when this process runs inside the test namespace (127.0.0.2 on a device). */
export function inLiveNamespace(): boolean {
  try {
    return Deno.networkInterfaces().some((i) => i.address === LIVE_ADDRESS);
  } catch {
    return false;
  }
}

/** Throws a clear error when the live namespace is missing. */
export function requireLiveNamespace(): void {
  if (!inLiveNamespace()) {
    throw new Error(
      `Live tests need ${LIVE_ADDRESS} on a non-loopback device: run them through ` +
        "`deno task test`, or `bash scripts/netns.sh deno test --allow-all <files>`",
    );
  }
}

/** A Janus started for one test. */
export interface TestJanus extends AsyncDisposable {
  supervisor: JanusSupervisor;
  wsUrl: string;
  adminUrl: string;
  apiSecret: string;
  adminSecret: string;
  dir: string;
}

/** Starts Janus with its own config folder and free ports, gathering ICE on 127.0.0.2. */
export async function startJanus(
  options: { logger?: Logger; rtpPortRange?: [number, number] } = {},
): Promise<TestJanus> {
  requireLiveNamespace();
  const dir = await Deno.makeTempDir({ prefix: "motorcade-janus-" });
  const apiSecret = crypto.randomUUID();
  const adminSecret = crypto.randomUUID();
  let httpPort = freePort();
  while (httpPort > 65_000) httpPort = freePort();
  const supervisor = new JanusSupervisor({
    dir,
    executable: "janus",
    logger: options.logger ?? createLogger("error"),
    wsPort: freePort(),
    httpPort,
    apiSecret,
    adminSecret,
    rtpPortRange: options.rtpPortRange ?? [20_000, 40_000],
    iceEnforceList: LIVE_ADDRESS,
    debugLevel: 3,
    libDir: "/usr/lib/x86_64-linux-gnu/janus",
  });
  await supervisor.start();
  return {
    supervisor,
    wsUrl: supervisor.wsUrl,
    adminUrl: supervisor.adminUrl,
    apiSecret,
    adminSecret,
    dir,
    async [Symbol.asyncDispose]() {
      await supervisor.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
