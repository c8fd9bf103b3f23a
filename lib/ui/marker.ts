/** The element that marks an island in server-rendered HTML, shared by server and browser. */
export const ISLAND_TAG = "motorcade-island";
/** Attribute holding the island's name: the file name in `islands/` without `.tsx`. */
export const ISLAND_NAME_ATTRIBUTE = "data-name";
/** Attribute holding the island's props as JSON. */
export const ISLAND_PROPS_ATTRIBUTE = "data-props";
/** What an island's name looks like: a PascalCase file name. */
export const ISLAND_NAME = /^[A-Z][A-Za-z0-9]*$/;
