import type { Role } from "../catalog/mod.ts";

/** A signed-in person, from a user access token. */
export interface UserPrincipal {
  kind: "user";
  userId: string;
  role: Role;
  /** The fleet the role applies to; null for platform owners. */
  fleetId: string | null;
  /** The refresh-token family the access token was issued from (logout revokes it). */
  sessionId: string;
}

/** A vehicle, from a device token: it acts only for itself and its cameras. */
export interface DevicePrincipal {
  kind: "device";
  vehicleId: string;
  fleetId: string;
  credentialId: string;
}

/** Whoever made an authenticated request. */
export type Principal = UserPrincipal | DevicePrincipal;
