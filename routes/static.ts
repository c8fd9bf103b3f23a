import { createRoute, z } from "@hono/zod-openapi";
import { access } from "../lib/auth/mod.ts";
import { type ApiApp, secured } from "../lib/http/mod.ts";
import {
  ADMIN_CSS,
  assetResponse,
  IslandBundle,
  ISLANDS_PATH,
  staticAsset,
  STYLES_PATH,
} from "../lib/ui/mod.ts";
import type { RouteDeps } from "./deps.ts";

const asset = (description: string, mediaType: string) => ({
  200: { description, content: { [mediaType]: { schema: z.string() } } },
  304: { description: "Not modified: the If-None-Match ETag is current" },
});

/** The browser's files: the island bundle (built by esbuild on first request) and the CSS. */
export function registerStaticRoutes(app: ApiApp, { secure }: RouteDeps) {
  const islands = new IslandBundle();
  const styles = staticAsset(ADMIN_CSS, "text/css; charset=utf-8");

  app.openapi(
    secured(
      secure,
      access.public(),
      createRoute({
        method: "get",
        path: ISLANDS_PATH,
        tags: ["ui"],
        summary: "The islands' JavaScript: one ES module, revalidated by ETag",
        responses: asset("The bundle", "text/javascript"),
      }),
    ),
    async (c) => assetResponse(await islands.asset(), c.req.header("if-none-match")),
  );

  app.openapi(
    secured(
      secure,
      access.public(),
      createRoute({
        method: "get",
        path: STYLES_PATH,
        tags: ["ui"],
        summary: "The admin interface's stylesheet, revalidated by ETag",
        responses: asset("The stylesheet", "text/css"),
      }),
    ),
    async (c) => assetResponse(await styles, c.req.header("if-none-match")),
  );
}
