/**
 * The composition root shared by `main.ts`, the tests and the benchmarks: opens the catalog,
 * loads identity, builds the app, and closes everything in reverse order.
 */
import { dirname } from "node:path";
import { BroadcastAccessChanges, Identity, KEY_RELOAD_INTERVAL_MS } from "./lib/auth/mod.ts";
import { type Broadcast, MAX_MESSAGE_BYTES, openBroadcast } from "./lib/broadcast/mod.ts";
import { type Catalog, openCatalog } from "./lib/catalog/mod.ts";
import type { Config } from "./lib/config/mod.ts";
import { type EventBus, openBus } from "./lib/bus/mod.ts";
import { InstructionsDesk, UploadPolicies } from "./lib/policy/mod.ts";
import { Availability, Recalls, RecallWebhook } from "./lib/recall/mod.ts";
import { FleetWebhooks, VehicleEvents } from "./lib/events/mod.ts";
import { DiskHealth } from "./lib/disk/mod.ts";
import { FleetRegistry } from "./lib/fleet/mod.ts";
import { Indexer, Ingest } from "./lib/ingest/mod.ts";
import { Playback } from "./lib/playback/mod.ts";
import { RetentionSweep } from "./lib/retention/mod.ts";
import { openMediaDelivery } from "./lib/delivery/mod.ts";
import { Slates } from "./lib/slate/mod.ts";
import { type ObjectStore, openObjectStore } from "./lib/storage/mod.ts";
import { type ApiApp, Metrics } from "./lib/http/mod.ts";
import { createLogger, type Logger } from "./lib/log/mod.ts";
import { createApp } from "./routes/mod.ts";
import { type Live, parseLadder, startLive } from "./lib/live/mod.ts";
import { liveUsageSink } from "./lib/usage/mod.ts";

/** A wired Motorcade server, not yet listening. */
export interface Platform {
  app: ApiApp;
  config: Config;
  catalog: Catalog;
  identity: Identity;
  registry: FleetRegistry;
  playback: Playback;
  store: ObjectStore;
  bus: EventBus;
  indexer: Indexer;
  /** Deletes what fleets' retention lets go, every RETENTION_INTERVAL. */
  retention: RetentionSweep;
  /** News to and from the other server processes (in-process when the catalog is SQLite). */
  broadcast: Broadcast;
  /** Live streaming and its Janus sidecar; null when LIVE is off or the live role is not here. */
  live: Live | null;
  logger: Logger;
  /** The server's metrics registry (the connection gate registers its own there). */
  metrics: Metrics;
  /** Stops background work and closes the catalog; safe to call twice. */
  close(): Promise<void>;
}

/** Engines given instead of those `config` names: an ingest worker thread's relays to its process. */
export interface PlatformEngines {
  bus?: EventBus;
  broadcast?: Broadcast;
}

