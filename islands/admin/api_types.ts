/** The API's JSON shapes as the admin islands read them, derived from the API's own schemas. */
import type { z } from "zod";
import type {
  CameraView,
  EnrolmentView,
  FleetView,
  UserView,
  VehicleView,
} from "../../routes/api/v1/views.ts";

export type Fleet = z.infer<typeof FleetView>;
export type User = z.infer<typeof UserView>;
export type Vehicle = z.infer<typeof VehicleView>;
export type Camera = z.infer<typeof CameraView>;
export type Enrolment = z.infer<typeof EnrolmentView>;

/** What the signed-in user may do in a fleet. */
export interface Abilities {
  /** Owners and fleet admins: vehicles, enrolment codes, users. */
  administer: boolean;
  /** Also operators: cameras. */
  operate: boolean;
}

/** The abilities of `user`'s role. */
export function abilitiesOf(user: User): Abilities {
  const administer = user.role === "owner" || user.role === "admin";
  return { administer, operate: administer || user.role === "operator" };
}
