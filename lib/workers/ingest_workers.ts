/**
 * Ingest workers (`INGEST_WORKERS=N`): N-1 threads beside the server's own, each with its own
 * connection gate listening on the same port (`SO_REUSEPORT`: the kernel spreads new connections
 * over the N listeners). A worker answers uploads itself (checks, digest, object store) with its
 * own catalog connection, and hands every other request, and every bus event, to the server's
 * thread: the embedded log bus keeps its one writer, the indexer and the live service their one
 * home. A worker that fails is started again; an upload it held unanswered is retried by the
 * vehicle, and an answered one was on the bus before its answer left.
 */
import { writeFailureOf } from "../disk/mod.ts";
import type { Broadcast } from "../broadcast/mod.ts";
import type { EventBus } from "../bus/mod.ts";
import type { Logger } from "../log/mod.ts";
import {
  FORWARDED_PEER_HEADER,
  type FromWorker,
  type ListenerLimits,
  type ToWorker,
} from "./messages.ts";

/** Options of {@linkcode IngestWorkers.start}. */
export interface IngestWorkersOptions {
  /** Worker threads to start (`INGEST_WORKERS` - 1). */
  count: number;
  /** The worker thread's module (`ingest_worker.ts` beside `main.ts`). */
  entry: URL;
  /** The process's configuration variables. */
  env: Record<string, string>;
  hostname: string;
  /** The public port, already listened on by the server's gate with `reusePort`. */
  port: number;
  tls?: { cert: string; key: string };
  /** Limits of each worker's listener (see {@linkcode shareLimits}). */
  limits: ListenerLimits;
  /** The server thread's bus and broadcast, which the workers' relay to. */
  bus: EventBus;
  broadcast: Broadcast;
  /** The server thread's handler, for the requests workers forward. */
  handler: Deno.ServeHandler<Deno.NetAddr>;
  logger: Logger;
}

const RESTART_MIN_MS = 100;
const RESTART_MAX_MS = 5_000;
const STOP_TIMEOUT_MS = 30_000;

/** One worker thread and what it subscribed to. */
interface Running {
  worker: Worker;
  channels: Set<string>;
  unsubscribe: Array<() => void>;
  stopped?: PromiseWithResolvers<void>;
}

/**
 * Splits a process's connection limits over `listeners` listeners (each enforces its share: the
 * descriptors are the process's), at least one connection each.
 */
export function shareLimits(limits: ListenerLimits, listeners: number): ListenerLimits {
  return {
    ...limits,
    maxConnections: Math.max(1, Math.floor(limits.maxConnections / listeners)),
    maxConnectionsPerClient: Math.max(1, Math.floor(limits.maxConnectionsPerClient / listeners)),
  };
}

/** The ingest worker threads of one server process. */
export class IngestWorkers implements AsyncDisposable {
  readonly #options: IngestWorkersOptions;
  readonly #secret = crypto.randomUUID();
  readonly #workers: Array<Running | undefined> = [];
  readonly #restarts: number[] = [];
  #forward!: Deno.HttpServer<Deno.NetAddr>;
  #closing = false;
  #closed: Promise<void> | undefined;

  private constructor(options: IngestWorkersOptions) {
    this.#options = options;
  }

