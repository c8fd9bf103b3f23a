/// <reference lib="dom" />
/** The browser half of the islands runtime: it is the entry of the island bundle. */
import { type ComponentType, h, hydrate } from "preact";
import { ISLAND_NAME_ATTRIBUTE, ISLAND_PROPS_ATTRIBUTE, ISLAND_TAG } from "./marker.ts";

/** Hydrates every island marker under `root` with the component of its name. */
export function hydrateIslands(
  // deno-lint-ignore no-explicit-any
  islands: Record<string, ComponentType<any>>,
  root: ParentNode = document,
): void {
  for (const marker of root.querySelectorAll(ISLAND_TAG)) {
    const name = marker.getAttribute(ISLAND_NAME_ATTRIBUTE) ?? "";
    const component = Object.hasOwn(islands, name) ? islands[name] : undefined;
    if (!component) {
      console.error(`Cannot hydrate island "${name}": the bundle has no island of that name`);
      continue;
    }
    const props = JSON.parse(marker.getAttribute(ISLAND_PROPS_ATTRIBUTE) ?? "{}");
    hydrate(h(component, props), marker);
  }
}
