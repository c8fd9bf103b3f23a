/**
 * The admin CLI: `deno task ctl <command> <verb> [arguments] [--json]`. It works directly on the
 * catalog the server's configuration names; the commands live in `lib/ctl/`.
 */
import { runCtl } from "./lib/ctl/mod.ts";

async function writeAll(file: typeof Deno.stdout, text: string): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  for (let done = 0; done < bytes.length;) done += await file.write(bytes.subarray(done));
}

if (import.meta.main) {
  Deno.exit(
    await runCtl(Deno.args, {
      stdout: { write: (text) => writeAll(Deno.stdout, text) },
      stderr: { write: (text) => writeAll(Deno.stderr, text) },
      get stdin() {
        return Deno.stdin.readable;
      },
      env: Deno.env.toObject(),
    }),
  );
}
