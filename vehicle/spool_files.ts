/** Small file-system steps of the spool, each safe against a crash at any point. */
import type { QueueEntry } from "./queue_entry.ts";

/** Writes an entry's sidecar: to a temporary name, synced, then renamed into place. */
export async function writeSidecar(path: string, entry: QueueEntry): Promise<void> {
  await writeSynced(`${path}.tmp`, JSON.stringify(entry));
  await Deno.rename(`${path}.tmp`, path);
}

/** Writes `text` to `path` and syncs it to the disk. */
export async function writeSynced(path: string, text: string): Promise<void> {
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  const bytes = new TextEncoder().encode(text);
  let written = 0;
  while (written < bytes.length) written += await file.write(bytes.subarray(written));
  await file.syncData();
}

/** Deletes a file; one that is already gone is fine. */
export async function removeIfThere(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

/** Names of the folders in `dir`, sorted; none if `dir` does not exist. */
export async function subfolders(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const item of Deno.readDir(dir)) if (item.isDirectory) names.push(item.name);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return names.sort();
}

/** Total size of the files under `dir`. */
export async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  try {
    for await (const item of Deno.readDir(dir)) {
      const path = `${dir}/${item.name}`;
      total += item.isDirectory ? await folderBytes(path) : (await Deno.stat(path)).size;
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return total;
}

/** A JSON file's content, or undefined if it is missing or damaged. */
export async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(path)) as T;
  } catch {
    return undefined;
  }
}

/** SHA-256 of `bytes`, base64 (the form of an RFC 9530 `Content-Digest`). */
export async function sha256Base64(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  let binary = "";
  for (const byte of digest) binary += String.fromCharCode(byte);
  return btoa(binary);
}
