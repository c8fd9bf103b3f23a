import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { writeFailureOf, type WriteFailureSink } from "../../disk/mod.ts";
import { ConflictError, InsufficientStorageError } from "../../errors/mod.ts";
import { SQLITE_MIGRATIONS } from "./migrations.ts";

/** A row as node:sqlite returns it. */
export type Row = Record<string, SQLInputValue>;

/**
 * A SQLite connection with cached prepared statements and the catalog's error mapping: a write
 * the storage refuses (SQLITE_FULL, SQLITE_IOERR, …) becomes an InsufficientStorageError (507,
 * Retry-After) and is told to `disk`.
 */
export class Database {
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();

  constructor(path: string, private readonly disk?: WriteFailureSink) {
    this.#db = new DatabaseSync(path);
    this.#db.exec("PRAGMA journal_mode = WAL");
    this.#db.exec("PRAGMA synchronous = NORMAL");
    this.#db.exec("PRAGMA foreign_keys = ON");
    this.#db.exec("PRAGMA busy_timeout = 5000");
  }

  /** Applies the migrations that are not applied yet; returns the versions it applied. */
  migrate(): number[] {
    this.#db.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
    );
    const applied = new Set(
      this.all("SELECT version FROM schema_migrations").map((row) => Number(row.version)),
    );
    const done: number[] = [];
    for (const migration of SQLITE_MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      this.transaction(() => {
        this.#db.exec(migration.sql);
        this.run(
          "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
          migration.version,
          migration.name,
          Date.now(),
        );
      });
      done.push(migration.version);
    }
    return done;
  }

  #prepare(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  get(sql: string, ...params: SQLInputValue[]): Row | undefined {
    try {
      return this.#prepare(sql).get(...params) as Row | undefined;
    } catch (error) {
      throw this.#storageError(error);
    }
  }

  all(sql: string, ...params: SQLInputValue[]): Row[] {
    try {
      return this.#prepare(sql).all(...params) as Row[];
    } catch (error) {
      throw this.#storageError(error);
    }
  }

  /** Runs a statement; a unique-constraint violation becomes a ConflictError saying `conflict`. */
  run(sql: string, ...params: SQLInputValue[]): number {
    try {
      return Number(this.#prepare(sql).run(...params).changes);
    } catch (error) {
      throw this.#storageError(error);
    }
  }

  /** Like run, but names what was duplicated when a unique constraint fails. */
  insert(sql: string, conflict: string, ...params: SQLInputValue[]): void {
    try {
      this.#prepare(sql).run(...params);
    } catch (error) {
      if (String(error).includes("UNIQUE constraint failed")) throw new ConflictError(conflict);
      throw this.#storageError(error);
    }
  }

  /** Runs `work` in a transaction (BEGIN IMMEDIATE, so concurrent writers queue instead of fail). */
  transaction<T>(work: () => T): T {
    try {
      this.#db.exec("BEGIN IMMEDIATE");
    } catch (error) {
      throw this.#storageError(error);
    }
    try {
      const result = work();
      this.#db.exec("COMMIT");
      return result;
    } catch (error) {
      // SQLite rolls back by itself after some errors (SQLITE_FULL, SQLITE_IOERR): a ROLLBACK
      // then would fail and hide why.
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw this.#storageError(error);
    }
  }

  /** `error` as InsufficientStorageError (told to `disk`) when storage refused a write. */
  #storageError(error: unknown): unknown {
    if (error instanceof InsufficientStorageError) return error;
    const reason = writeFailureOf(error);
    if (!reason) return error;
    this.disk?.report("catalog", error);
    return new InsufficientStorageError(
      `Cannot write to the catalog now: ${reason}; retry later`,
      reason,
    );
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }
}

/** Converts a stored epoch-millisecond value to a Date, keeping null. */
export function toDate(value: SQLInputValue): Date | null {
  return value === null || value === undefined ? null : new Date(Number(value));
}
