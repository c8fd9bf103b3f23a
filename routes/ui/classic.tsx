/** `GET /admin`: the one-island admin of before the pages, kept until they replace it. */
import AdminApp from "../../islands/AdminApp.tsx";
import { Island } from "../../lib/ui/mod.ts";
import { definePage } from "./page.tsx";
import { patterns } from "./paths.ts";

/** The classic admin: a public shell whose island signs in with tokens and calls the API. */
export const classicPage = definePage({
  pattern: patterns.home,
  access: { kind: "public" },
  load: () => ({
    title: "Admin",
    bare: true,
    body: <Island name="AdminApp" component={AdminApp} props={{}} />,
  }),
});
