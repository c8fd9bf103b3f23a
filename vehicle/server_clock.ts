/**
 * The server's clock as the vehicle knows it. Every response from the server states its time
 * (`Motorcade-Time`, milliseconds; else `Date`, whole seconds); each exchange is a sample
 * `offset = serverTime − (sent + received) / 2`, with the round trip measured on the monotonic
 * clock. The sample with the shortest round trip of a recent window wins: its error is at most
 * half its round trip. The estimate is kept against the monotonic clock, so a jump of the wall
 * clock (NTP or GPS stepping it, a driver setting it) changes what the wall clock is off by, but
 * never what the server's time is.
 */
import { type Clocks, SYSTEM_CLOCKS } from "./clock.ts";

/** The response header stating the server's time (see lib/http/server_time.ts). */
export const SERVER_TIME_HEADER = "motorcade-time";

/** What a queue entry remembers of the clocks when it was harvested, to be corrected later. */
export interface ClockStamp {
  /** The agent run whose monotonic clock `wallMinusMonoMs` refers to. */
  clockRun: string;
  /** The vehicle's wall clock minus the monotonic clock at harvest. */
  wallMinusMonoMs: number;
  /** Server clock minus the vehicle's wall clock at harvest, if it was known then. */
  serverOffsetMs?: number;
}

/** Options of {@linkcode ServerClock}. */
export interface ServerClockOptions {
  clocks?: Clocks;
  /** Samples older than this (monotonic) give way to newer ones; 10 minutes by default. */
  windowMs?: number;
  /** Samples kept at most; 64 by default. */
  maxSamples?: number;
}

interface Sample {
  /** Monotonic time the response arrived. */
  at: number;
  /** Round trip, plus the header's own resolution. */
  uncertaintyMs: number;
  /** Server time minus monotonic time. */
  serverMinusMono: number;
}

/** Learns the offset of the vehicle's clock to the server's from the server's responses. */
export class ServerClock {
  /** This agent run: monotonic times of one run mean nothing in another. */
  readonly run: string = crypto.randomUUID();
  readonly #clocks: Clocks;
  readonly #windowMs: number;
  readonly #maxSamples: number;
  #samples: Sample[] = [];
  #best: Sample | undefined;

  constructor(options: ServerClockOptions = {}) {
    this.#clocks = options.clocks ?? SYSTEM_CLOCKS;
    this.#windowMs = options.windowMs ?? 10 * 60_000;
    this.#maxSamples = options.maxSamples ?? 64;
  }

  /** Whether any response stated the server's time yet. */
  get known(): boolean {
    return this.#best !== undefined;
  }

  /** Half the round trip of the sample in use (how wrong the estimate can be); undefined if none. */
  get uncertaintyMs(): number | undefined {
    return this.#best && this.#best.uncertaintyMs / 2;
  }

  /**
   * Learns from one exchange: `serverMs` stated by the server, the request sent and the response
   * received at monotonic `sentMono` and `receivedMono`.
   */
  sample(serverMs: number, sentMono: number, receivedMono: number, resolutionMs = 0): void {
    if (!Number.isFinite(serverMs) || !(receivedMono >= sentMono)) return;
    const rtt = receivedMono - sentMono;
    const sample: Sample = {
      at: receivedMono,
      uncertaintyMs: rtt + resolutionMs,
      // The server stamped its time somewhere in the round trip: assume the middle.
      serverMinusMono: serverMs + resolutionMs / 2 - (sentMono + receivedMono) / 2,
    };
    this.#samples.push(sample);
    const oldest = receivedMono - this.#windowMs;
    this.#samples = this.#samples.filter((s) => s.at >= oldest).slice(-this.#maxSamples);
    this.#best = this.#samples.reduce((a, b) => (b.uncertaintyMs <= a.uncertaintyMs ? b : a));
  }

  /** Learns from a response's `Motorcade-Time` (or `Date`) header; false if it had neither. */
  observe(response: Response, sentMono: number, receivedMono: number): boolean {
    const stated = response.headers.get(SERVER_TIME_HEADER);
    if (stated !== null && /^\d{1,16}$/.test(stated)) {
      this.sample(Number(stated), sentMono, receivedMono);
      return true;
    }
    const date = Date.parse(response.headers.get("date") ?? "");
    if (!Number.isFinite(date)) return false;
    this.sample(date, sentMono, receivedMono, 1000);
    return true;
  }

  /** `fetch`, learning the server's time from the response. */
  fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const sent = this.#clocks.monotonic();
    const response = await fetch(input, init);
    this.observe(response, sent, this.#clocks.monotonic());
    return response;
  };

  /** The server's time now; the vehicle's wall clock while it is not known. */
  now(): number {
    return this.#best ? this.#clocks.monotonic() + this.#best.serverMinusMono : this.#clocks.wall();
  }

  /** Server clock minus the vehicle's wall clock now; undefined while not known. */
  offset(): number | undefined {
    if (!this.#best) return undefined;
    return this.#clocks.monotonic() + this.#best.serverMinusMono - this.#clocks.wall();
  }

  /** What a queue entry keeps, at harvest, to have its wall-clock times corrected later. */
  stamp(): ClockStamp {
    const wallMinusMonoMs = this.#clocks.wall() - this.#clocks.monotonic();
    const serverOffsetMs = this.offset();
    return {
      clockRun: this.run,
      wallMinusMonoMs,
      ...(serverOffsetMs === undefined ? {} : { serverOffsetMs: Math.round(serverOffsetMs) }),
    };
  }

  /**
   * A vehicle wall-clock time on the server's clock, or undefined when it cannot be known. Given
   * the stamp of its harvest, a time of this run is related through the monotonic clock (so it
   * is corrected even if no offset was known when it was captured, and a later wall-clock jump
   * does not touch it); a time of an earlier run takes the offset known at its harvest.
   */
  correct(wallMs: number, stamp?: Partial<ClockStamp>): number | undefined {
    if (!Number.isFinite(wallMs)) return undefined;
    if (stamp?.clockRun === this.run && Number.isFinite(stamp.wallMinusMonoMs) && this.#best) {
      return Math.round(wallMs - stamp.wallMinusMonoMs! + this.#best.serverMinusMono);
    }
    if (Number.isFinite(stamp?.serverOffsetMs)) return wallMs + stamp!.serverOffsetMs!;
    if (stamp === undefined) {
      const offset = this.offset();
      return offset === undefined ? undefined : Math.round(wallMs + offset);
    }
    return undefined;
  }
}
