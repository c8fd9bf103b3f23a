/**
 * Benchmark: throughput of a trivial endpoint behind the full access check (bearer JWT verified,
 * session looked up in the catalog, fleet rule applied) against the same handler without auth,
 * both served by the real app over a socket, loaded by wrk in its own process.
 *
 *   deno task bench:auth [--seconds 10] [--connections 32]
 */
import { createRoute, z } from "@hono/zod-openapi";
import { parseArgs } from "node:util";
import { access } from "../lib/auth/mod.ts";
import { parseConfig } from "../lib/config/mod.ts";
import { secured } from "../lib/http/mod.ts";
import { silentLogger } from "../lib/log/mod.ts";
import { createPlatform } from "../platform.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "10" },
    connections: { type: "string", default: "32" },
  },
});

async function wrk(url: string, headers: string[]) {
  const args = ["-t", "1", "-c", values.connections!, "-d", `${values.seconds}s`, "--latency"];
  for (const header of headers) args.push("-H", header);
  const output = await new Deno.Command("wrk", { args: [...args, url], stdout: "piped" }).output()
    .catch(() => {
      throw new Error("wrk is not installed: apt-get install -y wrk");
    });
  const text = new TextDecoder().decode(output.stdout);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1]);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0);
  const percentile = (p: string) =>
    /^\s+(\d+)%\s+([\d.]+)(us|ms|s)$/m.test(text)
      ? toMs(new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)$`, "m").exec(text)!)
      : NaN;
  return { rps, non2xx, p50: percentile("50"), p99: percentile("99") };
}

function toMs(match: RegExpExecArray): number {
  const value = Number(match[1]);
  return match[2] === "us" ? value / 1000 : match[2] === "s" ? value * 1000 : value;
}

const dataDir = await Deno.makeTempDir({ prefix: "motorcade-bench-" });
const platform = await createPlatform(
  parseConfig({
    LIVE: "off",
    DATA_DIR: dataDir,
    ACCESS_TOKEN_TTL: "1h",
    MOTORCADE_ADMIN_EMAIL: "owner@bench.test",
    MOTORCADE_ADMIN_PASSWORD: "bench-password",
  }),
  silentLogger,
);
const fleet = await platform.registry.createFleet("Bench");
await platform.registry.createUser({
  fleetId: fleet.id,
  email: "viewer@bench.test",
  role: "viewer",
  password: "bench-password",
});
const { accessToken } = await platform.identity.sessions.login(
  "viewer@bench.test",
  "bench-password",
);

const trivial = (path: string) =>
  createRoute({
    method: "get",
    path,
    responses: {
      200: {
        description: "ok",
        content: { "application/json": { schema: z.object({ ok: z.boolean() }) } },
      },
    },
  });
const secure = { identity: platform.identity, maxBodyBytes: 1024 };
platform.app.openapi(
  secured(secure, access.public(), trivial("/bench/fleets/{fleetId}/open")),
  (c) => c.json({ ok: true }, 200),
);
platform.app.openapi(
  secured(secure, access.fleet(["viewer"]), trivial("/bench/fleets/{fleetId}/authorized")),
  (c) => c.json({ ok: true }, 200),
);

const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, platform.app.fetch);
const base = `http://127.0.0.1:${server.addr.port}/bench/fleets/${fleet.id}`;
try {
  const check = await fetch(`${base}/authorized`, {
    headers: { authorization: `Bearer ${accessToken}` },
  });
  if (check.status !== 200) throw new Error(`authorized endpoint answered ${check.status}`);
  await check.body?.cancel();

  await wrk(`${base}/open`, []); // warm-up of both paths
  const open = await wrk(`${base}/open`, []);
  const authorized = await wrk(`${base}/authorized`, [`Authorization: Bearer ${accessToken}`]);
  const cpu = Deno.readTextFileSync("/proc/cpuinfo").match(/model name\s*:\s*(.*)/)?.[1];
  console.log(`machine: ${navigator.hardwareConcurrency} cores, ${cpu}; Deno ${Deno.version.deno}`);
  console.log(`load: wrk, 1 thread, ${values.connections} connections, ${values.seconds} s each`);
  const row = (name: string, r: typeof open) =>
    console.log(
      `${name.padEnd(34)} ${r.rps.toFixed(0).padStart(8)} req/s   p50 ${
        r.p50.toFixed(2)
      } ms   p99 ${r.p99.toFixed(2)} ms   non-2xx ${r.non2xx}`,
    );
  row("no auth (public rule)", open);
  row("ES256 JWT + session + fleet rule", authorized);
  console.log(`ratio authenticated / unauthenticated: ${(authorized.rps / open.rps).toFixed(2)}`);
} finally {
  await server.shutdown();
  await platform.close();
  await Deno.remove(dataDir, { recursive: true });
}