/** Opens every dependency named by `config` and builds the app. */
export async function createPlatform(
  config: Config,
  logger: Logger = createLogger(config.logLevel),
  engines: PlatformEngines = {},
): Promise<Platform> {
  // First: a CDN key that cannot be read is a ConfigError, before anything is opened.
  const delivery = await openMediaDelivery(config.mediaDelivery);
  await Deno.mkdir(config.dataDir, { recursive: true });
  // Every file system written to, watched from the start: a full disk refuses uploads, not starts.
  const catalogFile = config.catalogUrl.startsWith("sqlite:")
    ? config.catalogUrl.slice("sqlite:".length)
    : ":memory:"; // PostgreSQL: its disk is its server's, not ours
  const catalogDir = catalogFile === ":memory:" ? config.dataDir : dirname(catalogFile);
  const disk = new DiskHealth({
    paths: [
      config.dataDir,
      catalogDir,
      ...(config.storageUrl.startsWith("file:") ? [config.storageUrl.slice("file:".length)] : []),
      ...(config.bus.kind === "log" ? [config.bus.dir] : []),
    ],
    minFreeBytes: config.minFreeBytes,
    ballastDir: catalogDir,
    logger: logger.child({ part: "disk" }),
  });
  await disk.releaseBallastWhenFull();
  await disk.check();
  disk.start();
  const catalog = await openCatalog(config.catalogUrl, { disk });
  const roles = config.roles;
  // Processes split by ROLES share access changes and indexed segments over the catalog's engine.
  const broadcast = engines.broadcast ?? openBroadcast(config.catalogUrl, logger);
  const identity = await Identity.open(catalog, config, new BroadcastAccessChanges(broadcast));
  const owner = await identity.bootstrapOwner(config.admin);
  if (owner?.generatedPassword) {
    const file = `${config.dataDir}/initial-owner.txt`;
    await Deno.writeTextFile(file, `${owner.email}\n${owner.generatedPassword}\n`, { mode: 0o600 });
    logger.warn("created the first platform owner with a generated password (shown once)", {
      email: owner.email,
      password: owner.generatedPassword,
      alsoWrittenTo: file,
    });
  } else if (owner) {
    logger.info("created the first platform owner", { email: owner.email });
  }
  const registry = new FleetRegistry(catalog, identity, {
    heartbeatHistoryMs: config.heartbeatHistoryMs,
  });
  const store = openObjectStore(config.storageUrl);
  const bus = engines.bus ?? openBus(config.bus, logger, disk);
  const ingest = new Ingest(catalog, store, bus, {
    maxClockSkewMs: config.maxClockSkewMs,
    bufferBytes: config.ingestBufferBytes,
    logger: logger.child({ part: "ingest" }),
    disk,
  });
  const playback = new Playback(catalog, store, identity.urls, {
    delivery,
    mediaBaseUrl: config.mediaBaseUrl,
    mediaUrlTtlMs: config.mediaUrlTtlMs,
    gapToleranceMs: config.gapToleranceMs,
    slates: new Slates({
      dir: `${config.dataDir}/slates`,
      logger: logger.child({ part: "slates" }),
      disk,
    }),
    logger: logger.child({ part: "playback" }),
  });
  // Playlists cached here go stale when any process's indexer adds segments (this one's at once).
  if (roles.has("api")) {
    broadcast.subscribe(
      INDEXED_CHANNEL,
      (message) => message.split(",").forEach((cameraId) => playback.cache.invalidate(cameraId)),
      () => playback.cache.invalidateAll(),
    );
  }
  const indexer = new Indexer(catalog, bus, logger);
  indexer.onIndexed = (events) => {
    for (const message of indexedMessages(new Set(events.map((e) => e.cameraId)))) {
      broadcast.publish(INDEXED_CHANNEL, message);
    }
  };
  if (roles.has("indexer")) indexer.start();
  await broadcast.ready();
  const live = config.live ? await startLive(config.live, config.dataDir, logger, identity) : null;
  const metrics = new Metrics();
  if (live) live.service.registerMetrics(metrics.registry);
  // A fleet's own ladder applies to its cameras' streams started after it was set.
  live?.service.applyFleetLadders(async (fleetId) => {
    const ladder = (await catalog.fleets.get(fleetId))?.liveLadder;
    return ladder ? parseLadder(ladder) : null;
  });
  // Live video is counted where it is received: this process's Janus publishers.
  live?.service.countUsage(liveUsageSink(catalog, indexer.uploadBytes));
  playback.registerMetrics(metrics.registry);
  indexer.registerMetrics(metrics.registry);
  disk.registerMetrics(metrics.registry);
  bus.registerMetrics(metrics.registry);
  // Retention sweeps where the indexer runs; what it deletes makes cached playlists stale.
  const retention = new RetentionSweep(catalog, store, {
    ...config.retention,
    logger: logger.child({ part: "retention" }),
    onExpired: (cameraIds) =>
      indexedMessages(cameraIds).forEach((message) => broadcast.publish(INDEXED_CHANNEL, message)),
  });
  retention.registerMetrics(metrics.registry);
  if (roles.has("indexer")) retention.start();
  const instructions = new InstructionsDesk(catalog, broadcast);
  const policies = new UploadPolicies(catalog, registry, instructions);
  const recalls = new Recalls(
    catalog,
    registry,
    instructions,
    bus,
    logger.child({ part: "recalls" }),
  );
  const availability = new Availability(catalog, registry);
  const events = new VehicleEvents(catalog, registry, recalls, logger.child({ part: "events" }));
  // Finished recalls go to the operator's webhook from where the indexer runs (one delivery each).
  // A fleet's own webhook (set through the API) wins over the server's (RECALL_WEBHOOK_URL).
  const webhook = roles.has("indexer")
    ? new RecallWebhook({
      ...config.recallWebhook,
      allowPrivate: config.webhookAllowPrivate,
      catalog,
      logger: logger.child({ part: "webhook" }),
    })
    : undefined;
  webhook?.start(bus);
  const app = createApp({
    config,
    catalog,
    identity,
    registry,
    policies,
    recalls,
    availability,
    events,
    fleetWebhooks: new FleetWebhooks(catalog, registry, {
      allowPrivate: config.webhookAllowPrivate,
    }),
    instructions,
    ingest,
    store,
    playback,
    metrics,
    logger,
    live: live?.service ?? null,
    indexerStats: roles.has("indexer") ? () => indexer.stats() : undefined,
    // Only what this process's roles use.
    readiness: [
      { name: "catalog", check: () => catalog.ping() },
      ...(roles.has("ingest") || roles.has("api")
        ? [{ name: "object-store", check: () => store.ping() }]
        : []),
      ...(roles.has("ingest") || roles.has("indexer")
        ? [{ name: "bus", check: () => bus.ping() }]
        : []),
      { name: "storage", check: () => disk.ready() },
      ...(roles.has("ingest") || roles.has("api") || roles.has("live")
        ? [{
          name: "signing-key",
          check: () => Promise.resolve(void identity.keyring.signing()),
        }]
        : []),
      ...(live
        ? [{
          name: "janus",
          check: () =>
            live.service.ready
              ? Promise.resolve()
              : Promise.reject(new Error("Janus is not connected")),
        }]
        : []),
    ],
    secure: { identity, maxBodyBytes: config.maxBodyBytes },
  });

  let ticks = 0;
  const maintenance = setInterval(async () => {
    try {
      await identity.keyring.load();
      if (ticks++ % 60 === 0) await catalog.sessions.prune(new Date());
    } catch (error) {
      logger.error("maintenance failed", { error });
    }
  }, KEY_RELOAD_INTERVAL_MS);
  Deno.unrefTimer(maintenance);

  let closed: Promise<void> | undefined;
  return {
    app,
    config,
    catalog,
    identity,
    registry,
    playback,
    store,
    bus,
    indexer,
    retention,
    broadcast,
    live,
    logger,
    metrics,
    close() {
      closed ??= (async () => {
        clearInterval(maintenance);
        instructions.close();
        await webhook?.close();
        disk.close();
        await live?.close();
        await retention.close();
        await indexer.close();
        await broadcast.close();
        await bus.close();
        await store.close();
        delivery?.close();
        await catalog.close();
      })();
      return closed;
    },
  };
}

/** The broadcast channel naming cameras whose segments were just indexed. */
export const INDEXED_CHANNEL = "indexed";

/** Camera ids joined by commas, in messages a broadcast carries whole. */
function indexedMessages(cameraIds: Iterable<string>): string[] {
  const messages: string[] = [];
  let current = "";
  for (const id of cameraIds) {
    if (current && current.length + 1 + id.length > MAX_MESSAGE_BYTES) {
      messages.push(current);
      current = "";
    }
    current = current ? `${current},${id}` : id;
  }
  if (current) messages.push(current);
  return messages;
}
