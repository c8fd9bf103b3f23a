/** What every benchmark prints: the machine it ran on, and figures as aligned rows. */

/** One line naming the cores, CPU model, Deno version and load, so figures can be compared. */
export function machineLine(): string {
  let cpu = "unknown CPU";
  try {
    cpu = Deno.readTextFileSync("/proc/cpuinfo").match(/model name\s*:\s*(.*)/)?.[1] ?? cpu;
  } catch { /* not Linux */ }
  let load = "";
  try { // other work on the machine skews every figure: say how busy it was
    load = `; load average ${Deno.readTextFileSync("/proc/loadavg").split(" ")[0]} at start`;
  } catch { /* not Linux */ }
  return `machine: ${navigator.hardwareConcurrency} cores, ${cpu}; Deno ${Deno.version.deno}${load}`;
}

/** The `p`-th percentile (0-100) of `values` by nearest rank; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** Prints `label` padded to a column, then `figures` separated by three spaces. */
export function row(label: string, ...figures: string[]): void {
  console.log(`${label.padEnd(36)} ${figures.join("   ")}`);
}

/** A number with `digits` decimals, right-aligned to `width`. */
export function num(value: number, digits = 0, width = 8): string {
  return (Number.isFinite(value) ? value.toFixed(digits) : "n/a").padStart(width);
}

/** Milliseconds as `12.34 ms`. */
export function ms(value: number): string {
  return `${num(value, 2, 7)} ms`;
}

/** Whether a goal is met, for the verdict lines. */
export function verdict(met: boolean): string {
  return met ? "met" : "MISSED";
}
