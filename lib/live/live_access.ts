/**
 * Live access that ends when it is revoked. Everything that holds access open past the request
 * that opened it — signaling sockets, WHEP viewers, WHIP publishers — is admitted here with the
 * principal it acts for. Its access is re-checked with the same check every HTTP request runs
 * (`Identity.recheck`: session not revoked, credential not revoked) at once when the identity's
 * "access changed" news names it, and on a timer for what that news cannot reach (a revocation by
 * the CLI or another server process). A holder whose check fails is ended. Sockets are also
 * capped per principal.
 */
import type { AccessChange, AccessChanges, Principal } from "../auth/mod.ts";
import { MotorcadeError, UnauthorizedError } from "../errors/mod.ts";
import type { Logger } from "../log/mod.ts";

/** What live access needs from identity: the per-request check and the "access changed" news. */
export interface AccessGuard {
  recheck(principal: Principal): Promise<void>;
  readonly changes: AccessChanges;
}

/** Caps and timing of live access. */
export interface LiveAccessSettings {
  /** Signaling sockets one user may hold open; one more is refused. */
  maxSocketsPerUser: number;
  /** Signaling sockets one vehicle may hold open; one more replaces the oldest. */
  maxSocketsPerVehicle: number;
  /** WHEP sessions one user may hold open; one more is refused. */
  maxWhepPerUser: number;
  /** Period of the re-check of every holder's access. */
  recheckMs: number;
}

/** Something that holds live access open for a principal. */
export interface AccessHolder {
  readonly kind: "socket" | "whep" | "whip";
  /** Who it acts for now (a socket's principal can change when it re-authenticates). */
  principal(): Principal;
  /** Ends it: its access was revoked, or a newer socket of its vehicle replaced it. */
  end(why: "revoked" | "replaced", message: string): void;
}

/** Over a per-principal cap of live sockets or sessions. */
export class LiveLimitError extends MotorcadeError {
  constructor(message: string, code = "too_many_connections") {
    super(429, code, message);
  }
}

/** The subject caps count by: the user, or the vehicle. */
function subjectOf(principal: Principal): string {
  return principal.kind === "user" ? `user:${principal.userId}` : `vehicle:${principal.vehicleId}`;
}

/** What one access check covers: the user's session, or the vehicle's credential. */
function grantOf(principal: Principal): string {
  return principal.kind === "user"
    ? `session:${principal.sessionId}`
    : `credential:${principal.credentialId}`;
}

/** Whether `change` is about what `principal` stands on. */
function concerns(change: AccessChange, principal: Principal): boolean {
  if (change.subject === "fleet") return principal.fleetId === change.id;
  if (principal.kind === "user") {
    return (change.subject === "session" && change.id === principal.sessionId) ||
      (change.subject === "user" && change.id === principal.userId);
  }
  return (change.subject === "credential" && change.id === principal.credentialId) ||
    (change.subject === "vehicle" && change.id === principal.vehicleId);
}

/** Admits, re-checks and ends the holders of live access of one server process. */
export class LiveAccess {
  readonly #holders = new Set<AccessHolder>();
  readonly #unsubscribe: () => void;
  #timer: ReturnType<typeof setInterval> | null = null;
  #sweeping: Promise<void> | null = null;

  constructor(
    readonly guard: AccessGuard,
    readonly settings: LiveAccessSettings,
    readonly logger: Logger,
  ) {
    this.#unsubscribe = guard.changes.subscribe((change) => this.#onChange(change));
  }

  /**
   * Admits `holder` (already authenticated) and returns the function that releases it. A user's
   * socket or WHEP session over its cap is refused with {@linkcode LiveLimitError}; a vehicle's
   * socket over its cap replaces the vehicle's oldest (a vehicle that reconnects after a network
   * change must not be locked out by its own half-open socket).
   */
  admit(holder: AccessHolder): () => void {
    const principal = holder.principal();
    if (holder.kind !== "whip") {
      const subject = subjectOf(principal);
      const same = [...this.#holders]
        .filter((h) => h.kind === holder.kind && subjectOf(h.principal()) === subject);
      const max = holder.kind === "whep"
        ? this.settings.maxWhepPerUser
        : principal.kind === "user"
        ? this.settings.maxSocketsPerUser
        : this.settings.maxSocketsPerVehicle;
      if (same.length >= max && principal.kind === "user") {
        throw holder.kind === "whep"
          ? new LiveLimitError(
            `Cannot start another WHEP session: this user holds ${same.length} (at most ${max}); end one first`,
            "too_many_sessions",
          )
          : new LiveLimitError(
            `Cannot open another signaling connection: this user holds ${same.length} (at most ${max}); close one first`,
          );
      }
      for (const oldest of same.slice(0, Math.max(0, same.length - max + 1))) {
        this.#holders.delete(oldest);
        oldest.end(
          "replaced",
          `Replaced by a newer signaling connection of this vehicle (at most ${max})`,
        );
      }
    }
    this.#holders.add(holder);
    this.#timer ??= setInterval(() => this.sweep(), this.settings.recheckMs);
    Deno.unrefTimer(this.#timer);
    return () => this.#release(holder);
  }

  #release(holder: AccessHolder): void {
    this.#holders.delete(holder);
    if (this.#holders.size === 0 && this.#timer !== null) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
  }

  /** Holders admitted now, for tests and metrics. */
  get size(): number {
    return this.#holders.size;
  }

  #onChange(change: AccessChange): void {
    const holders = [...this.#holders].filter((h) => concerns(change, h.principal()));
    if (holders.length) this.#check(holders).catch(() => {});
  }

  /** Re-checks every holder's access now (the timer calls it); one sweep at a time. */
  sweep(): Promise<void> {
    this.#sweeping ??= this.#check([...this.#holders])
      .finally(() => (this.#sweeping = null));
    return this.#sweeping;
  }

  /** Runs the access check once per grant among `holders`, and ends those whose check fails. */
  async #check(holders: AccessHolder[]): Promise<void> {
    const byGrant = new Map<string, { principal: Principal; holders: AccessHolder[] }>();
    for (const holder of holders) {
      const principal = holder.principal();
      const key = grantOf(principal);
      const entry = byGrant.get(key) ?? { principal, holders: [] };
      entry.holders.push(holder);
      byGrant.set(key, entry);
    }
    for (const { principal, holders } of byGrant.values()) {
      try {
        await this.guard.recheck(principal);
      } catch (error) {
        if (!(error instanceof UnauthorizedError)) {
          // The catalog cannot answer: access stands until it can say otherwise.
          this.logger.warn("cannot re-check live access", { error: (error as Error).message });
          continue;
        }
        for (const holder of holders) {
          // A socket that re-authenticated meanwhile stands on another grant: check it next time.
          if (!this.#holders.has(holder) || grantOf(holder.principal()) !== grantOf(principal)) {
            continue;
          }
          this.#release(holder);
          holder.end("revoked", `Access revoked: ${error.message}`);
        }
      }
    }
  }

  /** Stops listening and re-checking; idempotent. */
  close(): void {
    this.#unsubscribe();
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#holders.clear();
  }
}
