/**
 * One client connection relayed to the server over loopback, with the gate's per-connection
 * policy: a deadline for each request head, an idle timeout, a size cap on the client's WebSocket
 * messages, and no more reading of a body the server refused before reading it.
 */
import { RequestFraming } from "./request_framing.ts";
import { ResponseWatch } from "./response_watch.ts";
import { CLOSE_MESSAGE_TOO_BIG, WebSocketFrameGuard } from "./websocket_frames.ts";
import type { ClientConn } from "./tls_conn.ts";

/** Time limits and the WebSocket message cap of one relayed connection. */
export interface RelayLimits {
  /** A request head must arrive within this of the connection opening or its first byte. */
  headerTimeoutMs: number;
  /** A connection with no bytes either way for this long is closed (HTTP keep-alive). */
  idleTimeoutMs: number;
  /** The same for a WebSocket (the server pings its sockets every 60 s). */
  webSocketIdleTimeoutMs: number;
  /** Largest WebSocket message (or single frame) a client may send. */
  maxWebSocketMessageBytes: number;
}

/** Why the gate closed a connection (a metric label). */
export const CLOSE_REASONS = [
  "header_timeout",
  "idle",
  "message_too_big",
  "malformed",
  "refused_body",
] as const;
/** One of {@linkcode CLOSE_REASONS}. */
export type CloseReason = typeof CLOSE_REASONS[number];

const SMALL_BUFFER = 4 * 1024;
const LARGE_BUFFER = 64 * 1024;
/**
 * After a last answer, how long the gate keeps the connection without reading from it: closing
 * with unread bytes sends a reset, which can destroy the answer before the client has read it.
 */
const LINGER_MS = 1_000;

const REQUEST_TIMEOUT = closing("408 Request Timeout", "Request head not received in time\n");

/** Relays bytes both ways between a client and the loopback server until either side ends. */
export class ConnectionRelay {
  readonly #client: ClientConn;
  readonly #upstream: Deno.Conn;
  readonly #limits: RelayLimits;
  readonly #onClosed: (reason: CloseReason) => void;
  readonly #framing = new RequestFraming();
  readonly #answers = new ResponseWatch(() => this.#framing.inBody);
  #mode: "http" | "tunnel" | "refused" | "lingering" = "http";
  #guard: WebSocketFrameGuard | undefined;
  #lastActivity = performance.now();
  #headStartedAt: number | undefined = performance.now();
  #headsSeen = 0;
  #lingerUntil = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  #closed = false;
  #clientEnded = false;
  #upgrade: PromiseWithResolvers<boolean> | undefined;
  #answered = Promise.withResolvers<void>();
  #ended = Promise.withResolvers<void>();

  constructor(
    clientConn: ClientConn,
    upstream: Deno.Conn,
    limits: RelayLimits,
    onClosed: (reason: CloseReason) => void,
  ) {
    this.#client = clientConn;
    this.#upstream = upstream;
    this.#limits = limits;
    this.#onClosed = onClosed;
  }

