/** Object storage of segment bytes: the filesystem embedded, S3 at scale. */
import { parseStorageUrl } from "../config/mod.ts";
import { FsObjectStore } from "./fs_store.ts";
import { S3ObjectStore } from "./s3_store.ts";
import type { ObjectStore } from "./types.ts";

export * from "./types.ts";
export { BodyTooLargeError, DigestMismatchError, IncompleteBodyError } from "./errors.ts";
export { FsObjectStore } from "./fs_store.ts";
export { S3ObjectStore, type S3StoreOptions } from "./s3_store.ts";

/**
 * Opens the object store named by `url` (`STORAGE_URL`): `file:<dir>` (embedded) or
 * `s3://<bucket>?endpoint=…&region=…&forcePathStyle=1`, with credentials from the AWS chain.
 *
 * @example const store = openObjectStore("file:./data/objects");
 */
export function openObjectStore(url: string): ObjectStore {
  let target;
  try {
    target = parseStorageUrl(url);
  } catch (error) {
    throw new TypeError(`Cannot open the object store: STORAGE_URL ${(error as Error).message}`);
  }
  if (target.kind === "file") return new FsObjectStore(target.dir);
  const { kind: _, ...options } = target;
  return new S3ObjectStore(options);
}
