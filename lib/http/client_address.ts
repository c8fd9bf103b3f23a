/**
 * Who the client is: the socket's peer (the connection gate hands handlers the real one), or,
 * behind trusted reverse proxies, the `X-Forwarded-For` hop the outermost of them appended.
 */
import type { Context } from "hono";
import { getConnInfo } from "hono/deno";

const CLIENT_ADDRESS = "clientAddress";
/** What an X-Forwarded-For entry must look like to be taken as an address. */
const ADDRESS = /^[0-9A-Fa-f:.]{2,45}$/;

/**
 * The client address of a request behind `proxyHops` proxies (0: none): with N proxies each
 * appending the address it received from, the client is the N-th `X-Forwarded-For` entry from the
 * right; entries left of it are whatever the client sent. Fewer entries than proxies: the leftmost.
 */
export function forwardedClient(
  peer: string | undefined,
  forwardedFor: string | undefined,
  proxyHops: number,
): string | undefined {
  if (proxyHops <= 0 || !forwardedFor) return peer;
  const hops = forwardedFor.split(",").map((entry) => entry.trim()).filter(Boolean);
  const chosen = hops[Math.max(0, hops.length - proxyHops)];
  return chosen && ADDRESS.test(chosen) ? chosen : peer;
}

/** Works out the request's client address once (see {@linkcode clientAddress}) and keeps it. */
export function resolveClientAddress(c: Context, proxyHops: number): string | undefined {
  const address = forwardedClient(socketPeer(c), c.req.header("x-forwarded-for"), proxyHops);
  c.set(CLIENT_ADDRESS as never, address as never);
  return address;
}

/**
 * The request's client address under the server's TRUST_PROXY policy: what logs, metrics and
 * per-address throttling key on. Undefined without a socket (`app.request()` in tests).
 *
 * @example const address = clientAddress(c) // "203.0.113.7"
 */
export function clientAddress(c: Context): string | undefined {
  return (c.get(CLIENT_ADDRESS as never) as string | undefined) ?? socketPeer(c);
}

function socketPeer(c: Context): string | undefined {
  try {
    return getConnInfo(c).remote.address;
  } catch {
    return undefined;
  }
}
