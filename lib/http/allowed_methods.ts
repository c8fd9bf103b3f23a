import type { MiddlewareHandler, NotFoundHandler } from "hono";
import type { RouterRoute } from "hono/types";
import { TrieRouter } from "hono/router/trie-router";
import { MethodNotAllowedError, NotFoundError } from "../errors/mod.ts";
import { problemOf, problemResponse } from "./problem.ts";

/** The order methods are listed in an `Allow` header; any other follows, sorted. */
const ORDER = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/**
 * The methods each path of an app answers, read from the app's registered routes (so never a
 * hand-kept list): the methods of every route whose pattern matches, HEAD wherever GET is (Hono
 * answers HEAD with the GET route) and OPTIONS wherever any is (CORS preflight).
 *
 * @example const allowed = new AllowedMethods(app); allowed.of("/healthz") // ["GET", "HEAD", "OPTIONS"]
 */
export class AllowedMethods {
  readonly #app: { routes: RouterRoute[] };
  #indexed = -1;
  #router = new TrieRouter<string>();
  #methods: string[] = [];

  constructor(app: { routes: RouterRoute[] }) {
    this.#app = app;
  }

  /** The methods `path` answers, in `Allow` order; empty when no route matches the path. */
  of(path: string): string[] {
    this.#index();
    const found = new Set(
      this.#methods.filter((method) => this.#router.match(method, path)[0].length > 0),
    );
    if (found.size === 0) return [];
    if (found.has("GET")) found.add("HEAD");
    found.add("OPTIONS");
    const rank = (m: string) => ORDER.includes(m) ? ORDER.indexOf(m) : ORDER.length;
    return [...found].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  }

  /** Indexes the routes registered so far (again, when more were registered since). */
  #index() {
    const routes = this.#app.routes;
    if (routes.length === this.#indexed) return;
    this.#router = new TrieRouter<string>();
    const methods = new Set<string>();
    // "ALL" entries are middleware (`app.use`), not routes.
    for (const route of routes.filter((r) => r.method !== "ALL")) {
      this.#router.add(route.method, route.path, route.method);
      methods.add(route.method);
    }
    this.#methods = [...methods];
    this.#indexed = routes.length;
  }
}

/**
 * Answers a request no route took: 405 with `Allow` when its path answers other methods, else 404.
 * Returned, not thrown: Hono does not catch a throw from the not-found handler until after the
 * middleware, so `observe` would neither count nor log the request.
 */
export function unmatchedRequest(allowed: AllowedMethods): NotFoundHandler {
  return function answerUnmatched(c) {
    const { method, path } = c.req;
    const methods = allowed.of(path);
    const error = methods.length
      ? new MethodNotAllowedError(method, path, methods)
      : new NotFoundError(`No route for ${method} ${path}`);
    return problemResponse(problemOf(error, c).problem);
  };
}

/**
 * OPTIONS on a path no route matches is 404; on a known path the answer (a CORS preflight, which
 * the CORS middleware after this one gives) carries `Allow`.
 */
export function optionsRequest(allowed: AllowedMethods): MiddlewareHandler {
  return async function answerOptions(c, next) {
    if (c.req.method !== "OPTIONS") return await next();
    const methods = allowed.of(c.req.path);
    if (methods.length === 0) {
      const error = new NotFoundError(`No route for ${c.req.method} ${c.req.path}`);
      return problemResponse(problemOf(error, c).problem);
    }
    await next();
    c.res.headers.set("allow", methods.join(", "));
  };
}
