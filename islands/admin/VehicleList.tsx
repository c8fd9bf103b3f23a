/// <reference lib="dom" />
import { useState } from "preact/hooks";
import type { Session } from "../../lib/ui/browser.ts";
import type { Abilities, Enrolment, Fleet, Vehicle } from "./api_types.ts";
import { CameraList } from "./CameraList.tsx";
import { EnrolmentCode } from "./EnrolmentCode.tsx";
import { ErrorMessage } from "./ErrorMessage.tsx";
import { formValues, useAction, useResource } from "./hooks.ts";

/** Props of {@linkcode VehicleList}. */
export interface VehicleListProps {
  session: Session;
  fleet: Fleet;
  can: Abilities;
}

/** A fleet's vehicles: registering one, its enrolment code, and each vehicle's cameras. */
export function VehicleList({ session, fleet, can }: VehicleListProps) {
  const path = `/api/v1/fleets/${fleet.id}/vehicles`;
  const vehicles = useResource<{ vehicles: Vehicle[] }>(session, path);
  const [enrolment, setEnrolment] = useState<{ vehicleName: string; enrolment: Enrolment }>();
  const [open, setOpen] = useState<string | null>(null);
  const action = useAction();

  const register = (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const { name } = formValues(event);
    action.run(async () => {
      const created = await session.request<{ vehicle: Vehicle; enrolment: Enrolment }>(
        "POST",
        path,
        { name },
      );
      form.reset();
      setEnrolment({ vehicleName: created.vehicle.name, enrolment: created.enrolment });
      vehicles.reload();
    });
  };
  const issueCode = (vehicle: Vehicle) =>
    action.run(async () => {
      const issued = await session.request<Enrolment>("POST", `${path}/${vehicle.id}/credentials`);
      setEnrolment({ vehicleName: vehicle.name, enrolment: issued });
    });

  const list = vehicles.data?.vehicles ?? [];
  return (
    <section class="card">
      <div class="card-header">
        <h2>Vehicles</h2>
        {vehicles.data && <span class="muted">{list.length} registered</span>}
      </div>
      {enrolment && <EnrolmentCode {...enrolment} onDismiss={() => setEnrolment(undefined)} />}
      <ErrorMessage error={vehicles.error} />
      {vehicles.loading && !vehicles.data && <p class="muted">Loading vehicles…</p>}
      {vehicles.data && (list.length
        ? (
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>Id</th>
                <th>Registered</th>
                <th></th>
              </tr>
            </thead>
            <tbody>
              {list.map((vehicle) => {
                const expanded = open === vehicle.id;
                return [
                  <tr key={vehicle.id} class={expanded ? "expanded" : undefined}>
                    <td>
                      <strong>{vehicle.name}</strong>
                    </td>
                    <td class="mono muted">{vehicle.id}</td>
                    <td class="muted">{new Date(vehicle.createdAt).toLocaleDateString()}</td>
                    <td class="actions">
                      <button
                        type="button"
                        class="small"
                        aria-expanded={expanded}
                        onClick={() => setOpen(expanded ? null : vehicle.id)}
                      >
                        {expanded ? "Hide cameras" : "Cameras"}
                      </button>
                      {can.administer && (
                        <button
                          type="button"
                          class="small"
                          disabled={action.busy}
                          onClick={() => issueCode(vehicle)}
                        >
                          New enrolment code
                        </button>
                      )}
                    </td>
                  </tr>,
                  expanded && (
                    <tr key={`${vehicle.id}-cameras`} class="expanded">
                      <td colSpan={4}>
                        <CameraList session={session} vehicle={vehicle} canAdd={can.operate} />
                      </td>
                    </tr>
                  ),
                ];
              })}
            </tbody>
          </table>
        )
        : <p class="empty">No vehicles yet.</p>)}
      {can.administer && (
        <form class="inline-form" onSubmit={register}>
          <div class="field">
            <label for="vehicle-name">Register a vehicle</label>
            <input id="vehicle-name" name="name" placeholder="Plate or fleet number" required />
          </div>
          <button type="submit" class="primary" disabled={action.busy}>Register vehicle</button>
        </form>
      )}
      <ErrorMessage error={action.error} onDismiss={action.clear} />
    </section>
  );
}
