import type { Catalog, Link, LinkFilter } from "../catalog/mod.ts";
import { NotFoundError, UnauthorizedError } from "../errors/mod.ts";
import type { UserPrincipal } from "./principal.ts";

/** Longest a media request may go on a stale list of unusable links, in any process. */
export const LINK_RECHECK_MS = 2_000;

/** Something held open on a link's authority (a WHEP session of a live link). */
export interface LinkHolder {
  /** Whether it is still open; a holder that is not is forgotten. */
  alive(): boolean;
  /** Ends it: its link was revoked or expired. */
  end(): void;
}

/** What a new link is for: its camera, maker, lifetime and (playback) time range. */
export interface NewLink {
  kind: Link["kind"];
  camera: { fleetId: string; vehicleId: string; cameraId: string };
  maker: UserPrincipal;
  expiresAt: Date;
  fromMs?: number;
  toMs?: number;
}

/**
 * Capability links (playback and live): made by a user, recorded in the catalog with their maker
 * and fleet, and revocable by id, camera or maker. Every URL a link signs carries its id; this
 * keeps the ids of links that no longer hold (revoked, or whose maker was deleted, disabled,
 * moved out of the fleet or, for a live link, lost the right to make one) in memory, re-read
 * from the catalog at most {@linkcode LINK_RECHECK_MS} after it last was, so a check on the media
 * hot path is a set lookup.
 */
export class Links {
  #unusable = new Set<string>();
  #readAt = -Infinity;
  #reading: Promise<void> | undefined;
  #prunedAt = -Infinity;
  readonly #holders = new Map<LinkHolder, { id: string; expiresAtMs: number }>();
  #sweeper: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly catalog: Catalog, private readonly now: () => number = Date.now) {}

  /** Records a new link made by `maker`. */
  create(input: NewLink): Promise<Link> {
    return this.catalog.links.create({
      kind: input.kind,
      ...input.camera,
      createdBy: input.maker.userId,
      expiresAt: input.expiresAt,
      fromMs: input.fromMs ?? null,
      toMs: input.toMs ?? null,
    });
  }

  /** Unexpired links of a fleet: all of them for its admins (and owners), else the caller's own. */
  list(fleetId: string, filter: LinkFilter, caller: UserPrincipal): Promise<Link[]> {
    return this.catalog.links.list(fleetId, scoped(filter, caller), new Date(this.now()));
  }

  /** One link of a fleet the caller may see; NotFoundError otherwise. */
  async get(fleetId: string, id: string, caller: UserPrincipal): Promise<Link> {
    const link = await this.catalog.links.get(fleetId, id);
    if (!link || !mayManage(caller) && link.createdBy !== caller.userId) {
      throw new NotFoundError(`Link "${id}" not found`);
    }
    return link;
  }

  /**
   * Revokes the unexpired links of a fleet matching `filter` that the caller may manage (admins
   * and owners: any; others: their own); returns their ids. Their URLs stop working in this
   * process at once, in others within {@linkcode LINK_RECHECK_MS}.
   */
  async revoke(
    fleetId: string,
    filter: LinkFilter & { id?: string },
    caller: UserPrincipal,
  ): Promise<string[]> {
    const revoked = await this.catalog.links.revoke(
      fleetId,
      scoped(filter, caller),
      new Date(this.now()),
    );
    for (const id of revoked) this.#unusable.add(id);
    return revoked;
  }

  /**
   * Ends `holder` within {@linkcode LINK_RECHECK_MS} of link `id` being revoked (or its maker
   * losing the right) and when the link expires at `expiresAtMs`.
   */
  watch(id: string, expiresAtMs: number, holder: LinkHolder): void {
    this.#holders.set(holder, { id, expiresAtMs });
    if (this.#sweeper !== undefined) return;
    this.#sweeper = setInterval(() => this.#sweep().catch(() => {}), LINK_RECHECK_MS);
    Deno.unrefTimer(this.#sweeper);
  }

  async #sweep(): Promise<void> {
    await this.refresh();
    const now = this.now();
    for (const [holder, { id, expiresAtMs }] of this.#holders) {
      if (!holder.alive()) {
        this.#holders.delete(holder);
      } else if (this.#unusable.has(id) || expiresAtMs <= now) {
        this.#holders.delete(holder);
        holder.end();
      }
    }
    if (this.#holders.size === 0) this.close();
  }

  /** Stops watching holders (they stay open). */
  close(): void {
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }

  /** Makes the next check re-read the catalog (a user or fleet changed in this process). */
  invalidate(): void {
    this.#readAt = -Infinity;
  }

  /**
   * Throws UnauthorizedError when link `id` no longer holds. Synchronous while the list is fresh;
   * otherwise waits for one catalog read shared by every request meanwhile.
   */
  check(id: string): void | Promise<void> {
    if (this.now() - this.#readAt <= LINK_RECHECK_MS) return this.#verdict(id);
    return this.refresh().then(() => this.#verdict(id));
  }

  #verdict(id: string): void {
    if (this.#unusable.has(id)) throw new UnauthorizedError(`Link "${id}" has been revoked`);
  }

  /** Re-reads the unusable links from the catalog (and drops links long expired, hourly). */
  refresh(): Promise<void> {
    this.#reading ??= (async () => {
      try {
        const now = this.now();
        this.#unusable = new Set(await this.catalog.links.unusable(new Date(now)));
        this.#readAt = now;
        if (now - this.#prunedAt > 3_600_000) {
          this.#prunedAt = now;
          await this.catalog.links.prune(new Date(now - 86_400_000));
        }
      } finally {
        this.#reading = undefined;
      }
    })();
    return this.#reading;
  }
}

function mayManage(caller: UserPrincipal): boolean {
  return caller.role === "owner" || caller.role === "admin";
}

/** `filter` narrowed to the caller's own links unless the caller manages the fleet's. */
function scoped<T extends LinkFilter>(filter: T, caller: UserPrincipal): T {
  if (mayManage(caller)) return filter;
  if (filter.createdBy !== undefined && filter.createdBy !== caller.userId) {
    return { ...filter, createdBy: "\u0000nobody" };
  }
  return { ...filter, createdBy: caller.userId };
}
