/**
 * Janus's own counters, for the live benchmarks: bytes it received from publishers (VideoRoom)
 * and sent to viewers (Streaming), read through its Admin API. The server keeps that API private
 * and its secret random; a benchmark reads the secret from the configuration the server wrote in
 * its data folder (`DATA_DIR/janus/janus.jcfg`). Read-only: it never changes Janus's state.
 */

/** Byte and handle totals at one moment. */
export interface JanusTotals {
  /** Bytes received on publisher handles (the vehicles' streams). */
  publishedBytes: number;
  /** Bytes sent on viewer handles. */
  sentBytes: number;
  viewers: number;
  /** NACKs viewers sent and packets Janus retransmitted. */
  nacks: number;
}

/** Reads the totals of the Janus a server started with `JANUS_PORT` = `janusPort`. */
export class JanusCounters {
  readonly #url: string;
  readonly #secret: string;

  constructor(dataDir: string, janusPort: number) {
    const config = Deno.readTextFileSync(`${dataDir}/janus/janus.jcfg`);
    const secret = /admin_secret = "([^"]+)"/.exec(config)?.[1];
    if (!secret) throw new Error(`No admin_secret in ${dataDir}/janus/janus.jcfg`);
    this.#secret = secret;
    this.#url = `http://127.0.0.1:${janusPort + 2}/admin`; // HTTP transport + 1, see the supervisor
  }

  async #post(path: string, janus: string): Promise<Record<string, unknown>> {
    const response = await fetch(this.#url + path, {
      method: "POST",
      body: JSON.stringify({ janus, transaction: crypto.randomUUID(), admin_secret: this.#secret }),
      signal: AbortSignal.timeout(5_000),
    });
    return await response.json();
  }

  async totals(): Promise<JanusTotals> {
    const totals: JanusTotals = { publishedBytes: 0, sentBytes: 0, viewers: 0, nacks: 0 };
    const sessions = ((await this.#post("", "list_sessions")).sessions ?? []) as number[];
    for (const session of sessions) {
      const handles = ((await this.#post(`/${session}`, "list_handles")).handles ?? []) as number[];
      for (const handle of handles) {
        const info = (await this.#post(`/${session}/${handle}`, "handle_info")).info as
          | Record<string, unknown>
          | undefined;
        const media = (info?.webrtc as { media?: Record<string, Record<string, unknown>> })?.media;
        for (const medium of Object.values(media ?? {})) {
          const stats = medium.stats as { in: Record<string, number>; out: Record<string, number> };
          if (!stats) continue;
          if (info!.plugin === "janus.plugin.videoroom") totals.publishedBytes += stats.in.bytes;
          if (info!.plugin === "janus.plugin.streaming") {
            totals.sentBytes += stats.out.bytes;
            totals.nacks += stats.out.nacks ?? 0;
            totals.viewers++;
          }
        }
      }
    }
    return totals;
  }
}
