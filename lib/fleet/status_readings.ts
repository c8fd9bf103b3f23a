/**
 * Readings shared for a short while: the fleet dashboard's page, the status API and every status
 * event stream of a process read a fleet's camera activity (last segment, bytes today: two
 * aggregates per camera over the recordings and segments) once per `maxAgeMs` between them,
 * instead of once per request and per stream each second. Callers that arrive while a reading is
 * under way share it.
 */

/** Readings by key, each reused while younger than `maxAgeMs`; a failed reading is not kept. */
export class SharedReadings<T> {
  readonly #readings = new Map<string, { at: number; value: Promise<T> }>();

  constructor(readonly maxAgeMs: number, readonly maxKeys = 1_000) {}

  /** The reading of `key` younger than `maxAgeMs`, or a new one made by `read`. */
  get(key: string, read: () => Promise<T>): Promise<T> {
    const now = performance.now();
    const held = this.#readings.get(key);
    if (held && now - held.at < this.maxAgeMs) return held.value;
    if (this.#readings.size >= this.maxKeys) this.#prune(now);
    const reading = { at: now, value: read() };
    this.#readings.set(key, reading);
    reading.value.catch(() => {
      if (this.#readings.get(key) === reading) this.#readings.delete(key);
    });
    return reading.value;
  }

  /** Drops every reading older than `maxAgeMs` (all of them when none is). */
  #prune(now: number) {
    for (const [key, { at }] of this.#readings) {
      if (now - at >= this.maxAgeMs) this.#readings.delete(key);
    }
    if (this.#readings.size >= this.maxKeys) this.#readings.clear();
  }
}
