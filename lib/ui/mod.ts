/**
 * The web interface's server side: pages rendered with Preact, islands hydrated in the browser
 * from one esbuild entry each (shared chunks, content-hashed, compressed), and static assets.
 *
 * @example
 * const bundle = new IslandBundle();
 * await bundle.build(); // at server start
 * return await renderPage({ title: "Fleets", body: <Layout>…</Layout>, bundle, stylesheet });
 */
export {
  assetResponse,
  type CompressedAsset,
  compressedAsset,
  immutableResponse,
  matchesEtag,
  type StaticAsset,
  staticAsset,
} from "./asset.ts";
export {
  IslandBundle,
  type IslandBundleOptions,
  type IslandScripts,
  type IslandSize,
  UI_ASSETS_PATH,
} from "./bundle.ts";
export { collectIslands, Island, type IslandProps } from "./island.ts";
export { ISLAND_TAG } from "./marker.ts";
export {
  CONTENT_SECURITY_POLICY,
  MANIFEST_PATH,
  type PageDocument,
  renderPage,
  THEME_COLOR,
} from "./page.tsx";
export { ADMIN_CSS } from "./styles.ts";
