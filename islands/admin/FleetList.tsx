/// <reference lib="dom" />
import type { Session } from "../../lib/ui/browser.ts";
import type { Fleet } from "./api_types.ts";
import { ErrorMessage } from "./ErrorMessage.tsx";
import { formValues, type Resource, useAction } from "./hooks.ts";

/** Props of {@linkcode FleetList}. */
export interface FleetListProps {
  session: Session;
  fleets: Resource<{ fleets: Fleet[] }>;
  selected?: string;
  onSelect(fleet: Fleet): void;
}

/** Every fleet, for the platform's owners: choosing one, and creating one. */
export function FleetList({ session, fleets, selected, onSelect }: FleetListProps) {
  const create = useAction();
  const submit = (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const { name } = formValues(event);
    create.run(async () => {
      const fleet = await session.request<Fleet>("POST", "/api/v1/fleets", { name });
      form.reset();
      fleets.reload();
      onSelect(fleet);
    });
  };
  const list = fleets.data?.fleets ?? [];
  return (
    <aside class="card">
      <h2>Fleets</h2>
      <ErrorMessage error={fleets.error} />
      {fleets.data && (list.length
        ? (
          <ul class="fleet-list">
            {list.map((fleet) => (
              <li key={fleet.id}>
                <button
                  type="button"
                  aria-current={fleet.id === selected}
                  onClick={() => onSelect(fleet)}
                >
                  {fleet.name}
                </button>
              </li>
            ))}
          </ul>
        )
        : <p class="empty">No fleets yet.</p>)}
      <form class="inline-form" onSubmit={submit}>
        <div class="field">
          <label for="fleet-name">New fleet</label>
          <input id="fleet-name" name="name" maxLength={100} required />
        </div>
        <button type="submit" class="primary" disabled={create.busy}>Create fleet</button>
      </form>
      <ErrorMessage error={create.error} onDismiss={create.clear} />
    </aside>
  );
}
