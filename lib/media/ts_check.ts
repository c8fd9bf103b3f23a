/**
 * Whether an MPEG-TS segment (ISO/IEC 13818-1) can be played back as far as ingest reads it:
 * whole 188-byte packets, each opening on the sync byte.
 */
import { MediaFormatError } from "./errors.ts";

const PACKET = 188;
const SYNC = 0x47;

/**
 * Throws MediaFormatError naming what is wrong when `bytes` is not a run of whole transport
 * stream packets.
 *
 * @example checkTransportStream(await Deno.readFile("0000000042.ts"));
 */
export function checkTransportStream(bytes: Uint8Array): void {
  if (bytes.length === 0 || bytes.length % PACKET !== 0) {
    throw new MediaFormatError(
      `Cannot use transport stream: its ${bytes.length} bytes are not whole 188-byte packets`,
    );
  }
  for (let at = 0; at < bytes.length; at += PACKET) {
    if (bytes[at] !== SYNC) {
      throw new MediaFormatError(
        `Cannot use transport stream: packet ${at / PACKET + 1} (byte ${at}) does not open ` +
          "on the sync byte 0x47",
      );
    }
  }
}
