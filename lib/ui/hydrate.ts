/// <reference lib="dom" />
/** The browser half of the islands runtime: each island's bundle entry calls it. */
import { type ComponentType, h, hydrate } from "preact";
import { ISLAND_NAME_ATTRIBUTE, ISLAND_PROPS_ATTRIBUTE, ISLAND_TAG } from "./marker.ts";

/** Hydrates every marker of island `name` under `root` with `component`. */
export function hydrateIsland(
  name: string,
  // deno-lint-ignore no-explicit-any
  component: ComponentType<any>,
  root: ParentNode = document,
): void {
  const selector = `${ISLAND_TAG}[${ISLAND_NAME_ATTRIBUTE}="${name}"]`;
  for (const marker of root.querySelectorAll(selector)) {
    const props = JSON.parse(marker.getAttribute(ISLAND_PROPS_ATTRIBUTE) ?? "{}");
    hydrate(h(component, props), marker);
  }
}
