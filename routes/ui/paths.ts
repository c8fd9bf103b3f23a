/**
 * The pages' URL scheme: every link and redirect is built here, and every page route's pattern
 * comes from here, so a URL is spelled once. Instants in query strings are ISO 8601 in UTC
 * (`2026-12-06T08:14:00.000Z`).
 *
 * @example paths.camera("flt_1", "veh_2", "cam_3", { t: new Date() })
 */

/** Route patterns (Hono syntax) of the pages. */
export const patterns = {
  home: "/admin",
  signIn: "/admin/sign-in",
  signOut: "/admin/sign-out",
  sessionToken: "/admin/session/token",
  fleets: "/admin/fleets",
  fleet: "/admin/fleets/:fleetId",
  vehicles: "/admin/fleets/:fleetId/vehicles",
  vehicle: "/admin/fleets/:fleetId/vehicles/:vehicleId",
  camera: "/admin/fleets/:fleetId/vehicles/:vehicleId/cameras/:cameraId",
  users: "/admin/fleets/:fleetId/users",
  settings: "/admin/fleets/:fleetId/settings",
  health: "/admin/health",
  watch: "/admin/watch",
} as const;

/** A DVR page's place: the time played (`t`) and a selected range (`from`–`to`). */
export interface CameraPlace {
  t?: Date;
  from?: Date;
  to?: Date;
}

const seg = encodeURIComponent;

/** Builders of page URLs. */
export const paths = {
  /** Where the web interface starts: redirects to the signed-in user's home, else sign-in. */
  home: (): string => patterns.home,
  /** The sign-in page; `next` is where to go after (a path under /admin). */
  signIn: (next?: string): string =>
    next ? `${patterns.signIn}?next=${seg(next)}` : patterns.signIn,
  signOut: (): string => patterns.signOut,
  sessionToken: (): string => patterns.sessionToken,
  fleets: (): string => patterns.fleets,
  /** A fleet's dashboard. */
  fleet: (fleetId: string): string => `/admin/fleets/${seg(fleetId)}`,
  vehicles: (fleetId: string): string => `${paths.fleet(fleetId)}/vehicles`,
  vehicle: (fleetId: string, vehicleId: string): string =>
    `${paths.vehicles(fleetId)}/${seg(vehicleId)}`,
  /** A camera's DVR page at a place in time. */
  camera: (fleetId: string, vehicleId: string, cameraId: string, place: CameraPlace = {}) => {
    const page = `${paths.vehicle(fleetId, vehicleId)}/cameras/${seg(cameraId)}`;
    // The dashboard links 1,000 cameras without a place: no query to build for those.
    if (!place.t && !place.from && !place.to) return page;
    const query = new URLSearchParams();
    if (place.t) query.set("t", place.t.toISOString());
    if (place.from) query.set("from", place.from.toISOString());
    if (place.to) query.set("to", place.to.toISOString());
    const q = query.toString();
    return `${page}${q ? `?${q}` : ""}`;
  },
  users: (fleetId: string): string => `${paths.fleet(fleetId)}/users`,
  settings: (fleetId: string): string => `${paths.fleet(fleetId)}/settings`,
  health: (): string => patterns.health,
  /** The public player of a shared link (`hls`: the signed playlist URL). */
  watch: (hls: string): string => `${patterns.watch}?hls=${seg(hls)}`,
};

/** Reads a DVR place from a query string; a value that is not an ISO 8601 instant is dropped. */
export function cameraPlace(query: URLSearchParams): CameraPlace {
  const instant = (name: string) => {
    const value = query.get(name);
    if (!value || !/^\d{4}-\d\d-\d\dT/.test(value)) return undefined;
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? undefined : date;
  };
  return { t: instant("t"), from: instant("from"), to: instant("to") };
}

/**
 * Where to go after signing in: `next` when it is a path of the pages (never another site, never
 * `//host`), else undefined.
 */
export function safeNext(next: string | null | undefined): string | undefined {
  if (!next || !next.startsWith("/admin") || next.startsWith("//")) return undefined;
  if (/[\\\s]/.test(next) || next.startsWith(patterns.signIn)) return undefined;
  return next;
}

/**
 * Whether `path` (a route pattern or a request path) belongs to the web interface: its pages,
 * their actions and files, which are for people and so not in the API's OpenAPI document.
 */
export function isUiPath(path: string): boolean {
  return path === "/" || /^\/(admin|static)(\/|$)/.test(path);
}
