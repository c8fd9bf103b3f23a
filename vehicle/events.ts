/**
 * Vehicle events (a panic button, a telematics trigger): each one is written to an outbox folder
 * in the state dir (one JSON file, written whole then renamed, so a crash leaves it complete or
 * absent) and posted to `POST /api/v1/device/events` under its own id until the server has it, so
 * an event raised offline, or while the agent is stopped, reaches the server later, and a post
 * retried after a lost answer is not counted twice. `vehicle event --kind panic` writes to the
 * same folder; the running agent sends it within a second.
 */
import type { Logger } from "../lib/log/mod.ts";
import { type BackoffPolicy, fullJitter, NETWORK_BACKOFF, sleep } from "./backoff.ts";
import type { TokenSource } from "./uploader.ts";

/** An event as queued and as posted: the body of `POST /api/v1/device/events`. */
export interface QueuedEvent {
  /** The vehicle's own id of the event (the server's idempotency key). */
  id: string;
  kind: string;
  /** RFC 3339. */
  at: string;
  metadata?: Record<string, unknown>;
}

/** What raising an event takes; `at` defaults to now. */
export interface EventDraft {
  kind: string;
  at?: Date;
  metadata?: Record<string, unknown>;
}

/** Event kinds the server accepts. */
const KIND = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** Most bytes of metadata the server accepts. */
const METADATA_MAX_BYTES = 4096;
/** Answers that will not change on a retry: the event is set aside in `rejected/`. */
const REFUSED = new Set([400, 403, 404, 409, 413, 415, 422]);

/**
 * Writes an event into the outbox folder `dir` and returns it; refuses (TypeError) a kind or
 * metadata the server would refuse, so the mistake shows where the event is raised.
 *
 * @example
 * await queueEvent(`${stateDir}/events`, { kind: "panic", metadata: { button: "driver" } });
 */
