/**
 * Reads the server's side of a relayed connection just enough to know what each answer is: an
 * interim `1xx` (the request goes on), `101` (the connection becomes a tunnel) or a final answer,
 * and, when asked, where that final answer ends. Bodies are counted, never kept.
 */
import { ChunkedBody } from "./request_framing.ts";

const LF = 10;
const MAX_RESPONSE_HEAD = 64 * 1024;

/** What a chunk of the server's bytes showed. */
export interface ResponseEvent {
  /** A status line was read: `101`, or a final (≥ 200) status. Interim 1xx are skipped. */
  status?: number;
  /** A final answer being measured (its request body was still unread) has ended. */
  ended?: boolean;
}

/** Follows the start (and, on request, the end) of the server's answers on one connection. */
export class ResponseWatch {
  #state: "idle" | "status" | "interim" | "head" | "length" | "chunked" | "done" = "idle";
  #prefix = "";
  #head: string[] = [];
  #headBytes = 0;
  #lineStart = true;
  #line = "";
  #remaining = 0;
  #chunked: ChunkedBody | undefined;
  readonly #measure: () => boolean;

  /** `measure` is asked at each final status whether to follow that answer to its end. */
  constructor(measure: () => boolean) {
    this.#measure = measure;
  }

  /** A request head went out: the next server bytes start its answer. */
  expectAnswer(): void {
    if (this.#state === "idle") this.#state = "status";
  }

  /** Follows `bytes`; reports a status seen and whether a measured answer ended. */
  feed(bytes: Uint8Array): ResponseEvent {
    const event: ResponseEvent = {};
    let i = 0;
    while (i < bytes.length) {
      switch (this.#state) {
        case "idle":
        case "done":
          return event;
        case "status": {
          while (i < bytes.length && this.#prefix.length < 12) {
            this.#prefix += String.fromCharCode(bytes[i++]);
          }
          if (this.#prefix.length < 12) return event;
          const match = /^HTTP\/1\.[01] (\d{3})$/.exec(this.#prefix);
          this.#prefix = "";
          const status = match ? Number(match[1]) : 0;
          if (status >= 100 && status < 200 && status !== 101) {
            this.#state = "interim";
            this.#lineStart = false;
            continue;
          }
          event.status = status;
          if (status === 101 || !this.#measure()) {
            this.#state = status === 101 ? "done" : "idle";
            return event;
          }
          this.#state = "head";
          this.#head = [];
          this.#headBytes = 12;
          this.#line = "";
          continue;
        }
        case "interim": {
          // Skip the interim head up to its empty line; the real answer follows.
          for (; i < bytes.length; i++) {
            const b = bytes[i];
            if (b === LF) {
              if (this.#lineStart) {
                i++;
                this.#state = "status";
                break;
              }
              this.#lineStart = true;
            } else if (b !== 13) this.#lineStart = false;
          }
          continue;
        }
        case "head": {
          for (; i < bytes.length; i++) {
            const b = bytes[i];
            if (++this.#headBytes > MAX_RESPONSE_HEAD) {
              this.#state = "done";
              event.ended = true;
              return event;
            }
            if (b !== LF) {
              if (b !== 13) this.#line += String.fromCharCode(b);
              continue;
            }
            if (this.#line === "" && this.#head.length > 0) {
              i++;
              if (this.#startBody()) {
                event.ended = true;
                return event;
              }
              break;
            }
            this.#head.push(this.#line);
            this.#line = "";
          }
          continue;
        }
        case "length": {
          const take = Math.min(this.#remaining, bytes.length - i);
          this.#remaining -= take;
          i += take;
          if (this.#remaining === 0) {
            this.#state = "done";
            event.ended = true;
          }
          continue;
        }
        case "chunked": {
          const step = this.#chunked!.feed(bytes, i);
          i = step.end;
          if (step.done || step.error) {
            this.#state = "done";
            event.ended = true;
          }
          continue;
        }
      }
    }
    return event;
  }

  /** Reads the answer's framing from its head; true when it has no body. */
  #startBody(): boolean {
    let length = 0;
    let chunked = false;
    for (const line of this.#head.slice(1)) {
      const colon = line.indexOf(":");
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === "content-length") length = Number(value) || 0;
      if (name === "transfer-encoding") chunked = /chunked\s*$/i.test(value);
    }
    this.#line = "";
    if (chunked) {
      this.#state = "chunked";
      this.#chunked = new ChunkedBody();
    } else if (length > 0) {
      this.#state = "length";
      this.#remaining = length;
    } else this.#state = "done";
    return this.#state === "done";
  }
}
