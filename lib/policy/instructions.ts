import type { Camera, Fleet, Recall, UploadPolicy } from "../catalog/mod.ts";
import { effectivePolicy } from "./policy.ts";
import type { ProxySettings, UploadMode } from "../catalog/mod.ts";

/** One camera's upload mode in a vehicle's instructions. */
export interface CameraInstruction {
  camera: string;
  mode: UploadMode;
  proxy: ProxySettings;
}

/** What the server asks of a vehicle: its cameras' policies and the recalls to fulfil. */
export interface InstructionsDocument {
  /** Changes whenever anything below changes (a digest of it). */
  version: string;
  /** The fleet's segment length; null: the agent's own. */
  segmentSeconds: number | null;
  cameras: CameraInstruction[];
  /** For cameras not listed. */
  defaultPolicy: { mode: UploadMode; proxy: ProxySettings };
  /** Every recall the vehicle should work on; any other it holds is dropped. */
  recalls: Array<{ id: string; camera: string; from: string; to: string }>;
}

/** Builds a vehicle's instructions from its fleet, cameras, policies and active recalls. */
export async function buildInstructions(
  fleet: Pick<Fleet, "segmentSeconds">,
  vehicleId: string,
  cameras: readonly Pick<Camera, "id" | "name">[],
  policies: readonly UploadPolicy[],
  recalls: readonly Pick<Recall, "id" | "cameraId" | "fromMs" | "toMs">[],
): Promise<InstructionsDocument> {
  const names = new Map(cameras.map((camera) => [camera.id, camera.name]));
  const vehicleWide = effectivePolicy(policies, vehicleId, null);
  const body = {
    segmentSeconds: fleet.segmentSeconds,
    cameras: [...cameras].sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
      .map((camera) => {
        const { mode, proxy } = effectivePolicy(policies, vehicleId, camera.id);
        return { camera: camera.name, mode, proxy };
      }),
    defaultPolicy: { mode: vehicleWide.mode, proxy: vehicleWide.proxy },
    recalls: recalls.filter((recall) => names.has(recall.cameraId)).map((recall) => ({
      id: recall.id,
      camera: names.get(recall.cameraId)!,
      from: new Date(recall.fromMs).toISOString(),
      to: new Date(recall.toMs).toISOString(),
    })),
  };
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(JSON.stringify(body)),
  );
  const version = Array.from(new Uint8Array(digest).slice(0, 12))
    .map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return { version, ...body };
}
