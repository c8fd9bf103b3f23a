/**
 * The recording agent: wires capture (one ffmpeg per camera), the spool, the uploader, the clock
 * watch and heartbeats. `start()` brings it up; `close()` stops ffmpeg so it finishes the segment
 * it is writing, gives the queue a moment to drain, and waits for the uploads in flight.
 */
import type { Logger } from "../lib/log/mod.ts";
import { CameraCapture } from "./capture.ts";
import { type Clocks, ClockWatch, SYSTEM_CLOCKS } from "./clock.ts";
import type { AgentConfig } from "./config.ts";
import { type EventDraft, EventOutbox, EventTrigger, type QueuedEvent } from "./events.ts";
import { Heartbeat, type HeartbeatBody } from "./heartbeat.ts";
import { type DeviceState, DeviceTokens, loadDeviceState } from "./identity.ts";
import {
  type Instructions,
  InstructionsClient,
  policyOf,
  renditionsOf,
  uploadsContinuously,
} from "./instructions.ts";
import { inventoryOf } from "./inventory.ts";
import type { LiveLink } from "./live/live_link.ts";
import { RecallBook } from "./recall.ts";
import { ServerClock } from "./server_clock.ts";
import { Spool } from "./spool.ts";
import { type TokenSource, Uploader } from "./uploader.ts";

/** Options of {@linkcode Agent}. */
export interface AgentOptions {
  config: AgentConfig;
  logger: Logger;
  /** The vehicle's identity; read from `config.stateDir` when not given. */
  state?: DeviceState;
  tokens?: TokenSource;
  /** Wall and monotonic clocks (tests inject a wall clock that jumps). */
  clocks?: Clocks;
}

