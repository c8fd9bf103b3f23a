import type { Session } from "../../lib/ui/browser.ts";
import { abilitiesOf, type Fleet, type User } from "./api_types.ts";
import { UserList } from "./UserList.tsx";
import { VehicleList } from "./VehicleList.tsx";

/** One fleet: its vehicles with their cameras, and (for admins) its users. */
export function FleetPanel(
  { session, user, fleet }: { session: Session; user: User; fleet: Fleet },
) {
  const can = abilitiesOf(user);
  return (
    <div class="stack">
      <div>
        <h1>{fleet.name}</h1>
        <p class="muted mono">{fleet.id}</p>
      </div>
      <VehicleList session={session} fleet={fleet} can={can} />
      {can.administer && <UserList session={session} fleet={fleet} />}
    </div>
  );
}
