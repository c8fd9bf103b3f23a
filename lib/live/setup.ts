/** Builds the live service from configuration, starting the Janus sidecar when the platform owns it. */
import type { Identity } from "../auth/mod.ts";
import type { LiveConfig } from "../config/mod.ts";
import { JanusEventSink, JanusSupervisor } from "../janus/mod.ts";
import type { Logger } from "../log/mod.ts";
import { parseLadder } from "./ladder.ts";
import { LiveService } from "./live_service.ts";

/** The live service and, when the platform runs Janus itself, its supervisor. */
export interface Live {
  service: LiveService;
  supervisor: JanusSupervisor | null;
  close(): Promise<void>;
}

const JANUS_LIB_DIRS = [
  "/usr/lib/x86_64-linux-gnu/janus",
  "/usr/lib/aarch64-linux-gnu/janus",
  "/usr/lib/janus",
];

/**
 * Starts Janus (unless external) and the live service; `identity` re-checks the access of open
 * sockets and sessions.
 */
export async function startLive(
  config: LiveConfig,
  dataDir: string,
  logger: Logger,
  identity: Pick<Identity, "recheck" | "changes">,
): Promise<Live> {
  let supervisor: JanusSupervisor | null = null;
  let janusUrl = config.janusUrl;
  let adminUrl = config.janusAdminUrl;
  let apiSecret = config.janusApiSecret;
  let adminSecret = config.janusAdminSecret;
  const log = logger.child({ component: "live" });
  // Janus's media statistics (each viewer's REMB) reach the live service through a loopback
  // listener: always when the platform runs Janus, for an external one when configured.
  let service: LiveService | null = null;
  const events = !janusUrl || (config.janusEventsPort > 0 && config.janusEventsSecret)
    ? await JanusEventSink.start({
      port: config.janusEventsPort,
      secret: config.janusEventsSecret,
      logger: logger.child({ component: "janus-events" }),
      onMediaStats: (stats) => service?.mediaStats(stats),
    })
    : null;
  if (!janusUrl) {
    apiSecret = crypto.randomUUID();
    adminSecret = crypto.randomUUID();
    const libDir = JANUS_LIB_DIRS.find((dir) => {
      try {
        return Deno.statSync(`${dir}/plugins`).isDirectory;
      } catch {
        return false;
      }
    }) ?? JANUS_LIB_DIRS[0];
    supervisor = new JanusSupervisor({
      dir: `${dataDir}/janus`,
      executable: config.janusExecutable,
      logger: logger.child({ component: "janus" }),
      wsPort: config.janusPort,
      httpPort: config.janusPort + 1,
      apiSecret,
      adminSecret,
      rtpPortRange: config.janusRtpPortRange,
      iceEnforceList: config.janusIceEnforceList,
      natMapping: config.janusNatMapping,
      debugLevel: 3,
      libDir,
      events: events ?? undefined,
    });
    await supervisor.start().catch(async (error) => {
      await events?.close();
      throw error;
    });
    janusUrl = supervisor.wsUrl;
    adminUrl = supervisor.adminUrl;
  }
  service = new LiveService(
    {
      janusUrl,
      adminUrl: adminUrl!,
      apiSecret: apiSecret!,
      adminSecret: adminSecret!,
      ladder: config.ladder !== null,
      rungs: config.ladder ? parseLadder(config.ladder) : "auto",
      fps: 25,
      ffmpeg: "ffmpeg",
      idleGraceMs: config.idleGraceMs,
      publishTimeoutMs: 10_000,
      abrIntervalMs: 1_000,
      abr: config.abr,
      usageIntervalMs: config.usageIntervalMs,
      maxWatchesPerConnection: 16,
      access: {
        maxSocketsPerUser: config.maxSocketsPerUser,
        maxSocketsPerVehicle: config.maxSocketsPerVehicle,
        maxWhepPerUser: config.maxWhepPerUser,
        recheckMs: config.accessRecheckMs,
      },
      ice: {
        stunUrls: config.stunUrls,
        turnUrls: config.turnUrls,
        turnSecret: config.turnSecret,
        turnTtlMs: config.turnTtlMs,
      },
    },
    log,
    identity,
  );
  await service.start();
  const started = service;
  return {
    service: started,
    supervisor,
    async close() {
      await started.close();
      await supervisor?.close();
      await events?.close();
    },
  };
}