  /** Relays until both directions have ended; never throws. */
  async run(): Promise<void> {
    this.#schedule(this.#lastActivity + this.#limits.headerTimeoutMs);
    await Promise.all([this.#clientToServer(), this.#serverToClient()]);
    if (this.#mode === "lingering") await this.#ended.promise;
    this.close();
  }

  /** Closes both sides now (idempotent). */
  close(reason?: CloseReason): void {
    if (this.#closed) return;
    this.#closed = true;
    if (reason) this.#onClosed(reason);
    clearTimeout(this.#timer);
    this.#upgrade?.resolve(false);
    this.#answered.resolve();
    this.#ended.resolve();
    for (const conn of [this.#client, this.#upstream]) {
      try {
        conn.close();
      } catch { /* already closed */ }
    }
  }

  async #clientToServer(): Promise<void> {
    let buffer = new Uint8Array(SMALL_BUFFER);
    while (!this.#closed) {
      const n = await read(this.#client, buffer);
      if (n === null) {
        this.#clientEnded = true;
        if (this.#mode === "lingering") this.close(); // the client has read what it wanted
        break;
      }
      this.#lastActivity = performance.now();
      const chunk = buffer.subarray(0, n);
      if (this.#mode === "refused" || this.#mode === "lingering") {
        // Read no more (the client's sending stalls on a full window); the timer closes.
        await this.#answered.promise;
        return;
      }
      const ok = this.#mode === "tunnel" ? await this.#tunnel(chunk) : await this.#request(chunk);
      if (!ok) return;
      // Grow the buffer for bulk transfers; idle connections keep a small one.
      if (n === buffer.length && buffer.length < LARGE_BUFFER) {
        buffer = new Uint8Array(LARGE_BUFFER);
      } else if (n < SMALL_BUFFER && buffer.length > SMALL_BUFFER) {
        buffer = new Uint8Array(SMALL_BUFFER);
      }
    }
    if (this.#mode !== "lingering" && this.#mode !== "refused") {
      try {
        await this.#upstream.closeWrite();
      } catch { /* already closed */ }
    }
  }

  /** Follows and forwards client bytes of HTTP requests; false when the connection ended. */
  async #request(chunk: Uint8Array): Promise<boolean> {
    let offset = 0;
    while (offset < chunk.length) {
      const step = this.#framing.feed(chunk.subarray(offset));
      if (this.#framing.heads > this.#headsSeen) {
        this.#headsSeen = this.#framing.heads;
        this.#answers.expectAnswer();
      }
      if (step.error) {
        const body = `Cannot read request: ${step.error.reason}\n`;
        const status = step.error.status === 431
          ? `431 Request Header Fields Too Large`
          : "400 Bad Request";
        await this.#answerAndClose(closing(status, body), "malformed");
        return false;
      }
      this.#trackHeadDeadline();
      if (!await write(this.#upstream, chunk.subarray(offset, offset + step.consumed))) {
        return false;
      }
      offset += step.consumed;
      if (this.#framing.phase === "upgrade") {
        // Read no further until the server says whether the connection becomes a WebSocket.
        this.#upgrade = Promise.withResolvers<boolean>();
        const upgraded = await this.#upgrade.promise;
        this.#upgrade = undefined;
        if (this.#closed) return false;
        if (upgraded) return this.#tunnel(chunk.subarray(offset));
        this.#framing.resume();
      }
    }
    return true;
  }

  /** Checks client WebSocket frames and forwards them; false when the connection ended. */
  async #tunnel(chunk: Uint8Array): Promise<boolean> {
    if (chunk.length === 0) return true;
    this.#guard ??= new WebSocketFrameGuard(this.#limits.maxWebSocketMessageBytes);
    const tooBig = this.#guard.feed(chunk);
    if (tooBig) {
      try {
        this.#upstream.close();
      } catch { /* closed */ }
      await this.#answerAndClose(CLOSE_MESSAGE_TOO_BIG, "message_too_big");
      return false;
    }
    return write(this.#upstream, chunk);
  }

  async #serverToClient(): Promise<void> {
    let buffer = new Uint8Array(SMALL_BUFFER);
    while (!this.#closed) {
      const n = await read(this.#upstream, buffer);
      if (n === null) break;
      this.#lastActivity = performance.now();
      const chunk = buffer.subarray(0, n);
      let ended = false;
      if (this.#mode === "http" || this.#mode === "refused") {
        const event = this.#answers.feed(chunk);
        if (event.status === 101) {
          this.#mode = "tunnel";
          this.#schedule(this.#lastActivity + this.#limits.webSocketIdleTimeoutMs);
        }
        if (event.status !== undefined && event.status !== 101) {
          this.#upgrade?.resolve(false);
          // Answered before the body was read (401, 413, ...): read no more of it.
          if (this.#framing.inBody) this.#mode = "refused";
        }
        if (event.ended) ended = true;
        if (event.status === 101) this.#upgrade?.resolve(true);
      }
      if (!await write(this.#client, chunk)) break;
      if (ended) {
        this.#linger("refused_body");
        return;
      }
      if (n === buffer.length && buffer.length < LARGE_BUFFER) {
        buffer = new Uint8Array(LARGE_BUFFER);
      } else if (n < SMALL_BUFFER && buffer.length > SMALL_BUFFER) {
        buffer = new Uint8Array(SMALL_BUFFER);
      }
    }
    // The server closed (or its side failed): let the client read what was sent, then close.
    if (this.#clientEnded) this.close();
    else this.#linger();
  }

  /** Half-closes towards the client, then reads and drops its bytes for a bounded time. */
  #linger(reason?: CloseReason): void {
    if (this.#closed || this.#mode === "lingering") return;
    if (reason) this.#onClosed(reason);
    this.#mode = "lingering";
    this.#answered.resolve();
    try {
      this.#upstream.close();
    } catch { /* closed */ }
    this.#client.closeWrite().catch(() => this.close());
    this.#lingerUntil = performance.now() + LINGER_MS;
    this.#schedule(this.#lingerUntil);
  }

  /** Writes a last answer (bounded in time), then closes. */
  async #answerAndClose(bytes: Uint8Array, reason: CloseReason): Promise<void> {
    this.#onClosed(reason);
    this.#mode = "lingering";
    this.#lingerUntil = performance.now() + LINGER_MS;
    this.#schedule(this.#lingerUntil);
    if (await write(this.#client, bytes)) {
      this.#client.closeWrite().catch(() => this.close());
    }
    try {
      this.#upstream.close();
    } catch { /* closed */ }
    this.#answered.resolve();
  }

  /** Arms the header deadline when a request head starts, disarms it when the head ends. */
  #trackHeadDeadline(): void {
    if (this.#framing.phase === "head") {
      if (this.#headStartedAt === undefined) {
        this.#headStartedAt = this.#lastActivity;
        this.#schedule(this.#headStartedAt + this.#limits.headerTimeoutMs);
      }
    } else this.#headStartedAt = undefined;
  }

  #schedule(at: number): void {
    if (this.#closed || at >= this.#timerAt) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => this.#tick(), Math.max(0, at - performance.now()) + 1);
  }

  #tick(): void {
    this.#timerAt = Infinity;
    const now = performance.now();
    if (this.#mode === "lingering") {
      if (now >= this.#lingerUntil) return this.close();
      return this.#schedule(this.#lingerUntil);
    }
    if (this.#mode === "http" && this.#headStartedAt !== undefined) {
      const deadline = this.#headStartedAt + this.#limits.headerTimeoutMs;
      if (now >= deadline) {
        if (this.#framing.phase === "head") {
          void this.#answerAndClose(REQUEST_TIMEOUT, "header_timeout");
        } else this.close("header_timeout");
        return;
      }
      this.#schedule(deadline);
    }
    const idle = this.#mode === "tunnel"
      ? this.#limits.webSocketIdleTimeoutMs
      : this.#limits.idleTimeoutMs;
    if (now - this.#lastActivity >= idle) return this.close("idle");
    this.#schedule(this.#lastActivity + idle);
  }
}

async function read(conn: Pick<Deno.Conn, "read">, buffer: Uint8Array): Promise<number | null> {
  try {
    return await conn.read(buffer);
  } catch {
    return null;
  }
}

async function write(conn: Pick<Deno.Conn, "write">, bytes: Uint8Array): Promise<boolean> {
  try {
    let at = 0;
    while (at < bytes.length) at += await conn.write(bytes.subarray(at));
    return true;
  } catch {
    return false;
  }
}

function closing(status: string, body: string): Uint8Array {
  return new TextEncoder().encode(
    `HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: text/plain\r\n` +
      `Content-Length: ${body.length}\r\n\r\n${body}`,
  );
}
