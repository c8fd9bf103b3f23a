/**
 * The web interface's server side: pages rendered with Preact, islands hydrated in the browser
 * from one esbuild bundle, and static assets served from memory with ETags.
 */
export { assetResponse, matchesEtag, type StaticAsset, staticAsset } from "./asset.ts";
export { IslandBundle, type IslandBundleOptions } from "./bundle.ts";
export { Island, type IslandProps } from "./island.ts";
export { ISLAND_TAG } from "./marker.ts";
export { ISLANDS_PATH, Page, type PageProps, pageResponse, STYLES_PATH } from "./page.tsx";
export { ADMIN_CSS } from "./styles.ts";
