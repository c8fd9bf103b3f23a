/**
 * A load process of a live benchmark: a Deno child running one of the `live_*_main.ts` scripts,
 * driven by JSON lines on its stdin and answering with JSON lines on its stdout. Load lives in
 * its own process so that its CPU and memory are not counted as the server's (or the driver's).
 * A worker exits when its stdin ends; `stop()` closes stdin, then kills after a grace period.
 */
import { supervise } from "./children.ts";

/** A message a worker printed. */
export type WorkerMessage = Record<string, unknown>;

/** A running worker. */
export interface LiveWorker extends AsyncDisposable {
  pid: number;
  /** Every message printed so far that no `next()` took. */
  messages: WorkerMessage[];
  send(message: WorkerMessage): Promise<void>;
  /** The first message (already printed, or to come) matching `predicate`; removes it. */
  next(predicate: (m: WorkerMessage) => boolean, timeoutMs?: number): Promise<WorkerMessage>;
  stop(): Promise<void>;
}

/** Starts `deno run -A <script> ...args` from this folder. */
export function startWorker(script: string, args: string[] = []): LiveWorker {
  const path = new URL(script, import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", path, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = child.stdin.getWriter();
  const encoder = new TextEncoder();
  const messages: WorkerMessage[] = [];
  let wake: Array<() => void> = [];
  let ended = false;
  const pump = (async () => {
    let buffer = "";
    for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) {
      buffer += text;
      let newline;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (line.startsWith("{")) messages.push(JSON.parse(line));
      }
      for (const w of wake.splice(0)) w();
    }
  })().catch(() => {}).finally(() => {
    ended = true;
    for (const w of wake.splice(0)) w();
  });

  const next = (predicate: (m: WorkerMessage) => boolean, timeoutMs = 60_000) =>
    new Promise<WorkerMessage>((resolve, reject) => {
      const deadline = Date.now() + timeoutMs;
      let settled = false; // a settled wait must not take (and lose) later messages
      const check = () => {
        if (settled) return;
        const index = messages.findIndex(predicate);
        settled = index >= 0 || ended || Date.now() > deadline;
        if (index >= 0) return resolve(messages.splice(index, 1)[0]);
        if (ended) return reject(new Error(`Worker ${script} exited`));
        if (Date.now() > deadline) {
          return reject(
            new Error(
              `Worker ${script}: no matching message in ${timeoutMs} ms; last: ${
                JSON.stringify(messages.slice(-3)).slice(0, 600)
              }`,
            ),
          );
        }
        wake.push(check);
        setTimeout(() => {
          wake = wake.filter((w) => w !== check);
          check();
        }, Math.min(1_000, Math.max(1, deadline - Date.now())));
      };
      check();
    });

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      await writer.close().catch(() => {});
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
      }, 10_000);
      await child.status;
      clearTimeout(timer);
      await pump;
    })();
    return stopped;
  };
  const worker: LiveWorker = supervise({
    pid: child.pid,
    messages,
    send: (message) => writer.write(encoder.encode(JSON.stringify(message) + "\n")),
    next,
    stop,
    [Symbol.asyncDispose]: () => worker.stop(),
  });
  return worker;
}

/** In a worker: yields each JSON line of stdin, and ends when stdin does. */
export async function* commands(): AsyncGenerator<WorkerMessage> {
  let buffer = "";
  for await (const text of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    buffer += text;
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (line) yield JSON.parse(line);
    }
  }
}

/** In a worker: prints one message for the parent. */
export function reply(message: WorkerMessage): void {
  const bytes = new TextEncoder().encode(JSON.stringify(message) + "\n");
  for (let at = 0; at < bytes.length;) at += Deno.stdout.writeSync(bytes.subarray(at));
}
