/**
 * Janus's media statistics as its sample event handler (`libjanus_sampleevh`) posts them: every
 * `stats_period` seconds, one media event (type 32, subtype 3) per PeerConnection medium with,
 * among others, `remb-bitrate` — the bitrate in the last REMB the peer sent Janus, i.e. the
 * receiver's own bandwidth estimate of its downlink (Chromium sends REMB because the Streaming
 * plugin offers goog-remb; Janus's Admin API `handle_info` does not show it). The sink is an HTTP
 * listener on 127.0.0.1 that only Janus can post to: basic auth with a secret of the platform's
 * own, bodies bounded.
 */
import type { Logger } from "../log/mod.ts";

/** One viewer medium's statistics from a Janus media event. */
export interface JanusMediaStats {
  /** Janus session and handle the PeerConnection belongs to. */
  sessionId: number;
  handleId: number;
  /** "video" or "audio". */
  media: string;
  /** The peer's last REMB in bits/s; absent when it sent none. */
  rembBitrate?: number;
}

const MEDIA_EVENT = 32;
const MEDIA_STATS_SUBTYPE = 3;

/** The user name Janus's event handler posts with (the password is the sink's secret). */
export const JANUS_EVENTS_USER = "janus";

/** Largest body the sink reads, in bytes (a grouped post of a few hundred media events). */
export const JANUS_EVENTS_MAX_BODY = 1 << 20;

function id(value: unknown): number | null {
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0 ? value : null;
}

/**
 * The media statistics in a body Janus posted (one event, or an array when grouping); anything
 * else — other event types, missing ids, garbage — is skipped and counted in `ignored`.
 */
export function parseMediaStats(body: unknown): { stats: JanusMediaStats[]; ignored: number } {
  const events = Array.isArray(body) ? body : [body];
  const stats: JanusMediaStats[] = [];
  let ignored = 0;
  for (const event of events) {
    const e = event as Record<string, unknown> | null;
    const inner = e?.event as Record<string, unknown> | null | undefined;
    const sessionId = id(e?.session_id);
    const handleId = id(e?.handle_id);
    if (
      typeof e !== "object" || e === null || e.type !== MEDIA_EVENT ||
      e.subtype !== MEDIA_STATS_SUBTYPE || sessionId === null || handleId === null ||
      typeof inner !== "object" || inner === null || typeof inner.media !== "string"
    ) {
      ignored += 1;
      continue;
    }
    const remb = inner["remb-bitrate"];
    stats.push({
      sessionId,
      handleId,
      media: inner.media,
      ...(typeof remb === "number" && Number.isFinite(remb) && remb > 0
        ? { rembBitrate: remb }
        : {}),
    });
  }
  return { stats, ignored };
}

/** Options of {@linkcode JanusEventSink.start}. */
export interface JanusEventSinkOptions {
  /** Port on 127.0.0.1; 0 for any free one. */
  port: number;
  /** The password Janus posts with; random when not given. */
  secret?: string;
  logger: Logger;
  /** Called with each post's media statistics. */
  onMediaStats(stats: JanusMediaStats[]): void;
  /** Largest body read, in bytes; {@linkcode JANUS_EVENTS_MAX_BODY} by default. */
  maxBodyBytes?: number;
}

/** Where Janus's event handler posts, with what credentials. */
export interface JanusEventBackend {
  url: string;
  user: string;
  secret: string;
}

/** The loopback listener Janus's sample event handler posts its media events to. */
export class JanusEventSink implements JanusEventBackend {
  readonly user = JANUS_EVENTS_USER;
  #expected: string;

  private constructor(
    readonly url: string,
    readonly secret: string,
    readonly server: Deno.HttpServer<Deno.NetAddr>,
    expected: string,
  ) {
    this.#expected = expected;
  }

  /** Listens on 127.0.0.1:`port`; resolves once it accepts connections. */
  static async start(options: JanusEventSinkOptions): Promise<JanusEventSink> {
    const secret = options.secret ?? crypto.randomUUID();
    const expected = `Basic ${btoa(`${JANUS_EVENTS_USER}:${secret}`)}`;
    const max = options.maxBodyBytes ?? JANUS_EVENTS_MAX_BODY;
    const { logger } = options;
    const listening = Promise.withResolvers<Deno.NetAddr>();
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port: options.port,
      onListen: (addr) => listening.resolve(addr as Deno.NetAddr),
    }, async (request) => {
      if (request.headers.get("authorization") !== expected) {
        await request.body?.cancel();
        return new Response("Unauthorized", {
          status: 401,
          headers: { "www-authenticate": 'Basic realm="janus-events"' },
        });
      }
      if (request.method !== "POST") return new Response("Method Not Allowed", { status: 405 });
      const text = await readBounded(request, max);
      if (text === null) return new Response("Payload Too Large", { status: 413 });
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        logger.debug("janus event not JSON", { bytes: text.length });
        return new Response(null, { status: 204 });
      }
      const { stats, ignored } = parseMediaStats(body);
      if (ignored) logger.debug("janus events ignored", { ignored, kept: stats.length });
      if (stats.length) {
        try {
          options.onMediaStats(stats);
        } catch (error) {
          logger.warn("janus media stats failed", { error: (error as Error).message });
        }
      }
      return new Response(null, { status: 204 });
    });
    const addr = await listening.promise;
    const url = `http://127.0.0.1:${addr.port}/`;
    logger.info("janus events listening", { url });
    return new JanusEventSink(url, secret, server, expected);
  }

  /** Stops listening. */
  async close(): Promise<void> {
    await this.server.shutdown();
  }
}

/** The request's body as text, or null when it is over `max` bytes. */
async function readBounded(request: Request, max: number): Promise<string | null> {
  const length = Number(request.headers.get("content-length") ?? NaN);
  if (length > max) {
    await request.body?.cancel();
    return null;
  }
  if (!request.body) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request.body) {
    size += chunk.byteLength;
    if (size > max) return null;
    chunks.push(chunk);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.byteLength;
  }
  return new TextDecoder().decode(all);
}