export async function queueEvent(
  dir: string,
  draft: EventDraft,
  now = new Date(),
): Promise<QueuedEvent> {
  if (!KIND.test(draft.kind)) {
    throw new TypeError(`Cannot raise event of kind "${draft.kind}": must match ${KIND.source}`);
  }
  const bytes = new TextEncoder().encode(JSON.stringify(draft.metadata ?? {})).byteLength;
  if (bytes > METADATA_MAX_BYTES) {
    throw new TypeError(
      `Cannot raise event of kind "${draft.kind}": its metadata takes ${bytes} bytes, more than ${METADATA_MAX_BYTES}`,
    );
  }
  const random = Array.from(
    crypto.getRandomValues(new Uint8Array(4)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  const event: QueuedEvent = {
    id: `e-${now.getTime()}-${random}`,
    kind: draft.kind,
    at: (draft.at ?? now).toISOString(),
    ...(draft.metadata ? { metadata: draft.metadata } : {}),
  };
  await Deno.mkdir(dir, { recursive: true });
  const temporary = `${dir}/.${event.id}.tmp`;
  await Deno.writeTextFile(temporary, JSON.stringify(event));
  await Deno.rename(temporary, `${dir}/${event.id}.json`);
  return event;
}

/** Options of {@linkcode EventOutbox}. */
export interface EventOutboxOptions {
  /** The outbox folder (`<state>/events`). */
  dir: string;
  serverUrl: string;
  tokens: TokenSource;
  logger: Logger;
  fetch?: typeof fetch;
  /** How often the folder is looked at for events other processes wrote; default 1 s. */
  pollMs?: number;
  backoff?: BackoffPolicy;
  /** Called when the server has an event. */
  sent?: (event: QueuedEvent, status: number) => void;
}

/** Posts the outbox's events to the server, oldest first, until closed. */
export class EventOutbox {
  readonly #stop = new AbortController();
  #wake = new AbortController();
  #loop: Promise<void> | undefined;
  #failures = 0;

  constructor(private readonly options: EventOutboxOptions) {}

  /** Raises an event: queued on disk, then sent as soon as the server can be reached. */
  async raise(draft: EventDraft): Promise<QueuedEvent> {
    const event = await queueEvent(this.options.dir, draft);
    this.#wake.abort();
    return event;
  }

  /** The ids of the events not yet sent, oldest first. */
  async pending(): Promise<string[]> {
    const ids: string[] = [];
    try {
      for await (const entry of Deno.readDir(this.options.dir)) {
        if (entry.isFile && entry.name.endsWith(".json")) ids.push(entry.name.slice(0, -5));
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    // e-<epoch ms>-<random>: the time has 13 digits until the year 2286, so names sort by time.
    return ids.sort();
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Stops after the post in hand; what is unsent stays on disk for the next start. */
  async close(): Promise<void> {
    this.#stop.abort();
    this.#wake.abort();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const { pollMs = 1_000, backoff = NETWORK_BACKOFF } = this.options;
    while (!this.#stop.signal.aborted) {
      let delay = pollMs;
      for (const id of await this.pending()) {
        if (this.#stop.signal.aborted) return;
        if (!await this.#send(id)) {
          delay = Math.max(pollMs, fullJitter(this.#failures - 1, backoff));
          break;
        }
      }
      this.#wake = new AbortController();
      await sleep(delay, AbortSignal.any([this.#stop.signal, this.#wake.signal]));
    }
  }

  /** Sends one event; false when it should be tried again later. */
  async #send(id: string): Promise<boolean> {
    const path = `${this.options.dir}/${id}.json`;
    let text;
    try {
      text = await Deno.readTextFile(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return true;
      throw error;
    }
    let event: QueuedEvent;
    try {
      event = JSON.parse(text);
    } catch {
      await this.#setAside(id, "not JSON");
      return true;
    }
    try {
      const token = await this.options.tokens.token();
      const response = await (this.options.fetch ?? fetch)(
        `${this.options.serverUrl}/api/v1/device/events`,
        {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify(event),
          signal: AbortSignal.any([this.#stop.signal, AbortSignal.timeout(10_000)]),
        },
      );
      const answer = await response.text();
      if (response.ok) {
        await Deno.remove(path);
        if (this.#failures) this.options.logger.info("events delivered again");
        this.#failures = 0;
        this.options.logger.info("event sent", { id, kind: event.kind, status: response.status });
        this.options.sent?.(event, response.status);
        return true;
      }
      if (response.status === 401) this.options.tokens.invalidate();
      if (REFUSED.has(response.status)) {
        await this.#setAside(id, `${response.status}: ${answer.slice(0, 300)}`);
        return true;
      }
      throw new Error(`${response.status}: ${answer.slice(0, 300)}`);
    } catch (error) {
      if (this.#stop.signal.aborted) return false;
      // Offline is normal on a vehicle: say so once, then quietly.
      const level = this.#failures++ === 0 ? "warn" : "debug";
      this.options.logger[level]("event not sent; will retry", {
        id,
        error: (error as Error).message,
      });
      return false;
    }
  }

  /** Keeps an event the server refused in `rejected/`, so it is neither lost nor resent. */
  async #setAside(id: string, reason: string): Promise<void> {
    const rejected = `${this.options.dir}/rejected`;
    await Deno.mkdir(rejected, { recursive: true });
    await Deno.rename(`${this.options.dir}/${id}.json`, `${rejected}/${id}.json`);
    this.options.logger.error("event refused by the server; kept in rejected/", { id, reason });
  }
}

/** Options of {@linkcode EventTrigger}. */
export interface EventTriggerOptions {
  /** The port on 127.0.0.1; 0 picks a free one. */
  port: number;
  /** Queues the event (the outbox's `raise`). */
  raise: (draft: EventDraft) => Promise<QueuedEvent>;
  logger: Logger;
}

/**
 * The local trigger the vehicle's telematics unit or panic button calls: `POST /events
 * {kind, at?, metadata?}` on 127.0.0.1 only answers `202 {id, kind, at}` once the event is queued
 * on disk, `400` with what is wrong otherwise.
 *
 * @example
 * // curl -d '{"kind":"panic"}' -H 'content-type: application/json' http://127.0.0.1:8787/events
 */
export class EventTrigger {
  #server: Deno.HttpServer<Deno.NetAddr> | undefined;

  constructor(private readonly options: EventTriggerOptions) {}

  /** Starts listening; resolves with the port. */
  start(): Promise<number> {
    const { promise, resolve } = Promise.withResolvers<number>();
    this.#server ??= Deno.serve({
      hostname: "127.0.0.1",
      port: this.options.port,
      onListen: ({ port }) => resolve(port),
    }, (request) => this.#handle(request));
    return promise;
  }

  async close(): Promise<void> {
    await this.#server?.shutdown();
    this.#server = undefined;
  }

  async #handle(request: Request): Promise<Response> {
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}) =>
      Response.json(body, { status, headers });
    if (new URL(request.url).pathname !== "/events") {
      return answer(404, { error: "Not found: POST /events" });
    }
    if (request.method !== "POST") {
      return answer(405, { error: `Cannot ${request.method} /events: use POST` }, {
        allow: "POST",
      });
    }
    let body: Record<string, unknown>;
    try {
      body = await request.json();
      if (typeof body !== "object" || body === null || Array.isArray(body)) throw new TypeError();
    } catch {
      return answer(400, { error: 'The body must be a JSON object such as {"kind": "panic"}' });
    }
    const { kind, at, metadata, ...rest } = body;
    const problems: string[] = [];
    if (typeof kind !== "string") problems.push('"kind" must be a string');
    const when = at === undefined ? undefined : new Date(String(at));
    if (when && Number.isNaN(when.getTime())) problems.push('"at" must be an RFC 3339 time');
    if (
      metadata !== undefined &&
      (typeof metadata !== "object" || metadata === null || Array.isArray(metadata))
    ) problems.push('"metadata" must be a JSON object');
    const unknown = Object.keys(rest);
    if (unknown.length) problems.push(`unknown fields: ${unknown.join(", ")}`);
    if (problems.length) {
      return answer(400, { error: `Cannot raise event: ${problems.join("; ")}` });
    }
    try {
      const event = await this.options.raise({
        kind: kind as string,
        at: when,
        metadata: metadata as Record<string, unknown> | undefined,
      });
      this.options.logger.info("event raised", { id: event.id, kind: event.kind });
      return answer(202, { id: event.id, kind: event.kind, at: event.at });
    } catch (error) {
      if (error instanceof TypeError) return answer(400, { error: error.message });
      throw error;
    }
  }
}
