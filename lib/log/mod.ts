/** Structured logging: one JSON object per line on stdout (stderr for warnings and errors). */

/** Severity of a log record. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Writes structured records; `child` adds fields to every record it writes. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

/** Where records go; tests pass an array's `push` to capture them. */
export type LogSink = (record: Record<string, unknown>) => void;

const encoder = new TextEncoder();

/** Default sink: JSON lines, errors and warnings on stderr. */
export const consoleSink: LogSink = (record) => {
  const line = encoder.encode(JSON.stringify(record, errorReplacer) + "\n");
  try {
    (RANK[record.level as LogLevel] >= RANK.warn ? Deno.stderr : Deno.stdout).writeSync(line);
  } catch { /* output on a full disk, or closed: a record lost never stops the server */ }
};

function errorReplacer(_key: string, value: unknown) {
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}

/** Creates a logger writing records at `level` and above to `sink`. */
export function createLogger(
  level: LogLevel = "info",
  sink: LogSink = consoleSink,
  base: Record<string, unknown> = {},
): Logger {
  const write = (at: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (RANK[at] < RANK[level]) return;
    sink({ time: new Date().toISOString(), level: at, msg, ...base, ...fields });
  };
  return {
    debug: (msg, fields) => write("debug", msg, fields),
    info: (msg, fields) => write("info", msg, fields),
    warn: (msg, fields) => write("warn", msg, fields),
    error: (msg, fields) => write("error", msg, fields),
    child: (fields) => createLogger(level, sink, { ...base, ...fields }),
  };
}

/** A logger that drops everything, for tests and benchmarks that do not read logs. */
export const silentLogger: Logger = createLogger("error", () => {});
