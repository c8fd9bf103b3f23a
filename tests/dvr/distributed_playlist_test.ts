/**
 * The live edge across processes: the api process caches playlists, the indexer runs in another
 * process, and news of indexed segments reaches the api over PostgreSQL LISTEN/NOTIFY. A growing
 * playlist must list each segment the catalog has within a target duration, never stay stale.
 */
import assert from "node:assert/strict";
import { startAgent } from "../support/agent.ts";
import { startDistributed } from "../support/distributed.ts";
import { apiCall, setUpVehicle, signedLinks } from "../support/fleet_api.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const lastSequence = (playlist: string) =>
  Math.max(-1, ...[...playlist.matchAll(/\/(\d{10})\.m4s\?/g)].map((m) => Number(m[1])));

Deno.test({
  name: "a live playlist from the api process follows what the indexer process indexes",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using d = await startDistributed();
    const vehicle = await setUpVehicle(d.url);
    const spoolDir = await Deno.makeTempDir({ prefix: "motorcade-spool-" });
    await using _agent = startAgent({
      server: d.url,
      stateDir: vehicle.stateDir,
      spoolDir,
      cameras: { front: "testsrc" },
      args: ["--video-size", "320x180", "--bitrate", "300000"],
    });
    try {
      const cameraPath =
        `/api/v1/fleets/${vehicle.fleetId}/vehicles/${vehicle.vehicleId}/cameras/${vehicle.cameras.front}`;
      const links = await signedLinks(d.url, vehicle, "front", {
        from: new Date(Date.now() - 60_000),
      });
      const target = async () => {
        const playlist = await (await fetch(links.hls)).text();
        assert.doesNotMatch(playlist, /#EXT-X-ENDLIST/, "a growing playlist");
        return { last: lastSequence(playlist), playlist };
      };
      let checked = 0;
      const lags: number[] = [];
      for (let round = 0; checked < 5; round++) {
        assert.ok(round < 60, `only ${checked} segments checked`);
        // The catalog's truth (read uncached), then the cached playlist must catch up with it.
        const { recordings } = await apiCall(
          d.url,
          "GET",
          `${cameraPath}/recordings`,
          vehicle.ownerToken,
        );
        const indexed = (recordings[0]?.segmentCount ?? 0) - 1;
        if (indexed < 0) {
          await sleep(500);
          continue;
        }
        const since = Date.now();
        for (;;) {
          const { last, playlist } = await target();
          if (last >= indexed) break;
          assert.ok(
            Date.now() - since < 2_000,
            `segment ${indexed} is indexed, the playlist stops at ${last} after 2 s:\n${playlist}`,
          );
          await sleep(50);
        }
        lags.push(Date.now() - since);
        checked++;
        await sleep(1_000);
      }
      console.log(
        `playlist behind the catalog: at most ${Math.max(...lags)} ms over ${checked} reads`,
      );
    } finally {
      await Deno.remove(spoolDir, { recursive: true }).catch(() => {});
      await Deno.remove(vehicle.stateDir, { recursive: true }).catch(() => {});
    }
  },
});
