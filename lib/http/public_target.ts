/**
 * Outbound requests to URLs a tenant chose (a fleet's webhook): the server must not become a way
 * into its own network. A target whose host is, or resolves to, anything but a public unicast
 * address (loopback, private, link-local such as the cloud metadata service at 169.254.169.254,
 * carrier-grade NAT, unique-local, multicast, NAT64 and other embedded-IPv4 forms, reserved) is
 * refused, unless the server is told that private targets are fine (a single-tenant install).
 */
import ipaddr from "ipaddr.js";

/** Looks up a host's addresses; `Deno.resolveDns` for A and AAAA by default. */
export type Resolver = (host: string) => Promise<string[]>;

/** Why a target was refused: the address and what kind it is. */
export class PrivateTargetError extends Error {
  constructor(readonly host: string, readonly address: string, readonly range: string) {
    super(
      host === address
        ? `${address} is not a public address (${range})`
        : `${host} resolves to ${address}, which is not a public address (${range})`,
    );
    this.name = "PrivateTargetError";
  }
}

/** The range of an IP literal as ipaddr.js names it ("unicast" for public), or undefined. */
function rangeOf(address: string): string | undefined {
  if (!ipaddr.isValid(address)) return undefined;
  return ipaddr.process(address).range();
}

/** Whether `address`, an IP literal, is a public unicast address. */
export function isPublicAddress(address: string): boolean {
  return rangeOf(address) === "unicast";
}

/** A and AAAA records of `host` through the system's DNS servers; [] when it has none. */
export async function resolveAddresses(host: string): Promise<string[]> {
  const lookups = await Promise.allSettled([
    Deno.resolveDns(host, "A"),
    Deno.resolveDns(host, "AAAA"),
  ]);
  return lookups.flatMap((lookup) => lookup.status === "fulfilled" ? lookup.value : []);
}

/** The host of `url` as an address or a name (IPv6 brackets removed). */
function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, "$1");
}

/**
 * Throws {@linkcode PrivateTargetError} when `url`'s host is, or resolves to, an address that is
 * not public. With `unresolved: "accept"` a name that does not resolve passes (it is checked
 * again when used); with "refuse" (the default) it throws an Error saying so.
 */
export async function checkPublicTarget(
  url: URL,
  { resolve = resolveAddresses, unresolved = "refuse" }: {
    resolve?: Resolver;
    unresolved?: "accept" | "refuse";
  } = {},
): Promise<void> {
  const host = hostOf(url);
  const literal = rangeOf(host);
  if (literal !== undefined) {
    if (literal !== "unicast") throw new PrivateTargetError(host, host, literal);
    return;
  }
  const addresses = await resolve(host);
  if (addresses.length === 0) {
    if (unresolved === "accept") return;
    throw new Error(`${host} does not resolve to any address`);
  }
  for (const address of addresses) {
    const range = rangeOf(address) ?? "not an address";
    if (range !== "unicast") throw new PrivateTargetError(host, address, range);
  }
}
