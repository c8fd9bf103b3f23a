/// <reference lib="dom" />
import { useEffect, useRef, useState } from "preact/hooks";
import {
  type ApiSession,
  type LiveLayer,
  type LiveQuality,
  type LiveState,
  LiveViewer,
} from "../../lib/ui/browser.ts";

/** Props of {@linkcode LivePlayer}. */
export interface LivePlayerProps {
  /** Where the player gets access tokens (the page's `PageSession`). */
  session: Pick<ApiSession, "accessToken">;
  /** The vehicle the camera is on (`name` is shown). */
  vehicle: { id: string; fleetId: string; name: string };
  /** The camera's name, such as `front` (shown). */
  camera: string;
  /** The camera's id (`cam_…`), which it is watched by; without it, by its (deprecated) name. */
  cameraId?: string;
  onClose: () => void;
}

const STATE_TEXT: Record<LiveState, string> = {
  connecting: "Connecting…",
  starting: "Asking the vehicle to publish…",
  waiting: "Waiting for video…",
  live: "Live",
  "vehicle-offline": "Vehicle offline — waiting",
  reconnecting: "Reconnecting…",
  unavailable: "Live video unavailable — retrying",
  failed: "Cannot watch this camera",
  closed: "Closed",
};

const QUALITIES: Array<[LiveQuality, string]> = [
  ["auto", "Auto"],
  ["low", "Low"],
  ["medium", "Medium"],
  ["high", "High"],
];

/** A layer's name: its height when the server says it (`480p`), else its rank. */
export function layerName({ layer, layers, heights }: LiveLayer): string | null {
  const height = heights?.[layer];
  if (height) return `${height}p`;
  if (layers === 3) return ["low", "medium", "high"][layer] ?? null;
  return null;
}

/** A camera's live video, its status, layer and quality, from a {@linkcode LiveViewer}. */
export function LivePlayer({ session, vehicle, camera, cameraId, onClose }: LivePlayerProps) {
  const video = useRef<HTMLVideoElement>(null);
  const viewer = useRef<LiveViewer | null>(null);
  const [status, setStatus] = useState<{ state: LiveState; detail?: string }>({
    state: "connecting",
  });
  const [layer, setLayer] = useState<LiveLayer | null>(null);
  const [quality, setQuality] = useState<LiveQuality>("auto");
  const [size, setSize] = useState<string | null>(null);

  useEffect(() => {
    const live = new LiveViewer({
      token: (options) => session.accessToken(options),
      fleetId: vehicle.fleetId,
      vehicleId: vehicle.id,
      cameraId,
      camera,
      onState: (state, detail) => setStatus({ state, detail }),
      onLayer: setLayer,
      video: () => video.current,
      onStream: (stream) => {
        const element = video.current;
        if (!element) return;
        element.srcObject = stream;
        if (stream) element.play().catch(() => {}); // autoplay does it when allowed
      },
    });
    viewer.current = live;
    live.start();
    return () => {
      viewer.current = null;
      live.close();
    };
  }, [session, vehicle.fleetId, vehicle.id, camera, cameraId]);

  const choose = (event: Event) => {
    const chosen = (event.currentTarget as HTMLSelectElement).value as LiveQuality;
    setQuality(chosen);
    viewer.current?.setQuality(chosen);
  };
  const showSize = (event: Event) => {
    const element = event.currentTarget as HTMLVideoElement;
    setSize(element.videoWidth ? `${element.videoWidth}×${element.videoHeight}` : null);
  };

  const { state, detail } = status;
  const tone = state === "live" ? "on" : state === "failed" ? "bad" : "";
  const layerText = layer && layerName(layer);
  const selectId = `quality-${vehicle.id}-${camera}`;
  return (
    <figure class="live-player" data-state={state} aria-label={`${vehicle.name} ${camera} live`}>
      <video ref={video} muted autoplay playsinline onResize={showSize} />
      <figcaption class="live-bar">
        <strong>
          {vehicle.name} · <code>{camera}</code>
        </strong>
        <span class={`live-state ${tone}`} role="status" data-testid="live-status">
          {STATE_TEXT[state]}
        </span>
        {layerText && <span class="badge" title="Layer being received">{layerText}</span>}
        {size && <span class="muted mono" title="Decoded picture size">{size}</span>}
        <span class="live-actions">
          <label for={selectId}>Quality</label>
          <select id={selectId} value={quality} onChange={choose}>
            {QUALITIES.map(([value, label]) => <option key={value} value={value}>{label}</option>)}
          </select>
          <button type="button" class="small" onClick={onClose}>Close</button>
        </span>
        {detail && <p class="live-detail muted">{detail}</p>}
      </figcaption>
    </figure>
  );
}
