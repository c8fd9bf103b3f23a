/**
 * Text the playlist writers emit many thousands of times: dates, durations, XML attributes. Each
 * is a constant-time function of its input, so a writer stays linear in the segments it writes.
 */

const MINUTE_MS = 60_000;
let cachedMinute = NaN;
let cachedMinutePrefix = "";

/**
 * An instant as ISO 8601 UTC with milliseconds (`2026-11-24T03:48:25.120Z`), as HLS wants for
 * EXT-X-PROGRAM-DATE-TIME and DASH for xs:dateTime. Same text as `Date#toISOString` for the
 * years 0–9999; the date, hour and minute are formatted once per minute, not once per call.
 */
export function isoDateTime(ms: number): string {
  const t = Math.round(ms);
  const minute = Math.floor(t / MINUTE_MS);
  if (minute !== cachedMinute) {
    cachedMinute = minute;
    cachedMinutePrefix = new Date(minute * MINUTE_MS).toISOString().slice(0, 17);
  }
  const rest = t - minute * MINUTE_MS;
  const seconds = Math.floor(rest / 1000);
  return `${cachedMinutePrefix}${pad2(seconds)}.${pad3(rest - seconds * 1000)}Z`;
}

/** Whole milliseconds as seconds with exactly three decimals: `2000` → `"2.000"`. */
export function decimalSeconds(ms: number): string {
  const whole = Math.floor(ms / 1000);
  return `${whole}.${pad3(ms - whole * 1000)}`;
}

/**
 * Milliseconds as an xs:duration in seconds, shortest exact form: `2000` → `"PT2S"`,
 * `7200500` → `"PT7200.5S"`.
 */
export function xsDuration(ms: number): string {
  const t = Math.round(ms);
  const whole = Math.floor(t / 1000);
  const millis = t - whole * 1000;
  if (millis === 0) return `PT${whole}S`;
  return `PT${whole}.${pad3(millis).replace(/0+$/, "")}S`;
}

const XML_SPECIAL = /[&<>"']/;
const XML_ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
};

/** Text made safe inside a double-quoted XML attribute. */
export function xmlAttribute(value: string): string {
  if (!XML_SPECIAL.test(value)) return value;
  return value.replace(/[&<>"']/g, (c) => XML_ENTITIES[c]);
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

function pad3(n: number): string {
  return n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`;
}

/**
 * Collects a writer's output and hands it to `write` in chunks of about 64 KiB, so a sink that
 * does work per call (a stream, a socket) is not called once per line. Each chunk is joined from
 * its pieces in one go: one flat string, which encodes fast, rather than a rope of thousands of
 * concatenations that must be flattened first.
 */
export class ChunkedSink {
  #pieces: string[] = [];
  #length = 0;

  constructor(private readonly write: (chunk: string) => void, private readonly size = 65_536) {}

  push(text: string): void {
    this.#pieces.push(text);
    this.#length += text.length;
    if (this.#length >= this.size) this.flush();
  }

  flush(): void {
    if (this.#length === 0) return;
    const chunk = this.#pieces.join("");
    this.#pieces = [];
    this.#length = 0;
    this.write(chunk);
  }
}
