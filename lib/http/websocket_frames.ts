/**
 * Reads the headers of WebSocket frames a client sends (RFC 6455 §5.2) as they pass, counting
 * payload bytes without keeping them, so a frame or fragmented message over a cap is refused
 * before the server has read it.
 */

/** A close frame from the server (unmasked) with status 1009 "message too big". */
export const CLOSE_MESSAGE_TOO_BIG = new Uint8Array([
  0x88,
  17,
  0x03,
  0xf1,
  ...new TextEncoder().encode("message too big"),
]);

/** Follows client→server frames of one WebSocket; `feed` says when a message grows past `max`. */
export class WebSocketFrameGuard {
  readonly #max: number;
  #header = new Uint8Array(14);
  #headerBytes = 0;
  #payloadLeft = 0;
  #message = 0; // bytes of the data message being assembled (across fragments)

  constructor(maxMessageBytes: number) {
    this.#max = maxMessageBytes;
  }

  /** Follows `bytes`; returns a reason when the client is to be closed with 1009. */
  feed(bytes: Uint8Array): string | undefined {
    let i = 0;
    while (i < bytes.length) {
      if (this.#payloadLeft > 0) {
        const take = Math.min(this.#payloadLeft, bytes.length - i);
        this.#payloadLeft -= take;
        i += take;
        continue;
      }
      this.#header[this.#headerBytes++] = bytes[i++];
      const needed = this.#headerLength();
      if (this.#headerBytes < needed) continue;
      const h = this.#header;
      const opcode = h[0] & 0x0f;
      const fin = (h[0] & 0x80) !== 0;
      let length = h[1] & 0x7f;
      if (length === 126) length = (h[2] << 8) | h[3];
      else if (length === 127) {
        const high = ((h[2] << 24) >>> 0) + (h[3] << 16) + (h[4] << 8) + h[5];
        if (high > 0x1f_ffff) return "frame length over 2^53";
        length = high * 2 ** 32 + ((h[6] << 24) >>> 0) + (h[7] << 16) + (h[8] << 8) + h[9];
      }
      this.#headerBytes = 0;
      this.#payloadLeft = length;
      if (opcode >= 0x8) {
        // Control frames carry at most 125 bytes (RFC 6455 §5.5).
        if (length > 125) return `control frame of ${length} bytes`;
        continue;
      }
      this.#message = opcode === 0 ? this.#message + length : length;
      if (this.#message > this.#max) {
        return `message of ${this.#message} bytes or more (limit ${this.#max})`;
      }
      if (fin) this.#message = 0;
    }
    return undefined;
  }

  /** Header length so far known: 2, then +2 or +8 for the extended length, +4 for the mask. */
  #headerLength(): number {
    if (this.#headerBytes < 2) return 2;
    const len = this.#header[1] & 0x7f;
    const mask = (this.#header[1] & 0x80) !== 0 ? 4 : 0;
    return 2 + (len === 126 ? 2 : len === 127 ? 8 : 0) + mask;
  }
}