/** The vehicle's recording agent. */
export class Agent {
  readonly #log: Logger;
  readonly #clocks: Clocks;
  readonly #startedAt: number;
  readonly #serverClock: ServerClock;
  #spool: Spool | undefined;
  #uploader: Uploader | undefined;
  #captures: CameraCapture[] = [];
  #clock: ClockWatch | undefined;
  #heartbeat: Heartbeat | undefined;
  #instructions: InstructionsClient | undefined;
  #recalls: RecallBook | undefined;
  /**
   * Whether what is recorded is held in the ring because the vehicle has never heard its
   * instructions (its first start): an on-request or proxy vehicle must not upload its first
   * seconds. The first instructions queue what is held where the policy uploads it.
   */
  #holding = false;
  #events: EventOutbox | undefined;
  #trigger: EventTrigger | undefined;
  #live: LiveLink | undefined;
  #starting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(private readonly options: AgentOptions) {
    this.#log = options.logger;
    this.#clocks = options.clocks ?? SYSTEM_CLOCKS;
    this.#startedAt = this.#clocks.monotonic();
    // Segment times come from ffmpeg and the file system, so from the system's clocks, whatever
    // wall clock a test injects for the clock watch.
    this.#serverClock = new ServerClock();
  }

  /** The spool, once started (for tests and diagnostics). */
  get spool(): Spool | undefined {
    return this.#spool;
  }

  /** Recovers the spool, then starts uploading, capturing, watching the clock and reporting. */
  start(): Promise<void> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    const { config } = this.options;
    const state = this.options.state ?? await loadDeviceState(config.stateDir);
    const serverUrl = config.server ?? state.serverUrl;
    const serverClock = this.#serverClock;
    const tokens = this.options.tokens ?? new DeviceTokens({ ...state, serverUrl }, serverClock);

    const spool = this.#spool = new Spool({
      dir: config.spoolDir,
      diskBudgetBytes: config.diskBudgetBytes,
      quarantineBudgetBytes: config.quarantineBudgetBytes,
      drainOrder: config.drainOrder,
      segmentSeconds: config.segmentSeconds,
      reanchorMs: config.reanchorSeconds * 1000,
      logger: this.#log.child({ part: "spool" }),
      clockStamp: () => serverClock.stamp(),
    });
    // The saved instructions and recalls route what crash recovery harvests, before any news.
    const instructions = this.#instructions = new InstructionsClient({
      serverUrl,
      tokens,
      stateDir: config.stateDir,
      logger: this.#log.child({ part: "instructions" }),
      fetch: serverClock.fetch,
      apply: (next) => this.#apply(next),
      // An older server sends no instructions: record as it expects, continuously.
      unsupported: (): Promise<void> => this.#release(this.#instructions!.current),
    });
    await instructions.open();
    this.#holding = !instructions.known;
    const recalls = this.#recalls = new RecallBook({
      path: `${config.spoolDir}/recalls.json`,
      spool,
      logger: this.#log.child({ part: "recall" }),
      settleMs: config.segmentSeconds * 2_000 + 5_000,
      onChange: () => this.#heartbeat?.soon(),
    });
    await recalls.open();
    spool.route = (query) => {
      if (this.#holding) return recalls.route(query) ?? { to: "ring" };
      const policy = policyOf(instructions.current, query.camera);
      return recalls.route(query) ??
        (uploadsContinuously(policy, query.rendition) ? { to: "queue" } : { to: "ring" });
    };
    spool.onUploaded = (entry) => recalls.uploaded(entry);
    await spool.open();
    if (this.#closing) return;

    const uploader = this.#uploader = new Uploader({
      spool,
      tokens,
      serverUrl,
      vehicleId: state.vehicleId,
      logger: this.#log.child({ part: "uploader" }),
      concurrency: config.uploadConcurrency,
      bytesPerSecond: config.uploadBytesPerSecond,
      backoff: { baseMs: 1_000, capMs: config.retryMaxSeconds * 1000 },
      clock: serverClock,
    });
    spool.onQueued = () => uploader.wake();
    uploader.start();

    this.#captures = config.cameras.map((camera) =>
      new CameraCapture({
        camera,
        segmentSeconds: config.segmentSeconds,
        spool,
        logger: this.#log.child({ part: "capture" }),
        ffmpeg: config.ffmpeg,
        font: config.font,
        wall: () => this.#clocks.wall(),
      })
    );
    await this.#apply(instructions.current);
    for (const capture of this.#captures) capture.start();
    recalls.start();

    this.#clock = new ClockWatch({
      thresholdMs: config.clockJumpSeconds * 1000,
      clocks: this.#clocks,
      onJump: (jump) => {
        this.#log.warn("wall clock jumped; starting new recordings", {
          deltaMs: jump.deltaMs,
          now: new Date(jump.at).toISOString(),
        });
        for (const capture of this.#captures) capture.restart("clock jump");
      },
    });
    this.#clock.start();

    this.#heartbeat = new Heartbeat({
      serverUrl,
      tokens,
      intervalMs: config.heartbeatSeconds * 1000,
      logger: this.#log.child({ part: "heartbeat" }),
      report: () => this.report(),
      fetch: serverClock.fetch,
      delivered: (body) => {
        this.#clock?.delivered(body.clock);
        // The server answers: uploads waiting out a network error need not wait any longer.
        uploader.serverReachable("heartbeat");
      },
      answered: (answer) => instructions.accept(answer),
    });
    this.#heartbeat.start();
    instructions.start();
    // Events raised by the agent or written by `vehicle event` into <state>/events.
    this.#events = new EventOutbox({
      dir: `${config.stateDir}/events`,
      serverUrl,
      tokens,
      logger: this.#log.child({ part: "events" }),
      fetch: serverClock.fetch,
    });
    this.#events.start();
    if (config.eventsPort) {
      const events = this.#events;
      this.#trigger = new EventTrigger({
        port: config.eventsPort,
        raise: (draft) => events.raise(draft),
        logger: this.#log.child({ part: "events" }),
      });
      const port = await this.#trigger.start();
      this.#log.info("event trigger listening", { url: `http://127.0.0.1:${port}/events` });
    }
    if (config.live) {
      // Loaded only when live is on: werift is large, and reads the environment when imported.
      const { LiveLink } = await import("./live/live_link.ts");
      this.#live = new LiveLink({
        serverUrl,
        tokens,
        cameras: config.cameras,
        logger: this.#log.child({ part: "live" }),
        ffmpeg: config.ffmpeg,
        font: config.font,
        additionalHostAddresses: config.iceHostAddresses,
        layers: config.liveLayers,
        warm: config.liveWarm,
      });
      this.#live.start();
    }
    this.#log.info("agent started", {
      vehicleId: state.vehicleId,
      server: serverUrl,
      cameras: config.cameras.map((c) => c.name),
      spool: config.spoolDir,
    });
  }

  /**
   * Applies instructions: the fleet's segment length, each camera's renditions (its routing
   * follows them), the recalls. A capture whose settings change starts a new recording once.
   */
  async #apply(next: Instructions): Promise<void> {
    if (next.version) await this.#release(next);
    const segmentSeconds = next.segmentSeconds ?? this.options.config.segmentSeconds;
    for (const capture of this.#captures) {
      const policy = policyOf(next, capture.name);
      try {
        capture.setSegmentSeconds(segmentSeconds);
      } catch (error) {
        this.#log.warn("segment length not applied", { error: (error as Error).message });
      }
      capture.setRenditions(renditionsOf(policy), policy.proxy);
    }
    await this.#recalls?.sync(next.recalls);
    if (next.version) {
      this.#log.info("instructions applied", {
        version: next.version,
        cameras: Object.fromEntries(
          this.options.config.cameras.map((c) => [c.name, policyOf(next, c.name).mode]),
        ),
        recalls: next.recalls.length,
      });
    }
  }

  /**
   * Ends the first start's holding: from now on segments go where `instructions` say, and what
   * was held goes to the queue for every camera and rendition whose policy uploads it.
   */
  async #release(instructions: Instructions): Promise<void> {
    if (!this.#holding) return;
    this.#holding = false;
    for (const { name } of this.options.config.cameras) {
      const policy = policyOf(instructions, name);
      for (const rendition of ["full", "proxy"] as const) {
        if (uploadsContinuously(policy, rendition)) await this.#spool?.promote(name, rendition);
      }
    }
  }

  /** What the next heartbeat says. */
  report(): HeartbeatBody {
    const spool = this.#spool;
    const captured = new Map(this.#captures.map((c) => [c.name, c.status()]));
    const names = [...new Set([...captured.keys(), ...(spool?.cameras() ?? [])])].slice(0, 32);
    return {
      sentAt: new Date(this.#clocks.wall()).toISOString(),
      uptimeS: Math.round((this.#clocks.monotonic() - this.#startedAt) / 1000),
      clock: {
        ...this.#clock?.report() ?? { state: "ok", lastJumpAt: null, jumps: 0 },
        aheadMs: this.#aheadMs(),
      },
      cameras: names.map((camera) => {
        const last = this.#uploader?.lastUploadAt(camera);
        const stats = spool?.stats(camera) ??
          { queueDepth: 0, bytesPending: 0, evictedSegments: 0, evictedBytes: 0, quarantined: 0 };
        const status = captured.get(camera);
        return {
          camera,
          recordingId: status?.recordingId ?? null,
          capturing: status?.capturing ?? false,
          ...(status?.captureClock ? { captureClock: status.captureClock } : {}),
          ...stats,
          lastUploadAt: last ? new Date(last).toISOString() : null,
        };
      }),
      ...this.#policyReport(),
    };
  }

  /** The report's instructions, inventory and recalls, once the server has sent instructions. */
  #policyReport(): Partial<HeartbeatBody> {
    const instructions = this.#instructions;
    // A server from before instructions refuses fields it does not know.
    if (!instructions?.known) return {};
    return {
      instructionsVersion: instructions.current.version,
      // The server takes at most 64 of each (32 cameras, two renditions; 32 recalls under way).
      inventory: this.#spool ? inventoryOf(this.#spool.held()).slice(0, 64) : [],
      recalls: this.#recalls?.reports().slice(0, 64) ?? [],
    };
  }

  /** How far the wall clock is ahead of the server's, to the nearest 10 ms; null until known. */
  #aheadMs(): number | null {
    const offset = this.#serverClock.offset();
    return offset === undefined ? null : -Math.round(offset / 10) * 10 || 0;
  }

  /** Raises a vehicle event (a panic button): kept in the state dir until the server has it. */
  raiseEvent(draft: EventDraft): Promise<QueuedEvent> {
    if (!this.#events) throw new TypeError("Cannot raise an event before the agent started");
    return this.#events.raise(draft);
  }

  /** Stops everything in order; safe to call twice (the second call waits for the first). */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#log.info("agent stopping");
      await this.#starting?.catch(() => {});
      this.#clock?.close();
      await this.#instructions?.close();
      await this.#trigger?.close();
      await this.#events?.close();
      await this.#live?.close();
      await Promise.all(this.#captures.map((capture) => capture.close()));
      const drainMs = this.options.config.stopDrainSeconds * 1000;
      if (this.#uploader && drainMs > 0) await this.#uploader.drain(drainMs);
      await this.#uploader?.close();
      await this.#recalls?.close();
      await this.#spool?.saveSent().catch(() => {});
      await this.#heartbeat?.close();
      // A last report (cameras no longer capturing), but do not hold the shutdown for it.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.#heartbeat?.send(),
        new Promise((resolve) => timer = setTimeout(resolve, 3_000)),
      ]);
      clearTimeout(timer);
      this.#log.info("agent stopped", {
        queued: this.#spool?.size ?? 0,
        bytesPending: this.#spool?.bytes ?? 0,
      });
    })();
    return this.#closing;
  }
}
