/**
 * Writes the configuration folder of a Janus sidecar that the server does not start itself
 * (`JANUS_URL` set: deploy/compose.yaml's `janus` service, the `janus` container of
 * deploy/kubernetes/live.yaml), from the same variables the live server reads and the same
 * templates as the supervised Janus (`janus/`), then exits. The sidecar shares the live server's
 * network namespace: its API listens on 127.0.0.1 and the server forwards media over loopback.
 *
 * Usage: deno run --allow-env --allow-read --allow-write scripts/janus_config.ts <dir>
 * then: janus -F <dir> -C <dir>/janus.jcfg
 */
import { loadConfig } from "../lib/config/mod.ts";
import { JANUS_EVENTS_USER, renderJanusConfig } from "../lib/janus/mod.ts";

const LIB_DIRS = ["/usr/lib/x86_64-linux-gnu/janus", "/usr/lib/aarch64-linux-gnu/janus"];

/** The files of the sidecar's configuration folder `dir`, from `env`; throws naming what is wrong. */
export function sidecarJanusConfig(
  env: Record<string, string | undefined>,
  dir: string,
  libDir: string,
): Record<string, string> {
  const live = loadConfig(env).live;
  if (!live) throw new TypeError("Cannot configure a Janus sidecar: LIVE is off");
  if (!live.janusUrl) {
    throw new TypeError(
      "Cannot configure a Janus sidecar: JANUS_URL is unset, so the server starts Janus itself",
    );
  }
  const port = Number(new URL(live.janusUrl).port || 80);
  if (port !== live.janusPort) {
    throw new TypeError(
      `Cannot configure a Janus sidecar: JANUS_URL "${live.janusUrl}" is not on JANUS_PORT ${live.janusPort}`,
    );
  }
  return renderJanusConfig({
    wsPort: live.janusPort,
    httpPort: live.janusPort + 1,
    apiSecret: live.janusApiSecret!,
    adminSecret: live.janusAdminSecret!,
    rtpPortRange: live.janusRtpPortRange,
    iceEnforceList: live.janusIceEnforceList,
    natMapping: live.janusNatMapping,
    debugLevel: 3,
    libDir,
    // Its media statistics (viewers' REMB) go to the server's listener when one is configured.
    events: live.janusEventsPort > 0 && live.janusEventsSecret
      ? {
        url: `http://127.0.0.1:${live.janusEventsPort}/`,
        user: JANUS_EVENTS_USER,
        secret: live.janusEventsSecret,
      }
      : undefined,
  }, dir);
}

if (import.meta.main) {
  const dir = Deno.args[0];
  if (!dir) {
    console.error("usage: scripts/janus_config.ts <dir>");
    Deno.exit(2);
  }
  const libDir = LIB_DIRS.find((candidate) => {
    try {
      return Deno.statSync(`${candidate}/plugins`).isDirectory;
    } catch {
      return false;
    }
  }) ?? "/usr/lib/janus";
  try {
    const files = sidecarJanusConfig(Deno.env.toObject(), dir, libDir);
    Deno.mkdirSync(dir, { recursive: true });
    for (const [name, text] of Object.entries(files)) {
      Deno.writeTextFileSync(`${dir}/${name}`, text, { mode: 0o600 });
    }
    console.log(`Janus configuration written to ${dir}`);
  } catch (error) {
    console.error((error as Error).message);
    Deno.exit(1);
  }
}
