import type { Catalog, FleetWebhook } from "../catalog/mod.ts";
import { NotFoundError, ValidationError } from "../errors/mod.ts";
import type { FleetRegistry } from "../fleet/mod.ts";
import { checkPublicTarget, PrivateTargetError, type Resolver } from "../http/public_target.ts";

/** Longest webhook URL accepted. */
const URL_MAX = 2048;

/** A new signing secret: `whsec_` and 32 random bytes in hex. */
function newSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return "whsec_" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * A fleet's own recall webhook: where its finished recalls are posted (over the server's
 * RECALL_WEBHOOK_URL) and the secret that signs them, made here and shown once, when set or
 * rotated. Deliveries are lib/recall's RecallWebhook.
 *
 * @example
 * const { secret } = await webhooks.set(fleetId, "https://ops.example.com/motorcade");
 * // keep `secret`: later answers show only whether one is set
 */
export class FleetWebhooks {
  constructor(
    private readonly catalog: Catalog,
    private readonly registry: FleetRegistry,
    /** `allowPrivate`: WEBHOOK_ALLOW_PRIVATE; `resolve`: the DNS lookup (tests). */
    private readonly options: { allowPrivate?: boolean; resolve?: Resolver } = {},
  ) {}

  /** The fleet's webhook; NotFoundError when it has none. */
  async get(fleetId: string): Promise<FleetWebhook> {
    await this.registry.fleet(fleetId);
    const webhook = await this.catalog.webhooks.get(fleetId);
    if (!webhook) throw new NotFoundError(`Fleet "${fleetId}" has no webhook`);
    return webhook;
  }

  /**
   * Sets the fleet's webhook URL. A new secret is made the first time and when `rotateSecret`;
   * it is returned then only (`secret`), else `secret` is null and the one in use stays.
   */
  async set(
    fleetId: string,
    url: string,
    { rotateSecret = false } = {},
    now = new Date(),
  ): Promise<{ webhook: FleetWebhook; secret: string | null }> {
    await this.registry.fleet(fleetId);
    checkUrl(url);
    if (!this.options.allowPrivate) await checkPublic(url, this.options.resolve);
    const before = await this.catalog.webhooks.get(fleetId);
    const secret = !before || rotateSecret ? newSecret() : null;
    const webhook = await this.catalog.webhooks.put(
      { fleetId, url, secret: secret ?? before!.secret },
      now,
    );
    return { webhook, secret };
  }

  /** Removes the fleet's webhook (the server's, if any, applies again). */
  async remove(fleetId: string): Promise<void> {
    await this.registry.fleet(fleetId);
    if (!await this.catalog.webhooks.delete(fleetId)) {
      throw new NotFoundError(`Fleet "${fleetId}" has no webhook`);
    }
  }
}

function checkUrl(url: string): void {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (
    !parsed || (parsed.protocol !== "https:" && parsed.protocol !== "http:") ||
    url.length > URL_MAX || parsed.username || parsed.password
  ) {
    throw new ValidationError(
      `Cannot set webhook "${url.slice(0, 200)}": it must be an absolute http(s) URL without ` +
        `credentials, at most ${URL_MAX} characters`,
      [{ path: "url", message: "an absolute http(s) URL" }],
    );
  }
}

/**
 * Refuses a URL whose host is, or now resolves to, a non-public address. A name that does not
 * resolve yet is accepted: every delivery checks again before it posts.
 */
async function checkPublic(url: string, resolve?: Resolver): Promise<void> {
  try {
    await checkPublicTarget(new URL(url), { resolve, unresolved: "accept" });
  } catch (error) {
    if (!(error instanceof PrivateTargetError)) throw error;
    throw new ValidationError(
      `Cannot set webhook "${url.slice(0, 200)}": ${error.message}; a fleet's webhook must be ` +
        `reachable on the public internet`,
      [{ path: "url", message: error.message }],
    );
  }
}
