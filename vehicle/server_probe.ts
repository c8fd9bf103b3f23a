/**
 * Watching for the server's return: while uploads wait out a network error, a cheap
 * `GET /healthz` about once a second (one at a time, each with a timeout) says as soon as the
 * server answers again, so that the backlog does not sit out the rest of a long back-off.
 */
import { sleep } from "./backoff.ts";

/** Options of {@linkcode ServerProbe}. */
export interface ServerProbeOptions {
  serverUrl: string;
  /** Called when the server answers after a probe found it unreachable. */
  onReturn: () => void;
  /** Mean pause between probes, jittered by ±25 % (default 1 s). */
  intervalMs?: number;
  /** Longest wait for one answer (default 2 s). */
  timeoutMs?: number;
  random?: () => number;
}

/**
 * Probes the server's liveness while asked to. A probe that answers 2xx counts as the server's
 * return only after a probe found it unreachable: an upload that fails while `/healthz` answers
 * (a path the network breaks, a body too large for the link) keeps its back-off.
 *
 * @example
 * const probe = new ServerProbe({ serverUrl, onReturn: () => uploader.serverReachable("probe") });
 * probe.watch(() => gateClosedForNetworkErrors());
 */
export class ServerProbe {
  readonly #stop = new AbortController();
  #loop: Promise<void> | undefined;
  #away = false;

  constructor(private readonly options: ServerProbeOptions) {}

  /** Probes while `wanted()` holds, until the server returns; does nothing if already probing. */
  watch(wanted: () => boolean): void {
    if (this.#loop || this.#stop.signal.aborted) return;
    this.#loop = this.#run(wanted).finally(() => this.#loop = undefined);
  }

  /** Stops probing and waits for the probe in flight; safe to call twice. */
  async close(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
  }

  /** One probe: true if the server answered 2xx within the timeout. */
  async check(): Promise<boolean> {
    try {
      const response = await fetch(`${this.options.serverUrl}/healthz`, {
        signal: AbortSignal.any([
          this.#stop.signal,
          AbortSignal.timeout(this.options.timeoutMs ?? 2_000),
        ]),
      });
      await response.body?.cancel();
      return response.ok;
    } catch {
      return false;
    }
  }

  async #run(wanted: () => boolean): Promise<void> {
    const { intervalMs = 1_000, random = Math.random } = this.options;
    while (!this.#stop.signal.aborted && wanted()) {
      await sleep(intervalMs * (0.75 + random() / 2), this.#stop.signal);
      if (this.#stop.signal.aborted || !wanted()) return;
      if (!await this.check()) {
        this.#away = true;
        continue;
      }
      // The server answers: either it is back, or it never left and the failures lie elsewhere.
      if (this.#away && !this.#stop.signal.aborted) {
        this.#away = false;
        this.options.onReturn();
      }
      return;
    }
  }
}
