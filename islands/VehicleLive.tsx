/// <reference lib="dom" />
/**
 * The vehicle page's live grid: one tile per camera with a "Watch live" button; a click opens the
 * live player (status, layer, quality) in that tile, so cameras play only when asked.
 */
import { useState } from "preact/hooks";
import { PageSession } from "../lib/ui/browser.ts";
import { LivePlayer } from "./live/LivePlayer.tsx";

/** Props of {@linkcode VehicleLive}. */
export interface VehicleLiveProps {
  fleetId: string;
  vehicleId: string;
  vehicleName: string;
  /** Each camera with its label (what the page calls it; null: its name). */
  cameras: { id: string; name: string; label?: string | null }[];
  /** Whether this server streams live video (LIVE on). */
  live: boolean;
}

/** A grid of a vehicle's cameras, each watched live on demand. */
export default function VehicleLive(props: VehicleLiveProps) {
  const { fleetId, vehicleId, vehicleName, cameras, live } = props;
  const [watching, setWatching] = useState<ReadonlySet<string>>(new Set());
  const toggle = (name: string, on: boolean) =>
    setWatching((old) => {
      const next = new Set(old);
      if (on) next.add(name);
      else next.delete(name);
      return next;
    });
  const vehicle = { id: vehicleId, fleetId, name: vehicleName };
  return (
    <ul class="live-grid" aria-label="Live cameras">
      {cameras.map((camera) => (
        <li key={camera.id} class="card live-tile">
          {watching.has(camera.name)
            ? (
              <LivePlayer
                session={PageSession.current()}
                vehicle={vehicle}
                camera={camera.name}
                cameraId={camera.id}
                onClose={() => toggle(camera.name, false)}
              />
            )
            : (
              <div class="live-idle">
                <strong>{camera.label ?? camera.name}</strong>
                {live
                  ? (
                    <button
                      type="button"
                      class="primary"
                      onClick={() => toggle(camera.name, true)}
                    >
                      Watch live <span class="visually-hidden">{camera.label ?? camera.name}</span>
                    </button>
                  )
                  : <span class="muted">Live video is off on this server</span>}
              </div>
            )}
        </li>
      ))}
    </ul>
  );
}
