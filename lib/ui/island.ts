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

/**
 * Server-renders an island inside its marker element, with its props as JSON, for the browser
 * bundle to hydrate.
 *
 * @example <Island name="AdminApp" component={AdminApp} props={{ title: "Motorcade" }} />
 */
export function Island<P extends object>({ name, component, props }: IslandProps<P>) {
  if (!ISLAND_NAME.test(name)) {
    throw new TypeError(`Cannot render island "${name}": the name must be a PascalCase file name`);
  }
  return h(
    ISLAND_TAG,
    { [ISLAND_NAME_ATTRIBUTE]: name, [ISLAND_PROPS_ATTRIBUTE]: JSON.stringify(props) },
    h(component, props),
  );
}
