/** A camera with recordings indexed straight into the catalog, for the playback tests. */
import type { SegmentRecord } from "../../lib/catalog/mod.ts";
import { recordingPrefix } from "../../lib/ingest/mod.ts";
import { Playback } from "../../lib/playback/mod.ts";
import { OWNER, startTestPlatform, type TestPlatform } from "../support/platform.ts";

/** 2020-01-06T03:00:00.000Z: long past, so a closed range is always VOD. */
export const T0 = Date.UTC(2020, 0, 6, 3);

/** A platform with one camera, a Playback on a clock the test moves, and an owner token. */
export interface PlaybackFixture extends AsyncDisposable {
  platform: TestPlatform;
  camera: { fleetId: string; vehicleId: string; cameraId: string };
  /** Playback as the platform wires it, but reading `clock.now` for the time. */
  playback: Playback;
  clock: { now: number };
  ownerToken: string;
  /**
   * Indexes `count` back-to-back segments of a recording from `sequence`, as the indexer would,
   * then marks the camera changed, as the indexer's hook does. Segments are `.m4s` once the
   * recording has an init segment, else `.ts`, unless `extension` says otherwise.
   */
  index(
    recordingId: string,
    options: {
      sequence?: number;
      count: number;
      startMs: number;
      durationMs?: number;
      extension?: string;
    },
  ): Promise<void>;
  /** Records the recording's init segment (fMP4). */
  init(recordingId: string): Promise<void>;
  /** The object key of a segment, as ingest names it. */
  key(recordingId: string, sequence: number, extension?: string): string;
}

export async function playbackFixture(): Promise<PlaybackFixture> {
  const platform = await startTestPlatform();
  const fleet = await platform.registry.createFleet("Acme");
  const { vehicle } = await platform.registry.registerVehicle(fleet.id, "bus-1");
  const added = await platform.registry.addCamera(fleet.id, vehicle.id, "front");
  const camera = { fleetId: fleet.id, vehicleId: vehicle.id, cameraId: added.id };
  const clock = { now: T0 + 7 * 86_400_000 };
  const playback = new Playback(platform.catalog, platform.store, platform.identity.urls, {
    mediaBaseUrl: platform.config.mediaBaseUrl,
    mediaUrlTtlMs: platform.config.mediaUrlTtlMs,
    gapToleranceMs: platform.config.gapToleranceMs,
    now: () => clock.now,
  });
  const { accessToken } = await platform.login(OWNER.email, OWNER.password);
  const inits = new Set<string>();
  const key = (recordingId: string, sequence: number, extension = "m4s") =>
    `${recordingPrefix(camera.fleetId, camera.vehicleId, camera.cameraId, recordingId)}${
      String(sequence).padStart(10, "0")
    }.${extension}`;
  return {
    platform,
    camera,
    playback,
    clock,
    ownerToken: accessToken,
    key,
    async init(recordingId) {
      inits.add(recordingId);
      await platform.catalog.recordings.setInit(
        { ...camera, recordingId },
        `${
          recordingPrefix(camera.fleetId, camera.vehicleId, camera.cameraId, recordingId)
        }init.mp4`,
      );
      playback.cache.invalidate(camera.cameraId);
      platform.playback.cache.invalidate(camera.cameraId);
    },
    async index(recordingId, { sequence = 0, count, startMs, durationMs = 2000, extension }) {
      const segments: SegmentRecord[] = Array.from({ length: count }, (_, i) => ({
        ...camera,
        recordingId,
        sequence: sequence + i,
        startMs: startMs + i * durationMs,
        durationMs,
        size: 400_000 + i,
        sha256: "AAAA",
        objectKey: key(
          recordingId,
          sequence + i,
          extension ?? (inits.has(recordingId) ? "m4s" : "ts"),
        ),
      }));
      await platform.catalog.recordings.indexSegments(segments);
      playback.cache.invalidate(camera.cameraId);
      platform.playback.cache.invalidate(camera.cameraId);
    },
    [Symbol.asyncDispose]: () => platform[Symbol.asyncDispose](),
  };
}
