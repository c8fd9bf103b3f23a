/**
 * `GET /admin/fleets/{fleetId}/vehicles/{vehicleId}/cameras/{cameraId}?t=&from=&to=&day=`: a
 * camera's DVR page. The day's timeline (its recordings, holes between them) is read from the
 * catalog on the server and rendered with the page; the island plays, exports and shares.
 */
import CameraDvr from "../../islands/CameraDvr.tsx";
import { Island } from "../../lib/ui/mod.ts";
import { dayOf, zonedMidnight } from "../../lib/ui/zoned_time.ts";
import { definePage, may } from "./page.tsx";
import { PageTitle } from "./layout.tsx";
import { cameraPlace, paths, patterns } from "./paths.ts";

const DAY_MS = 86_400_000;

/**
 * The camera's DVR page: a day timeline (with where the video is and the vehicle's events), a
 * player, clip export, share links and full-quality recalls.
 */
export const cameraPage = definePage({
  pattern: patterns.camera,
  access: { kind: "user" },
  async load({ fleet, deps, params, query, user }) {
    const { vehicleId, cameraId } = params;
    const vehicle = await deps.registry.vehicle(fleet!.id, vehicleId);
    const camera = await deps.registry.camera(fleet!.id, vehicleId, cameraId);
    const timeZone = fleet!.timeZone ?? "UTC";
    const place = cameraPlace(query);
    const asked = query.get("day");
    const day = asked && /^\d{4}-\d\d-\d\d$/.test(asked) && !Number.isNaN(Date.parse(asked))
      ? asked
      : dayOf(place.t ?? place.from ?? new Date(), timeZone);
    const dayStart = zonedMidnight(day, timeZone);
    const dayEnd = zonedMidnight(
      dayOf(new Date(dayStart + DAY_MS + 3_600_000), timeZone),
      timeZone,
    );
    const recordings = await deps.catalog.recordings.list(fleet!.id, camera.id, dayStart, dayEnd);
    const shown = camera.label ?? camera.name;
    const title = `${vehicle.name} · ${shown}`;
    return {
      title,
      section: "vehicles",
      body: (
        <>
          <nav aria-label="Breadcrumb" class="breadcrumb">
            <a href={paths.vehicle(fleet!.id, vehicle.id)}>{vehicle.name}</a> › camera {shown}
          </nav>
          <PageTitle title={title} />
          <Island
            name="CameraDvr"
            component={CameraDvr}
            props={{
              fleetId: fleet!.id,
              vehicleId: vehicle.id,
              cameraId: camera.id,
              cameraName: camera.name,
              cameraLabel: shown,
              timeZone,
              day,
              dayStart,
              dayEnd,
              recordings: recordings.map((r) => ({
                id: r.id,
                fromMs: r.startedAt.getTime(),
                toMs: r.endedAt.getTime(),
                rendition: r.rendition,
              })),
              t: place.t?.getTime() ?? null,
              from: place.from?.getTime() ?? null,
              to: place.to?.getTime() ?? null,
              // As the recalls API allows: operators, admins and owners file and cancel them.
              canRecall: may(user, ["admin", "operator"]),
            }}
          />
        </>
      ),
    };
  },
});
