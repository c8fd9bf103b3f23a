import { type ComponentType, h } from "preact";
import {
  ISLAND_NAME,
  ISLAND_NAME_ATTRIBUTE,
  ISLAND_PROPS_ATTRIBUTE,
  ISLAND_TAG,
} from "./marker.ts";

/** Props of {@linkcode Island}. */
export interface IslandProps<P extends object> {
  /** The island's file name in `islands/` without `.tsx`: the browser hydrates by this name. */
  name: string;
  component: ComponentType<P>;
  /** Serialised as JSON for the browser, so only JSON values survive. */
  props: P;
}

/** Islands rendered by the render in progress (rendering is synchronous: one at a time). */
let rendered: Set<string> | null = null;

/**
 * Runs `render` and returns what it returned with the names of the islands it rendered, so the
 * page loads only their scripts.
 */
export function collectIslands<T>(render: () => T): { result: T; islands: string[] } {
  const outer = rendered;
  const islands = new Set<string>();
  rendered = islands;
  try {
    const result = render();
    return { result, islands: [...islands] };
  } finally {
    rendered = outer;
  }
}

/**
 * Server-renders an island inside its marker element, with its props as JSON, for its bundle
 * entry to hydrate. Islands do not nest: an island's children are plain components.
 *
 * @example <Island name="SignOutButton" component={SignOutButton} props={{ csrf }} />
 */
export function Island<P extends object>({ name, component, props }: IslandProps<P>) {
  if (!ISLAND_NAME.test(name)) {
    throw new TypeError(`Cannot render island "${name}": the name must be a PascalCase file name`);
  }
  rendered?.add(name);
  return h(
    ISLAND_TAG,
    { [ISLAND_NAME_ATTRIBUTE]: name, [ISLAND_PROPS_ATTRIBUTE]: JSON.stringify(props) },
    h(component, props),
  );
}
