/**
 * What the live benchmarks read of other processes, from /proc: resident memory, CPU time, and
 * the processes themselves (the server `startServer` ran, the Janus it supervises), found by
 * their command line since the test harness does not hand out process ids.
 */

const TICKS = 100; // clock ticks per second on Linux (getconf CLK_TCK)

/** Resident memory of `pid` in bytes (VmRSS), or NaN when it is gone. */
export function rssBytes(pid: number): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN) * 1024;
  } catch {
    return NaN;
  }
}

/** CPU seconds (user + system, threads included) `pid` has used, or NaN when it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return NaN;
  }
}

/** The command line of `pid` as arguments; empty when it is gone. */
export function commandLine(pid: number): string[] {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0").filter(Boolean);
  } catch {
    return [];
  }
}

/** Every process whose command line satisfies `match`. */
export function findProcesses(match: (args: string[]) => boolean): number[] {
  const found: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const pid = Number(entry.name);
    if (pid !== Deno.pid && match(commandLine(pid))) found.push(pid);
  }
  return found;
}

/** The Motorcade server (`deno run … main.ts`) this process started; throws when none. */
export function serverPid(): number {
  const pids = findProcesses((args) => args.some((a) => a.endsWith("/main.ts")))
    .filter((pid) => parentOf(pid) === Deno.pid);
  if (pids.length !== 1) throw new Error(`Expected one server child, found ${pids.length}`);
  return pids[0];
}

/** The Janus started for the server whose data folder is `dataDir`; throws when none. */
export function janusPid(dataDir: string): number {
  const pids = findProcesses((args) =>
    args[0]?.endsWith("janus") === true && args.some((a) => a.startsWith(dataDir))
  );
  if (pids.length !== 1) throw new Error(`Expected one Janus for ${dataDir}, found ${pids.length}`);
  return pids[0];
}

/** The parent process id of `pid`, or NaN. */
export function parentOf(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return NaN;
  }
}

/** Measures the CPU a set of processes uses between `start()` and `stop()`. */
export class CpuMeter {
  #startedAt = 0;
  #start = new Map<number, number>();

  constructor(readonly pids: () => number[]) {}

  start(): void {
    this.#start = new Map(this.pids().map((pid) => [pid, cpuSeconds(pid)]));
    this.#startedAt = performance.now();
  }

  /** Percent of one core used since `start()` (processes that appeared since count from 0). */
  stop(): number {
    const wallS = (performance.now() - this.#startedAt) / 1000;
    let used = 0;
    for (const pid of this.pids()) {
      const now = cpuSeconds(pid);
      if (Number.isFinite(now)) used += now - (this.#start.get(pid) ?? 0);
    }
    return (used / wallS) * 100;
  }
}

/** Bytes as MB with one decimal. */
export function mb(bytes: number): string {
  return (bytes / 1_048_576).toFixed(1);
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The direct children of `pid`. */
export function childrenOf(pid: number): number[] {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/task/${pid}/children`).trim().split(/\s+/)
      .filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Measures how busy the whole machine is (all cores) between `start()` and `stop()`. */
export class MachineMeter {
  #start = MachineMeter.#read();

  static #read(): { busy: number; total: number } {
    const fields = Deno.readTextFileSync("/proc/stat").split("\n")[0].trim().split(/\s+/)
      .slice(1).map(Number);
    const total = fields.reduce((n, v) => n + v, 0);
    const idle = fields[3] + (fields[4] ?? 0);
    return { busy: total - idle, total };
  }

  start(): void {
    this.#start = MachineMeter.#read();
  }

  /** Percent of all cores busy since `start()` (100 = every core fully busy). */
  stop(): number {
    const now = MachineMeter.#read();
    return ((now.busy - this.#start.busy) / Math.max(1, now.total - this.#start.total)) * 100;
  }
}
