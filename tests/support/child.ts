/**
 * Following a child process the tests start (server, vehicle agent): every line of its stdout and
 * stderr to `onLine`, and one `stop` that signals it and waits for its exit and its last output.
 */
import { readLines } from "../../lib/process/mod.ts";

/** Stops the child with `signal` (once; later calls get the same status). */
export type StopChild = (signal?: Deno.Signal) => Promise<Deno.CommandStatus>;

/** Reads the child's output line by line (whole lines, however long) and returns its `stop`. */
export function followChild(child: Deno.ChildProcess, onLine: (line: string) => void): StopChild {
  const all = Number.POSITIVE_INFINITY;
  const pumps = Promise.all([
    readLines(child.stdout, onLine, all),
    readLines(child.stderr, onLine, all),
  ]);
  let stopped: Promise<Deno.CommandStatus> | undefined;
  return (signal = "SIGTERM") => {
    stopped ??= (async () => {
      try {
        child.kill(signal);
      } catch { /* already gone */ }
      const status = await child.status;
      await pumps;
      return status;
    })();
    return stopped;
  };
}
