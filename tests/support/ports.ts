/**
 * Ports for the servers tests and benchmarks start (the platform, Janus, Kafka, PostgreSQL, S3).
 *
 * A port the kernel hands out for `port: 0` lies in its ephemeral range, the same range every
 * outgoing connection (a fetch, Chromium, ffmpeg) takes its local port from. Between the moment
 * such a port is found free and the moment the child process binds it, any of those connections
 * can take it: Janus then failed with "Couldn't start webserver on port …" (CI, issue 9's last run).
 * So ports are chosen at random below the ephemeral range, where nothing takes them unasked, and
 * never handed out twice by one process.
 */

const FLOOR = 10_000;
const handedOut = new Set<number>();

/** The kernel's ephemeral port range, from `/proc` (Linux's default when unreadable). */
function ephemeralRange(): [number, number] {
  try {
    const [low, high] = Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range")
      .trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high)) return [low, high];
  } catch {
    // not Linux, or /proc hidden
  }
  return [32_768, 60_999];
}

/** The top of the band ports are chosen from: below the ephemeral range, or 65,535 above it. */
function band(): [number, number] {
  const [low, high] = ephemeralRange();
  if (low - FLOOR >= 4_096) return [FLOOR, low - 1];
  return [high + 1, 65_535];
}

function canBind(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return true;
  } catch {
    return false;
  }
}

/**
 * The first of `count` consecutive TCP ports that are free on 127.0.0.1 now, outside the
 * ephemeral range and not handed out before by this process.
 */
export function freePort(count = 1): number {
  const [low, high] = band();
  for (let attempt = 0; attempt < 1_000; attempt++) {
    const first = low + Math.floor(Math.random() * (high - low + 2 - count));
    const block = Array.from({ length: count }, (_, index) => first + index);
    if (block.some((port) => handedOut.has(port) || !canBind(port))) continue;
    for (const port of block) handedOut.add(port);
    return first;
  }
  throw new Error(`No ${count} free consecutive ports between ${low} and ${high}`);
}
