/**
 * The pre-roll of a live layer: the H.264 RTP packets of the current GOP (from its keyframe on),
 * kept while the WebRTC connection is still being set up. Sent the moment it is up, it gives the
 * remote a keyframe at once instead of up to a GOP later. Its timestamps are packed just before
 * the newest frame's (1 ms apart), so the remote decodes the old frames quickly and plays the
 * newest one on time: no latency is added.
 */

/** H.264 NAL unit types that start a keyframe: SPS (sent before each IDR) and IDR itself. */
const KEYFRAME_NALS = new Set([5, 7]);
/** Largest pre-roll kept (a GOP of 1080p at 3 Mbit/s is ~300 packets). */
const MAX_PACKETS = 2_000;
/** Step between the packed timestamps: 1 ms at H.264's 90 kHz clock. */
const PACKED_STEP = 90;

/** Where an RTP packet's payload begins (after CSRCs and a header extension). */
function payloadOffset(packet: Uint8Array): number {
  let offset = 12 + 4 * (packet[0] & 0x0f);
  if (packet[0] & 0x10 && packet.length >= offset + 4) {
    offset += 4 + 4 * ((packet[offset + 2] << 8) | packet[offset + 3]);
  }
  return offset;
}

/**
 * True when an H.264 RTP packet (RFC 6184) starts a keyframe: a single SPS or IDR NAL unit, a
 * STAP-A whose first unit is one, or the first fragment (FU-A) of an IDR.
 *
 * @example startsKeyframe(packet) // true for the SPS ffmpeg sends before each IDR
 */
export function startsKeyframe(packet: Uint8Array): boolean {
  const at = payloadOffset(packet);
  if (packet.length <= at) return false;
  const type = packet[at] & 0x1f;
  if (type === 24) return packet.length > at + 3 && KEYFRAME_NALS.has(packet[at + 3] & 0x1f);
  if (type === 28) {
    return packet.length > at + 1 && (packet[at + 1] & 0x80) !== 0 &&
      KEYFRAME_NALS.has(packet[at + 1] & 0x1f);
  }
  return KEYFRAME_NALS.has(type);
}

const timestampOf = (packet: Uint8Array) =>
  new DataView(packet.buffer, packet.byteOffset, packet.byteLength).getUint32(4);

/** One layer's GOP so far, until it is taken. */
export class PreRoll {
  #packets: Uint8Array[] = [];
  #keyframeTimestamp: number | null = null;

  /** Keeps `packet`; a new keyframe drops the GOP before it. Packets before any keyframe are not kept. */
  push(packet: Uint8Array): void {
    if (packet.length < 12) return;
    const timestamp = timestampOf(packet);
    if (startsKeyframe(packet) && timestamp !== this.#keyframeTimestamp) {
      this.#packets = [];
      this.#keyframeTimestamp = timestamp;
    }
    if (this.#keyframeTimestamp === null || this.#packets.length >= MAX_PACKETS) return;
    this.#packets.push(packet);
  }

  /** Packets kept (for tests and logs). */
  get size(): number {
    return this.#packets.length;
  }

  /**
   * The GOP so far, from its keyframe, with the timestamps packed 1 ms apart ending at the newest
   * frame's own; empties the pre-roll.
   */
  take(): Uint8Array[] {
    const packets = this.#packets;
    this.#packets = [];
    this.#keyframeTimestamp = null;
    if (packets.length === 0) return packets;
    const frames: number[] = [];
    for (const packet of packets) {
      const timestamp = timestampOf(packet);
      if (frames.at(-1) !== timestamp) frames.push(timestamp);
    }
    const newest = frames.at(-1)!;
    const packed = new Map(
      frames.map((t, i) => [t, (newest - (frames.length - 1 - i) * PACKED_STEP) >>> 0]),
    );
    return packets.map((packet) => {
      const copy = packet.slice();
      new DataView(copy.buffer).setUint32(4, packed.get(timestampOf(packet))!);
      return copy;
    });
  }
}