  /** Starts the forward listener and `count` workers; resolves once each listens. */
  static async start(options: IngestWorkersOptions): Promise<IngestWorkers> {
    const workers = new IngestWorkers(options);
    workers.#forward = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      workers.#forwarded,
    );
    try {
      await Promise.all(Array.from({ length: options.count }, (_, i) => workers.#spawn(i)));
    } catch (error) {
      await workers.close();
      throw error;
    }
    return workers;
  }

  /** Worker threads running now. */
  get running(): number {
    return this.#workers.filter(Boolean).length;
  }

  /** Times each worker was started again after failing. */
  get restarts(): readonly number[] {
    return this.#restarts;
  }

  /**
   * Ends worker `index` at once, as a crash would (its connections drop, its unanswered uploads
   * are the vehicles' to retry); it is started again like a worker that failed.
   */
  crash(index: number): void {
    const running = this.#workers[index];
    if (!running) throw new RangeError(`No ingest worker ${index} is running`);
    this.#failed(index, running, "ended by crash()");
  }

  /** Answers a request a worker forwarded, as coming from the client it names. */
  #forwarded = (request: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) => {
    const claim = request.headers.get(FORWARDED_PEER_HEADER) ?? "";
    const space = claim.indexOf(" ");
    if (space < 0 || claim.slice(0, space) !== this.#secret) {
      return new Response("Only this server's ingest workers forward here\n", { status: 403 });
    }
    const remoteAddr = JSON.parse(claim.slice(space + 1)) as Deno.NetAddr;
    const headers = new Headers(request.headers);
    headers.delete(FORWARDED_PEER_HEADER);
    return this.#options.handler(new Request(request, { headers }), {
      remoteAddr,
      get completed() {
        return info.completed;
      },
    });
  };

  async #spawn(index: number): Promise<void> {
    const options = this.#options;
    const worker = new Worker(options.entry.href, { type: "module", name: `ingest-${index}` });
    const running: Running = { worker, channels: new Set(), unsubscribe: [] };
    this.#workers[index] = running;
    const listening = Promise.withResolvers<void>();
    const send = (message: ToWorker) => worker.postMessage(message);
    worker.onmessage = (event: MessageEvent<FromWorker>) => {
      const message = event.data;
      switch (message.type) {
        case "listening":
          return listening.resolve();
        case "failed":
          return listening.reject(new Error(`Ingest worker ${index}: ${message.error}`));
        case "publish":
          return void options.bus.publish(message.topic, message.key, message.value).then(
            () => send({ type: "published", id: message.id }),
            (error) => {
              const reason = writeFailureOf(error);
              send({
                type: "published",
                id: message.id,
                failure: {
                  message: error instanceof Error ? error.message : String(error),
                  reason,
                  retryAfterSeconds: (error as { retryAfterSeconds?: number }).retryAfterSeconds,
                },
              });
            },
          );
        case "subscribe":
          if (running.channels.has(message.channel)) return;
          running.channels.add(message.channel);
          running.unsubscribe.push(
            options.broadcast.subscribe(
              message.channel,
              (text) => send({ type: "broadcast", channel: message.channel, message: text }),
            ),
          );
          return;
        case "broadcast":
          return options.broadcast.publish(message.channel, message.message);
        case "stopped":
          return running.stopped?.resolve();
      }
    };
    worker.onerror = (event) => {
      event.preventDefault();
      listening.reject(new Error(`Ingest worker ${index} failed: ${event.message}`));
      this.#failed(index, running, event.message);
    };
    send({
      type: "start",
      index,
      env: options.env,
      hostname: options.hostname,
      port: options.port,
      tls: options.tls,
      limits: options.limits,
      forwardPort: this.#forward.addr.port,
      secret: this.#secret,
    });
    await listening.promise;
  }

  /** Forgets a failed worker and starts another in its place, backing off if it keeps failing. */
  #failed(index: number, running: Running, why: string): void {
    if (this.#workers[index] !== running) return;
    this.#workers[index] = undefined;
    running.unsubscribe.forEach((stop) => stop());
    running.worker.terminate();
    if (this.#closing) return;
    this.#restarts[index] = (this.#restarts[index] ?? 0) + 1;
    const wait = Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** (this.#restarts[index] - 1));
    this.#options.logger.error("ingest worker failed; starting it again", {
      worker: index,
      error: why,
      restartInMs: wait,
    });
    setTimeout(async () => {
      if (this.#closing) return;
      try {
        await this.#spawn(index);
        this.#options.logger.info("ingest worker started again", { worker: index });
      } catch (error) {
        this.#options.logger.error("ingest worker did not start again", {
          worker: index,
          error: String(error),
        });
      }
    }, wait);
  }

  /**
   * Stops every worker: each stops listening, finishes its requests in flight (their events
   * still reach the bus: close workers before the bus), and ends; then the forward listener.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing = true;
      await Promise.all(this.#workers.map(async (running, index) => {
        if (!running) return;
        running.stopped = Promise.withResolvers<void>();
        running.worker.postMessage({ type: "stop" } satisfies ToWorker);
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          running.stopped.promise,
          new Promise((resolve) => timer = setTimeout(resolve, STOP_TIMEOUT_MS)),
        ]);
        clearTimeout(timer);
        running.unsubscribe.forEach((stop) => stop());
        running.worker.terminate();
        this.#workers[index] = undefined;
      }));
      await this.#forward.shutdown().catch(() => {});
    })();
    return this.#closed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
