const BOXES = new Set(["ftyp", "styp", "moof", "sidx", "emsg", "prft", "moov"]);

/** "fmp4" for ISO BMFF, "mpegts" for MPEG-TS, undefined for anything else. */
export function sniffMediaType(bytes: Uint8Array): "fmp4" | "mpegts" | undefined {
  if (bytes.byteLength >= 8) {
    const size = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0);
    const type = String.fromCharCode(...bytes.subarray(4, 8));
    if (BOXES.has(type) && (size === 1 || size >= 8)) return "fmp4";
  }
  if (
    bytes.byteLength >= 188 && bytes[0] === 0x47 &&
    (bytes.byteLength < 376 || bytes[188] === 0x47) &&
    (bytes.byteLength < 564 || bytes[376] === 0x47)
  ) return "mpegts";
  return undefined;
}
