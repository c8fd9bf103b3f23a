import { useState } from "preact/hooks";
import type { Session } from "../../lib/ui/browser.ts";
import type { Fleet, User } from "./api_types.ts";
import { ErrorMessage } from "./ErrorMessage.tsx";
import { FleetList } from "./FleetList.tsx";
import { FleetPanel } from "./FleetPanel.tsx";
import { useResource } from "./hooks.ts";

/** What a signed-in user manages: owners choose among all fleets, others see their own. */
export function Console({ session, user }: { session: Session; user: User }) {
  const fleets = useResource<{ fleets: Fleet[] }>(session, "/api/v1/fleets");
  const [chosen, setChosen] = useState<Fleet>();

  if (user.role !== "owner") {
    const fleet = fleets.data?.fleets[0];
    return (
      <main class="container">
        <ErrorMessage error={fleets.error} />
        {fleet
          ? <FleetPanel session={session} user={user} fleet={fleet} />
          : fleets.loading && <p class="muted">Loading your fleet…</p>}
      </main>
    );
  }
  return (
    <main class="container layout">
      <FleetList
        session={session}
        fleets={fleets}
        selected={chosen?.id}
        onSelect={setChosen}
      />
      {chosen
        ? <FleetPanel key={chosen.id} session={session} user={user} fleet={chosen} />
        : (
          <section class="card">
            <h2>Welcome</h2>
            <p class="muted">
              Choose a fleet to manage its vehicles, cameras and users, or create a new one.
            </p>
          </section>
        )}
    </main>
  );
}
