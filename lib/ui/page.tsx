import type { ComponentChildren, VNode } from "preact";
import { renderToString } from "preact-render-to-string";

/** Where the island bundle is served. */
export const ISLANDS_PATH = "/static/islands.js";
/** Where the admin stylesheet is served. */
export const STYLES_PATH = "/static/admin.css";

/**
 * What pages allow: their own scripts, styles and API only. No inline script or style, so an
 * injected string cannot run, and the tokens the islands hold stay in the page.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/** Props of {@linkcode Page}. */
export interface PageProps {
  title: string;
  children?: ComponentChildren;
}

/** The HTML document around every page: metadata, the stylesheet and the island bundle. */
export function Page({ title, children }: PageProps): VNode {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light" />
        <title>{title}</title>
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href={STYLES_PATH} />
        <script type="module" src={ISLANDS_PATH}></script>
      </head>
      <body>{children}</body>
    </html>
  );
}

/** Renders a page to a complete HTML response, with the headers every page carries. */
export function pageResponse(page: VNode, status = 200): Response {
  return new Response(`<!DOCTYPE html>${renderToString(page)}`, {
    status,
    headers: {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      "content-security-policy": CONTENT_SECURITY_POLICY,
      "referrer-policy": "no-referrer",
      "x-content-type-options": "nosniff",
    },
  });
}
