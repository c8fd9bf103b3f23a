/**
 * Follows HTTP/1.1 request framing on a client's byte stream without buffering bodies: where each
 * request head ends, how long its body is (`Content-Length` or chunked), whether it asks for an
 * upgrade. The connection gate uses it for its header deadline and to notice early refusals.
 */

const CR = 13;
const LF = 10;
/** Longest request head the gate follows; a longer one is refused (431). */
export const MAX_HEAD_BYTES = 64 * 1024;
/** Longest chunk-size or trailer line followed in a chunked body. */
const MAX_LINE_BYTES = 4096;

/** Where in its framing the client's stream is. */
export type RequestPhase = "between" | "head" | "body" | "upgrade";

/** What feeding a chunk found: how far it got, and whether the stream is wrong. */
export interface FramingStep {
  /** Bytes of the chunk consumed; fewer than its length when an upgrade head ended (pause). */
  consumed: number;
  /** Why the stream cannot be followed (too long a head, bad length); then close. */
  error?: { status: 400 | 431; reason: string };
}

/** Follows one connection's requests, chunk by chunk, in O(1) memory per body byte. */
export class RequestFraming {
  #phase: RequestPhase = "between";
  #head: Uint8Array[] = [];
  #headBytes = 0;
  #headMatch = 0; // 1 after a line end, 2 after a line end and CR
  #remaining = 0; // body bytes left when length-delimited
  #chunked: ChunkedBody | undefined;
  #heads = 0;

  /** How many request heads have ended so far. */
  get heads(): number {
    return this.#heads;
  }

  /** Where the stream is now. */
  get phase(): RequestPhase {
    return this.#phase;
  }

  /** True while a request body is still expected from the client. */
  get inBody(): boolean {
    return this.#phase === "body";
  }

  /** Consumes `bytes`; stops right after a head asking for an upgrade (phase `upgrade`). */
  feed(bytes: Uint8Array): FramingStep {
    let i = 0;
    while (i < bytes.length) {
      if (this.#phase === "upgrade") return { consumed: i };
      if (this.#phase === "between") {
        this.#phase = "head";
        this.#head = [];
        this.#headBytes = 0;
        this.#headMatch = 0;
      }
      if (this.#phase === "head") {
        const start = i;
        let ended = false;
        // The head ends at an empty line: LF, then LF or CR LF (CRLFCRLF, or bare LFs).
        for (; i < bytes.length; i++) {
          const b = bytes[i];
          if (b === LF) {
            if (this.#headMatch >= 1) {
              i++;
              ended = true;
              break;
            }
            this.#headMatch = 1;
          } else if (b === CR && this.#headMatch === 1) this.#headMatch = 2;
          else if (b !== CR) this.#headMatch = 0;
        }
        this.#headBytes += i - start;
        if (this.#headBytes > MAX_HEAD_BYTES) {
          return { consumed: i, error: { status: 431, reason: "request head too long" } };
        }
        this.#head.push(bytes.slice(start, i));
        if (ended) {
          const error = this.#endHead();
          if (error) return { consumed: i, error };
        }
        continue;
      }
      // body
      if (this.#chunked) {
        const step = this.#chunked.feed(bytes, i);
        if (step.error) return { consumed: step.end, error: { status: 400, reason: step.error } };
        i = step.end;
        if (step.done) this.#finishBody();
      } else {
        const take = Math.min(this.#remaining, bytes.length - i);
        this.#remaining -= take;
        i += take;
        if (this.#remaining === 0) this.#finishBody();
      }
    }
    return { consumed: i };
  }

  /** After an upgrade head: the server refused the upgrade, so framing resumes. */
  resume(): void {
    if (this.#phase === "upgrade") this.#phase = "between";
  }

  #finishBody(): void {
    this.#phase = "between";
    this.#chunked = undefined;
  }

  #endHead(): FramingStep["error"] {
    this.#heads++;
    const text = new TextDecoder("latin1").decode(concat(this.#head));
    this.#head = [];
    const lines = text.split(/\r?\n/);
    let length: number | undefined;
    let chunked = false;
    let upgrade = false;
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === "content-length") {
        if (!/^\d{1,15}$/.test(value) || (length !== undefined && length !== Number(value))) {
          return { status: 400, reason: "invalid Content-Length" };
        }
        length = Number(value);
      } else if (name === "transfer-encoding") {
        chunked = /(^|,)\s*chunked\s*$/i.test(value);
      } else if (name === "upgrade") upgrade = true;
    }
    if (chunked) {
      this.#phase = "body";
      this.#chunked = new ChunkedBody();
    } else if (length) {
      this.#phase = "body";
      this.#remaining = length;
    } else this.#phase = upgrade ? "upgrade" : "between";
    return undefined;
  }
}

/** Follows a chunked body: size lines, data, CRLF, trailers until an empty line. */
export class ChunkedBody {
  #state: "size" | "data" | "data-end" | "trailer" = "size";
  #line = "";
  #remaining = 0;

  /** Consumes `bytes` from `from`; `end` is where it stopped, `done` once the body ended. */
  feed(bytes: Uint8Array, from: number): { end: number; done?: boolean; error?: string } {
    let i = from;
    while (i < bytes.length) {
      if (this.#state === "data") {
        const take = Math.min(this.#remaining, bytes.length - i);
        this.#remaining -= take;
        i += take;
        if (this.#remaining === 0) this.#state = "data-end";
        continue;
      }
      const b = bytes[i++];
      if (b !== LF) {
        if (b !== CR) this.#line += String.fromCharCode(b);
        if (this.#line.length > MAX_LINE_BYTES) return { end: i, error: "chunk line too long" };
        continue;
      }
      const line = this.#line;
      this.#line = "";
      if (this.#state === "data-end") {
        if (line !== "") return { end: i, error: "chunk not followed by CRLF" };
        this.#state = "size";
      } else if (this.#state === "size") {
        const size = /^([0-9a-fA-F]{1,12})\s*(;.*)?$/.exec(line);
        if (!size) return { end: i, error: "invalid chunk size" };
        this.#remaining = parseInt(size[1], 16);
        this.#state = this.#remaining === 0 ? "trailer" : "data";
      } else if (line === "") return { end: i, done: true };
    }
    return { end: i };
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
