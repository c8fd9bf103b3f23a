/**
 * The pages' files: the islands' modules and the stylesheet under `/static/ui/` (content-hashed,
 * immutable, compressed), and `static/` (manifest, icons) revalidated by ETag.
 */
import { NotFoundError } from "../../lib/errors/mod.ts";
import type { ApiApp } from "../../lib/http/mod.ts";
import {
  ADMIN_CSS,
  assetResponse,
  type CompressedAsset,
  compressedAsset,
  immutableResponse,
  type StaticAsset,
  staticAsset,
  UI_ASSETS_PATH,
} from "../../lib/ui/mod.ts";
import { DVR_CSS } from "../../lib/ui/dvr_styles.ts";
import { PAGE_CSS } from "../../lib/ui/page_styles.ts";
import type { UiContext } from "./page.tsx";

const STATIC_DIR = decodeURIComponent(new URL("../../static/", import.meta.url).pathname);
const TYPES: Record<string, string> = {
  webmanifest: "application/manifest+json",
  svg: "image/svg+xml",
  png: "image/png",
  txt: "text/plain; charset=utf-8",
};

/** The stylesheet, built once: its URL carries its content hash. */
export interface Stylesheet {
  name: string;
  asset: CompressedAsset;
}

/** Builds the stylesheet asset (the admin's CSS and the pages'). */
export async function buildStylesheet(): Promise<Stylesheet> {
  const asset = await compressedAsset(ADMIN_CSS + PAGE_CSS + DVR_CSS, "text/css; charset=utf-8");
  return { name: `styles-${asset.etag.slice(1, 13)}.css`, asset };
}

/** Reads `static/`'s files (manifest, icons) into memory. */
export async function readStaticFiles(dir = STATIC_DIR): Promise<Map<string, StaticAsset>> {
  const files = new Map<string, StaticAsset>();
  for await (const entry of Deno.readDir(dir)) {
    const type = TYPES[entry.name.split(".").pop() ?? ""];
    if (!entry.isFile || !type) continue;
    files.set(entry.name, await staticAsset(await Deno.readFile(dir + entry.name), type));
  }
  return files;
}

/** Registers the file routes (not in the OpenAPI document: they are not API). */
export function registerAssetRoutes(
  app: ApiApp,
  ui: UiContext,
  stylesheet: Promise<Stylesheet>,
  files: Promise<Map<string, StaticAsset>>,
): void {
  app.get(`${UI_ASSETS_PATH}:file`, async (c) => {
    const name = c.req.param("file");
    const css = await stylesheet;
    const asset = name === css.name ? css.asset : await ui.bundle.file(name);
    if (!asset) throw new NotFoundError(`File "${name.slice(0, 100)}" not found`);
    return immutableResponse(asset, {
      acceptEncoding: c.req.header("accept-encoding"),
      ifNoneMatch: c.req.header("if-none-match"),
    });
  });
  app.get("/static/:file", async (c) => {
    const name = c.req.param("file");
    const asset = (await files).get(name);
    if (!asset) throw new NotFoundError(`File "${name.slice(0, 100)}" not found`);
    return assetResponse(asset, c.req.header("if-none-match"));
  });
}
