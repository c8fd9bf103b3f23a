/** Files on disk, for tests that check what a server or a vehicle left behind. */

/** Every file under `dir` (relative paths), none when it does not exist. */
export async function filesUnder(dir: string, at = ""): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const entry of Deno.readDir(`${dir}/${at}`)) {
      const path = at ? `${at}/${entry.name}` : entry.name;
      if (entry.isDirectory) out.push(...await filesUnder(dir, path));
      else out.push(path);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return out;
}
