/**
 * Child processes the platform and the vehicle run (Janus, ffmpeg): reading their output line by
 * line, and stopping them — a polite signal first, SIGKILL if they do not exit in time.
 */

/**
 * Calls `onLine` for every non-empty line of `stream` (split on `\n` or `\r`, as ffmpeg's progress
 * output uses both), lines cut at `maxLength`; resolves when the stream ends or breaks.
 */
export async function readLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
  maxLength = 4096,
): Promise<void> {
  const decoder = new TextDecoder();
  let buffer = "";
  const emit = (line: string) => {
    if (line.trim()) onLine(line.slice(0, maxLength));
  };
  try {
    for await (const chunk of stream) {
      buffer += decoder.decode(chunk, { stream: true });
      const parts = buffer.split(/[\r\n]/);
      buffer = parts.pop()!.slice(-maxLength);
      parts.forEach(emit);
    }
  } catch {
    // the pipe closed: the process is gone
  }
  emit(buffer);
}

/** Sends `signal` to `child`, then SIGKILL after `graceMs`; resolves with its exit status. */
export function stopProcess(
  child: Deno.ChildProcess,
  signal: Deno.Signal,
  graceMs: number,
): Promise<Deno.CommandStatus> {
  const send = (s: Deno.Signal) => {
    try {
      child.kill(s);
    } catch {
      // already exited
    }
  };
  send(signal);
  const timer = setTimeout(() => send("SIGKILL"), graceMs);
  return child.status.finally(() => clearTimeout(timer));
}
