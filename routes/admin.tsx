import { createRoute, z } from "@hono/zod-openapi";
import AdminApp from "../islands/AdminApp.tsx";
import { access } from "../lib/auth/mod.ts";
import { type ApiApp, secured } from "../lib/http/mod.ts";
import { Island, Page, pageResponse } from "../lib/ui/mod.ts";
import type { RouteDeps } from "./deps.ts";

const html = (description: string) => ({
  description,
  content: { "text/html": { schema: z.string() } },
});

/** The admin interface: a public shell page whose island signs in and calls the API. */
export function registerAdminRoutes(app: ApiApp, { secure }: RouteDeps) {
  app.openapi(
    secured(
      secure,
      access.public(),
      createRoute({
        method: "get",
        path: "/admin",
        tags: ["ui"],
        summary: "The admin interface (its data comes from the API with the user's token)",
        responses: { 200: html("The admin page") },
      }),
    ),
    () =>
      pageResponse(
        <Page title="Motorcade Admin">
          <Island name="AdminApp" component={AdminApp} props={{}} />
        </Page>,
      ),
  );

  app.openapi(
    secured(
      secure,
      access.public(),
      createRoute({
        method: "get",
        path: "/",
        tags: ["ui"],
        summary: "Redirects to the admin interface",
        responses: { 302: { description: "To /admin" } },
      }),
    ),
    (c) => c.redirect("/admin", 302),
  );
}
