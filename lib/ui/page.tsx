import type { VNode } from "preact";
import { renderToString } from "preact-render-to-string";
import type { IslandBundle } from "./bundle.ts";
import { collectIslands } from "./island.ts";

/** Where the web app manifest is served. */
export const MANIFEST_PATH = "/static/manifest.webmanifest";
/** The theme colour of the pages (header, manifest, browser chrome). */
export const THEME_COLOR = "#151b2b";

/**
 * What pages allow: their own scripts, styles and API only. No inline script or style, so an
 * injected string cannot run, and the tokens the islands hold stay in the page.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "manifest-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/** What {@linkcode renderPage} needs besides the page's body. */
export interface PageDocument {
  title: string;
  /** The page's body: its layout and content; the islands it renders decide its scripts. */
  body: VNode;
  /** URL of the stylesheet. */
  stylesheet: string;
  /** Where the islands' scripts come from. */
  bundle: IslandBundle;
  /** Tokens a page's islands read from `<meta>` (e.g. `csrf-token`). */
  meta?: Record<string, string>;
  status?: number;
  headers?: HeadersInit;
}

/**
 * Renders a page to a complete HTML response: the body first (collecting the islands it holds),
 * then the document around it, which loads only those islands' entries and preloads their chunks.
 */
export async function renderPage(page: PageDocument): Promise<Response> {
  const { result: body, islands } = collectIslands(() => renderToString(page.body));
  const scripts = await page.bundle.scripts(islands);
  const head = (
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="color-scheme" content="light" />
      <meta name="theme-color" content={THEME_COLOR} />
      {Object.entries(page.meta ?? {}).map(([name, content]) => (
        <meta key={name} name={name} content={content} />
      ))}
      <title>{page.title}</title>
      <link rel="icon" href="/static/icon.svg" type="image/svg+xml" />
      <link rel="apple-touch-icon" href="/static/icon-192.png" />
      <link rel="manifest" href={MANIFEST_PATH} />
      <link rel="stylesheet" href={page.stylesheet} />
      {scripts.preloads.map((href) => <link key={href} rel="modulepreload" href={href} />)}
      {scripts.modules.map((src) => <script key={src} type="module" src={src}></script>)}
    </head>
  );
  const html = `<!DOCTYPE html><html lang="en">${renderToString(head)}<body>${body}</body></html>`;
  const headers = new Headers(page.headers);
  headers.set("content-type", "text/html; charset=utf-8");
  headers.set("cache-control", "no-store");
  headers.set("content-security-policy", CONTENT_SECURITY_POLICY);
  headers.set("referrer-policy", "same-origin");
  headers.set("x-content-type-options", "nosniff");
  return new Response(html, { status: page.status ?? 200, headers });
}
