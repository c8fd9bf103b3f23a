/// <reference lib="dom" />
import { useState } from "preact/hooks";
import type { Session } from "../../lib/ui/browser.ts";
import type { Camera, Vehicle } from "./api_types.ts";
import { ErrorMessage } from "./ErrorMessage.tsx";
import { formValues, useAction, useResource } from "./hooks.ts";
import { LivePlayer } from "../live/LivePlayer.tsx";

/** Live players open at once per vehicle; opening one more closes the oldest. */
const MAX_PLAYERS = 4;

/** Props of {@linkcode CameraList}. */
export interface CameraListProps {
  session: Session;
  vehicle: Vehicle;
  /** Whether the user may add cameras. */
  canAdd: boolean;
}

/** A vehicle's cameras, watching them live, and adding one. */
export function CameraList({ session, vehicle, canAdd }: CameraListProps) {
  const path = `/api/v1/fleets/${vehicle.fleetId}/vehicles/${vehicle.id}/cameras`;
  const cameras = useResource<{ cameras: Camera[] }>(session, path);
  const add = useAction();
  const [watching, setWatching] = useState<string[]>([]);
  const watch = (camera: string) =>
    setWatching((open) => [...open.filter((c) => c !== camera), camera].slice(-MAX_PLAYERS));
  const unwatch = (camera: string) => setWatching((open) => open.filter((c) => c !== camera));
  const submit = (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const { name } = formValues(event);
    add.run(async () => {
      await session.request("POST", path, { name });
      form.reset();
      cameras.reload();
    });
  };
  const list = cameras.data?.cameras ?? [];
  return (
    <div class="cameras">
      <ErrorMessage error={cameras.error} />
      {cameras.data && (list.length
        ? (
          <ul>
            {list.map((camera) => (
              <li key={camera.id}>
                <code>{camera.name}</code> <span class="muted">{camera.id}</span>{" "}
                <button
                  type="button"
                  class="small"
                  disabled={watching.includes(camera.name)}
                  onClick={() => watch(camera.name)}
                >
                  Watch live
                </button>
              </li>
            ))}
          </ul>
        )
        : <p class="empty">No cameras yet.</p>)}
      {watching.length > 0 && (
        <div class="live-players">
          {watching.map((camera) => (
            <LivePlayer
              key={camera}
              session={session}
              vehicle={vehicle}
              camera={camera}
              onClose={() => unwatch(camera)}
            />
          ))}
        </div>
      )}
      {canAdd && (
        <form class="inline-form" onSubmit={submit}>
          <div class="field">
            <label for={`camera-${vehicle.id}`}>New camera</label>
            <input
              id={`camera-${vehicle.id}`}
              name="name"
              placeholder="front, cabin-2"
              required
            />
          </div>
          <button type="submit" disabled={add.busy}>Add camera</button>
        </form>
      )}
      <ErrorMessage error={add.error} onDismiss={add.clear} />
    </div>
  );
}
