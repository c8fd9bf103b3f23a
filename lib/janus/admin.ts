/**
 * The Janus Admin API over HTTP, bound to 127.0.0.1: handle statistics for the ABR controller
 * (RTCP receiver reports of each viewer) and server information.
 */
import { JanusError } from "./errors.ts";

/** What the ABR controller reads of one viewer's outgoing video, from Janus's RTCP. */
export interface OutboundVideoStats {
  /** Packets the viewer reported lost (cumulative). */
  lostByRemote: number;
  /** Interarrival jitter the viewer reported, in milliseconds. */
  jitterRemoteMs: number;
  /** Round-trip time from RTCP, in milliseconds. */
  rttMs: number;
  /** Packets Janus sent (cumulative). */
  packetsSent: number;
  /** Bytes Janus sent in the last second. */
  bytesLastSecond: number;
  /** Janus's link quality estimate for this direction, 0–100 (100: no loss). */
  outLinkQuality: number;
  /**
   * Packets the viewer NACKed (cumulative): Janus counts them in `stats.in.nacks` of a
   * send-only medium (`stats.out.nacks` are the NACKs Janus sent, none for a viewer).
   */
  nacksReceived: number;
}

/** A client of one Janus's Admin API. */
export class JanusAdmin {
  constructor(readonly baseUrl: string, readonly secret: string) {}

  async #post(path: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        ...body,
        transaction: crypto.randomUUID(),
        admin_secret: this.secret,
      }),
      signal: AbortSignal.timeout(5_000),
    });
    const reply = await response.json() as Record<string, unknown>;
    if (reply.janus === "error") {
      const error = reply.error as { code: number; reason: string };
      throw new JanusError(error.code, error.reason);
    }
    return reply;
  }

  /** The raw `handle_info` of a handle. */
  async handleInfo(sessionId: number, handleId: number): Promise<Record<string, unknown>> {
    const reply = await this.#post(`/admin/${sessionId}/${handleId}`, { janus: "handle_info" });
    return reply.info as Record<string, unknown>;
  }

  /** Outgoing video statistics of a handle, or null before media flows. */
  async outboundVideo(sessionId: number, handleId: number): Promise<OutboundVideoStats | null> {
    return outboundVideoStats(await this.handleInfo(sessionId, handleId));
  }
}

/** Extracts the outgoing video statistics from a `handle_info` reply. */
export function outboundVideoStats(info: Record<string, unknown>): OutboundVideoStats | null {
  const webrtc = info.webrtc as { media?: Record<string, Record<string, unknown>> } | undefined;
  for (const medium of Object.values(webrtc?.media ?? {})) {
    if (medium.type !== "video") continue;
    const main = ((medium.rtcp ?? {}) as { main?: Record<string, number> }).main ?? {};
    const stats = (medium.stats ?? {}) as {
      in?: Record<string, number>;
      out?: Record<string, number>;
    };
    const out = stats.out ?? {};
    return {
      lostByRemote: Number(main["lost-by-remote"] ?? 0),
      jitterRemoteMs: Number(main["jitter-remote"] ?? 0),
      rttMs: Number(main.rtt ?? 0),
      packetsSent: Number(out.packets ?? 0),
      bytesLastSecond: Number(out.bytes_lastsec ?? 0),
      outLinkQuality: Number(main["out-link-quality"] ?? 100),
      nacksReceived: Number(stats.in?.nacks ?? 0),
    };
  }
  return null;
}
