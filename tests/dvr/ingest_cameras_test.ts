import assert from "node:assert/strict";
import type { Catalog } from "../../lib/catalog/mod.ts";
import { Ingest, type Upload } from "../../lib/ingest/mod.ts";
import { contentDigest, makeCmaf } from "../support/media.ts";
import { makeFleet, startTestPlatform } from "../support/platform.ts";

const cmaf = await makeCmaf({ seconds: 2 });
const segment = cmaf.segments[0].bytes;

Deno.test("ingest remembers a vehicle's cameras a while: new ones at once, deleted ones after", async () => {
  await using platform = await startTestPlatform();
  const fleet = await makeFleet(platform, "Acme");
  let lookups = 0;
  const catalog = {
    cameras: {
      list: (fleetId: string, vehicleId: string) => {
        lookups++;
        return platform.catalog.cameras.list(fleetId, vehicleId);
      },
    },
  } as unknown as Catalog;
  let clock = Date.now();
  const ingest = new Ingest(catalog, platform.store, platform.bus, {
    maxClockSkewMs: 60_000,
    cameraCacheMs: 5000,
    now: () => clock,
  });
  const digest = await contentDigest(segment);
  let sequence = 0;
  const upload = (camera: string) =>
    ingest.acceptSegment(
      {
        fleetId: fleet.fleetId,
        vehicleId: fleet.vehicleId,
        cameraName: camera,
        recordingId: "r1",
      },
      { sequence: sequence++, startMs: clock - 30_000, durationMs: 2000 },
      { body: ReadableStream.from([segment]), digest, maxBytes: 10_000_000 } satisfies Upload,
    );

  await upload("front");
  await upload("front");
  assert.equal(lookups, 1, "the second upload of the vehicle asks the catalog nothing");

  await platform.registry.addCamera(fleet.fleetId, fleet.vehicleId, "rear");
  await upload("rear"); // unknown to the memory: the catalog is asked again
  assert.equal(lookups, 2);

  await platform.registry.deleteCamera(fleet.fleetId, fleet.vehicleId, fleet.cameraId);
  clock += 5000;
  await assert.rejects(upload("front"), /Camera "front" is not registered/);
  assert.equal(lookups, 3);
});
