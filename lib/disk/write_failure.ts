/**
 * Telling a write that failed because of the storage itself (full, over quota, failing,
 * read-only) from one that failed because of what was written or a bug.
 */
import { InsufficientStorageError } from "../errors/mod.ts";

/** errno codes of storage that refuses writes, and what they mean. */
const CODES: Record<string, string> = {
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EIO: "input/output error",
  EROFS: "read-only file system",
};
/** Linux errno numbers of the same, as Deno's messages end: `(os error 28)`. */
const ERRNOS: Record<string, string> = { 28: "ENOSPC", 122: "EDQUOT", 5: "EIO", 30: "EROFS" };
/** How SQLite (node:sqlite) and tools such as ffmpeg say the same in words. */
const WORDS: Array<[RegExp, string]> = [
  [/database or disk is full/i, "database or disk is full (SQLITE_FULL)"],
  [/disk I\/O error/i, "disk I/O error (SQLITE_IOERR)"],
  [/attempt to write a readonly database/i, "read-only database (SQLITE_READONLY)"],
  [/No space left on device/i, "no space left on device (ENOSPC)"],
  [/Disk quota exceeded/i, "disk quota exceeded (EDQUOT)"],
  [/Read-only file system/i, "read-only file system (EROFS)"],
];

/**
 * Why storage refused a write, e.g. `no space left on device (ENOSPC)`; undefined when `error`
 * (or its causes) is not such a failure.
 *
 * @example if (writeFailureOf(error)) disk.report("bus", error);
 */
export function writeFailureOf(error: unknown): string | undefined {
  let current = error;
  for (let depth = 0; current instanceof Error && depth < 5; depth++) {
    if (current instanceof InsufficientStorageError) return current.reason;
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && code in CODES) return `${CODES[code]} (${code})`;
    const errno = /\(os error (\d+)\)/.exec(current.message)?.[1];
    if (errno && errno in ERRNOS) return `${CODES[ERRNOS[errno]]} (${ERRNOS[errno]})`;
    const words = WORDS.find(([pattern]) =>
      pattern.test(current instanceof Error ? current.message : "")
    );
    if (words) return words[1];
    current = current.cause;
  }
  return undefined;
}

/** Where components report writes that storage refused; the part that counts and watches them. */
export interface WriteFailureSink {
  /**
   * Records that `component` (`bus`, `catalog`, `objects`, `slates`) could not write because of
   * the storage; returns false, recording nothing, when `error` is not such a failure.
   */
  report(component: string, error: unknown): boolean;
}
