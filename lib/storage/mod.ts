/** Object storage of segment bytes: the filesystem embedded, S3 at scale. */
import { FsObjectStore } from "./fs_store.ts";
import type { ObjectStore } from "./types.ts";

export * from "./types.ts";
export { BodyTooLargeError, DigestMismatchError, IncompleteBodyError } from "./errors.ts";
export { FsObjectStore } from "./fs_store.ts";

/**
 * Opens the object store named by `url`: `file:<dir>` (embedded).
 *
 * @example const store = openObjectStore("file:./data/objects");
 */
export function openObjectStore(url: string): ObjectStore {
  if (url.startsWith("file:")) return new FsObjectStore(url.slice("file:".length));
  throw new TypeError(`Cannot open object store "${url}": unsupported scheme`);
}
