/**
 * "Access changed" news: where access is taken away (logout, a revoked session family, a user
 * disabled, deleted or given another role, a device credential revoked, a vehicle deleted) says so
 * here, and whatever holds access open (signaling sockets, WHEP and WHIP sessions) re-checks at
 * once instead of at its next timer. A change is a hint, not a verdict: holders re-run the same
 * check the HTTP API runs on every request, so a lost or repeated change is harmless.
 */

/** What a change is about: a session family, a user, a device credential, a vehicle or a fleet. */
export interface AccessChange {
  subject: "session" | "user" | "credential" | "vehicle" | "fleet";
  id: string;
}

/**
 * Carries {@linkcode AccessChange}s from those who revoke to those who hold access. The embedded
 * implementation is in-process; one over the event bus (a topic every server process reads from
 * its latest offset) satisfies the same interface when several processes serve one catalog.
 */
export interface AccessChanges {
  /** Announces a change; best effort, never throws (holders also re-check on a timer). */
  publish(change: AccessChange): void;
  /** Calls `listener` for every change published from now on; returns the unsubscriber. */
  subscribe(listener: (change: AccessChange) => void): () => void;
}

/**
 * The in-process {@linkcode AccessChanges}: listeners run synchronously in publish order, and a
 * listener that throws does not keep the change from the others.
 *
 * @example
 * const changes = new LocalAccessChanges();
 * const stop = changes.subscribe((change) => console.log(change.subject, change.id));
 * changes.publish({ subject: "session", id: "ses_1" });
 * stop();
 */
export class LocalAccessChanges implements AccessChanges {
  readonly #listeners = new Set<(change: AccessChange) => void>();

  /** Delivers `change` to every current listener. */
  publish(change: AccessChange): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(change);
      } catch {
        // a holder's failure is its own; the others still hear of the change
      }
    }
  }

  /** Adds `listener`; the returned function removes it. */
  subscribe(listener: (change: AccessChange) => void): () => void {
    const own = (change: AccessChange) => listener(change);
    this.#listeners.add(own);
    return () => this.#listeners.delete(own);
  }
}

/** The broadcast channel access changes travel on between server processes. */
export const ACCESS_CHANNEL = "access";

/** What carries an access change to other processes (lib/broadcast's `Broadcast`). */
interface AccessBroadcast {
  publish(channel: string, message: string): void;
  subscribe(channel: string, listener: (message: string) => void): () => void;
}

/**
 * The {@linkcode AccessChanges} of processes split by `ROLES`: a change published in one process
 * reaches the holders in every process sharing the catalog (over PostgreSQL `LISTEN/NOTIFY`),
 * this process's own at once. A malformed message from elsewhere is ignored.
 *
 * @example
 * const changes = new BroadcastAccessChanges(openBroadcast(config.catalogUrl, logger));
 */
export class BroadcastAccessChanges implements AccessChanges {
  readonly #local = new LocalAccessChanges();

  constructor(private readonly broadcast: AccessBroadcast) {
    // Every change, this process's included (the broadcast delivers here first), comes this way.
    broadcast.subscribe(ACCESS_CHANNEL, (message) => {
      const change = parseChange(message);
      if (change) this.#local.publish(change);
    });
  }

  /** Tells this process's holders, then every other process's. */
  publish(change: AccessChange): void {
    try {
      this.broadcast.publish(ACCESS_CHANNEL, JSON.stringify(change));
    } catch {
      // best effort: holders also re-check on a timer
    }
  }

  /** Calls `listener` for every change published here or in another process from now on. */
  subscribe(listener: (change: AccessChange) => void): () => void {
    return this.#local.subscribe(listener);
  }
}

const SUBJECTS = new Set(["session", "user", "credential", "vehicle", "fleet"]);

function parseChange(message: string): AccessChange | undefined {
  try {
    const { subject, id } = JSON.parse(message);
    if (SUBJECTS.has(subject) && typeof id === "string") return { subject, id };
  } catch {
    // not a change: ignore
  }
  return undefined;
}
