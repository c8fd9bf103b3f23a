/** Stops every child process a benchmark started, also when it is interrupted (Ctrl-C). */

const running = new Set<() => Promise<void>>();
let listening = false;

/** Remembers `child` so an interrupt stops it; returns it unchanged. */
export function supervise<T extends { stop(): Promise<void> }>(child: T): T {
  running.add(child.stop);
  child.stop = ((stop) => () => {
    running.delete(stop);
    return stop();
  })(child.stop);
  if (!listening) {
    listening = true;
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      Deno.addSignalListener(signal, async () => {
        await Promise.allSettled([...running].map((stop) => stop()));
        Deno.exit(130);
      });
    }
  }
  return child;
}
