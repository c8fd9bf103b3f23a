/**
 * RFC 6381 `codecs` strings of video sample entries, from their decoder configuration records
 * (ISO/IEC 14496-15: `avcC` for H.264, `hvcC` for H.265).
 */
import { MediaFormatError } from "./errors.ts";

/**
 * `avc1.PPCCLL` from an AVCDecoderConfigurationRecord: profile, constraint flags and level as
 * two lowercase hex digits each (ISO/IEC 14496-15 Annex E.2 via RFC 6381 3.3).
 *
 * @example avcCodec("avc1", avcC) // "avc1.64001f"
 */
export function avcCodec(entryType: string, avcC: Uint8Array): string {
  if (avcC.length < 4 || avcC[0] !== 1) {
    throw new MediaFormatError(`Cannot read "avcC" of "${entryType}": not a version 1 record`);
  }
  return `${entryType}.${hex2(avcC[1])}${hex2(avcC[2])}${hex2(avcC[3])}`;
}

/**
 * `hvc1.[A-C]P.C.TL.B…` from an HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 Annex E.3):
 * profile space letter and profile, the compatibility flags bit-reversed in hex, tier (L/H) and
 * level, then the six constraint bytes in hex without the trailing zero ones.
 *
 * @example hevcCodec("hvc1", hvcC) // "hvc1.1.6.L93.B0"
 */
export function hevcCodec(entryType: string, hvcC: Uint8Array): string {
  if (hvcC.length < 13 || hvcC[0] !== 1) {
    throw new MediaFormatError(`Cannot read "hvcC" of "${entryType}": not a version 1 record`);
  }
  const profileSpace = hvcC[1] >> 6;
  const tier = (hvcC[1] >> 5) & 1 ? "H" : "L";
  const profile = hvcC[1] & 0x1f;
  const compatibility = ((hvcC[2] << 24) | (hvcC[3] << 16) | (hvcC[4] << 8) | hvcC[5]) >>> 0;
  const constraints = Array.from(hvcC.subarray(6, 12));
  while (constraints.length > 0 && constraints[constraints.length - 1] === 0) constraints.pop();
  const level = hvcC[12];
  return [
    entryType,
    `${["", "A", "B", "C"][profileSpace]}${profile}`,
    reverseBits32(compatibility).toString(16).toUpperCase(),
    `${tier}${level}`,
    ...constraints.map((byte) => byte.toString(16).toUpperCase().padStart(2, "0")),
  ].join(".");
}

function hex2(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}

function reverseBits32(value: number): number {
  let reversed = 0;
  for (let i = 0; i < 32; i++) {
    reversed = (reversed << 1) | ((value >>> i) & 1);
  }
  return reversed >>> 0;
}
