import postgres from "postgres";
import { redactUrl } from "../../config/catalog_url.ts";
import { ConflictError, InsufficientStorageError, UnavailableError } from "../../errors/mod.ts";
import { POSTGRES_MIGRATIONS } from "./migrations.ts";

/** A connection pool or a transaction: what repositories run their statements on. */
export type Sql = postgres.ISql;

/** A row as `npm:postgres` returns it (`bigint` columns come back as strings). */
export type Row = postgres.Row;

/** Seconds a client is told to wait before retrying when PostgreSQL cannot serve it. */
const RETRY_AFTER_SECONDS = 2;
/** Attempts of a transaction PostgreSQL aborted to break a deadlock or a serialization conflict. */
const TRANSACTION_ATTEMPTS = 4;
/** Key of the advisory lock that serialises migrations across processes ("motorcade" in ASCII). */
const MIGRATION_LOCK = 0x6d6f746f72636164n;

/** Connection-level failures: PostgreSQL is down, restarting, or unreachable. */
const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EPIPE",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
]);

/** SQLSTATEs that mean "not now" rather than "wrong": the same request can succeed later. */
const TRANSIENT_STATES: Record<string, string> = {
  "25006": "the server is read-only (a standby?)",
  "40001": "a serialization conflict",
  "40P01": "a deadlock",
  "53000": "insufficient resources",
  "53200": "out of memory",
  "53300": "too many connections",
  "53400": "a configured limit",
  "55P03": "a lock not available",
  "57014": "a query cancelled",
  "57P01": "the server shutting down",
  "57P02": "a crash shutdown",
  "57P03": "the server starting up",
  "58000": "a system error",
};

/**
 * The catalog's PostgreSQL pool with its error mapping: a unique violation becomes a
 * ConflictError, a full disk an InsufficientStorageError (507), and a server that is down,
 * restarting or unreachable an UnavailableError (503): both with Retry-After, so a vehicle
 * keeps its upload and retries.
 */
export class Database {
  /** The pool; run statements through {@linkcode query} or {@linkcode transaction}. */
  readonly sql: postgres.Sql;

  /** Opens a pool on `url` (nothing connects until the first statement). */
  constructor(url: string, options: { max?: number } = {}) {
    guardClosedSocketWrites();
    this.sql = postgres(url, {
      max: options.max ?? 10,
      connect_timeout: 10,
      idle_timeout: 60,
      onnotice: () => {},
      connection: { application_name: "motorcade" },
    });
  }

  /**
   * Applies the migrations that are not applied yet, in one transaction holding an advisory lock:
   * processes starting together wait for one another and each migration runs once. Returns the
   * versions this call applied.
   */
  migrate(): Promise<number[]> {
    return this.transaction(async (sql) => {
      await sql`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK.toString()}::bigint)`;
      await sql`CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`;
      const applied = new Set(
        (await sql`SELECT version FROM schema_migrations`).map((row) => Number(row.version)),
      );
      const done: number[] = [];
      for (const migration of POSTGRES_MIGRATIONS) {
        if (applied.has(migration.version)) continue;
        await sql.unsafe(migration.sql).simple();
        await sql`INSERT INTO schema_migrations (version, name, applied_at)
          VALUES (${migration.version}, ${migration.name}, ${Date.now()})`;
        done.push(migration.version);
      }
      return done;
    });
  }

  /** Runs `work` on the pool; a unique violation becomes a ConflictError saying `conflict`. */
  async query<T>(work: (sql: Sql) => Promise<T>, conflict?: string): Promise<T> {
    try {
      return await work(this.sql);
    } catch (error) {
      throw catalogError(error, conflict);
    }
  }

  /**
   * Runs `work` in a transaction (READ COMMITTED; statements lock what they change), retrying it
   * when PostgreSQL aborts it to break a deadlock; errors map as {@linkcode query}'s.
   */
  async transaction<T>(work: (sql: Sql) => Promise<T>, conflict?: string): Promise<T> {
    for (let attempt = 1;; attempt++) {
      try {
        return await this.sql.begin((sql) => work(sql)) as T;
      } catch (error) {
        const state = (error as { code?: unknown }).code;
        if ((state === "40P01" || state === "40001") && attempt < TRANSACTION_ATTEMPTS) continue;
        throw catalogError(error, conflict);
      }
    }
  }

  /** Closes every connection, letting running statements finish for up to 5 s. */
  close(): Promise<void> {
    return this.sql.end({ timeout: 5 });
  }
}

let guarded = false;

/**
 * Keeps a known `npm:postgres` bug (3.4.x; porsager/postgres#1154, #1208, unfixed upstream) from
 * ending the process: a write it deferred with `setImmediate` can run after its connection closed
 * (PostgreSQL restarted), and `socket.write` on the nulled socket throws outside any promise. By
 * then the connection has already failed the queries that write belonged to (CONNECTION_CLOSED,
 * a 503 here), so nothing waits on it: the uncaught TypeError is dropped, that one only.
 */
function guardClosedSocketWrites(): void {
  if (guarded) return;
  guarded = true;
  globalThis.addEventListener("error", (event) => {
    const error = event.error;
    if (
      error instanceof TypeError &&
      error.message === "Cannot read properties of null (reading 'write')" &&
      /\bnextWrite \(.*postgres.*connection\.js/.test(error.stack ?? "")
    ) event.preventDefault();
  });
}

/**
 * `error` as the typed error the catalog reports: ConflictError for a unique violation when
 * `conflict` says what collided, InsufficientStorageError when the
 * server's disk is full, UnavailableError when it cannot be reached or cannot serve now.
 */
export function catalogError(error: unknown, conflict?: string): unknown {
  if (error instanceof UnavailableError || error instanceof ConflictError) return error;
  const code = (error as { code?: unknown })?.code;
  if (typeof code !== "string") return error;
  if (code === "23505" && conflict) return new ConflictError(conflict);
  if (code === "53100") {
    return new InsufficientStorageError(
      "Cannot write to the catalog now: PostgreSQL's disk is full (53100); retry later",
      "PostgreSQL disk full (53100)",
    );
  }
  const reason = TRANSIENT_STATES[code] ??
    (code.startsWith("08") ? `a connection failure (${code})` : undefined) ??
    (CONNECTION_CODES.has(code) ? `PostgreSQL cannot be reached (${code})` : undefined);
  if (!reason) return error;
  return new UnavailableError(
    `Cannot use the catalog now: ${reason}; retry later`,
    RETRY_AFTER_SECONDS,
  );
}

/** Converts a stored epoch-millisecond value (a bigint, returned as a string) to a Date. */
export function toDate(value: unknown): Date | null {
  return value === null || value === undefined ? null : new Date(Number(value));
}

/** How to name the catalog at `url` in logs and errors: without its password. */
export function describe(url: string): string {
  return redactUrl(url).split("?")[0];
}
