/** The catalog named by `CATALOG_URL`: an embedded SQLite file or a PostgreSQL database. */

/** Where the catalog lives, parsed from `CATALOG_URL`. */
export type CatalogTarget =
  | { kind: "sqlite"; file: string }
  | {
    kind: "postgres";
    /** The URL as given (it may hold a password: never log it, log {@linkcode redactUrl}). */
    url: string;
  };

/**
 * Parses a `CATALOG_URL`: `sqlite:<file>` or `postgres://[user[:password]@]host[:port]/database`
 * (`postgresql://` too; what the URL leaves out comes from the `PG*` variables). Throws TypeError
 * naming what is wrong, never repeating a password.
 *
 * @example parseCatalogUrl("postgres://motorcade@db.internal:5432/motorcade")
 */
export function parseCatalogUrl(raw: string): CatalogTarget {
  if (/^sqlite:.+/.test(raw)) return { kind: "sqlite", file: raw.slice("sqlite:".length) };
  if (!/^postgres(ql)?:\/\//.test(raw)) {
    throw new TypeError(
      `must be "sqlite:<file>" or "postgres://user@host:port/database", got "${
        redactUrl(raw).split("?")[0]
      }"`,
    );
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TypeError(`is not a valid postgres:// URL: "${redactUrl(raw)}"`);
  }
  if (url.hash) throw new TypeError(`must not have a #fragment: "${redactUrl(raw)}"`);
  if (url.port && !(Number(url.port) > 0)) {
    throw new TypeError(`has an invalid port: "${redactUrl(raw)}"`);
  }
  return { kind: "postgres", url: raw };
}

/** `url` with its password, if any, replaced by `********`: what logs and errors may show. */
export function redactUrl(url: string): string {
  const authority = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(url);
  if (!authority) return url;
  const at = authority[1].lastIndexOf("@");
  const colon = authority[1].indexOf(":");
  if (at < 0 || colon < 0 || colon > at) return url;
  const start = authority.index + authority[0].length - authority[1].length;
  return url.slice(0, start + colon + 1) + "********" + url.slice(start + at);
}
