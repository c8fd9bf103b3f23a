/// <reference lib="dom" />
/**
 * The fleet dashboard's live half: the filter and sort form (held in the URL query, so reload
 * and Back keep them), and the status stream (`GET …/status/events`, read with fetch and the
 * page's bearer token, reconnecting with backoff) that re-renders the server-rendered table in
 * `#dashboard-vehicles`. Its props are small: the vehicles come from the stream's snapshot, not
 * from the page a second time.
 */
import { render } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, PageSession } from "../lib/ui/browser.ts";
import { paths } from "../routes/ui/paths.ts";
import {
  applyQuery,
  type DashboardQuery,
  readQuery,
  type VehicleStatusJson,
  writeQuery,
} from "./dashboard/model.ts";
import { VehicleTable } from "./dashboard/VehicleTable.tsx";

/** Props of the dashboard island. */
export interface FleetDashboardProps {
  fleetId: string;
  /** Vehicles of the fleet and how many the page shows, as rendered. */
  total: number;
  shown: number;
  query: DashboardQuery;
}

/** The element holding the table the island keeps current. */
export const TABLE_ID = "dashboard-vehicles";

type Connection = "connecting" | "live" | "reconnecting" | "signed-out";

const CONNECTION_TEXT: Record<Connection, string> = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  "signed-out": "Signed out: reload the page to sign in again",
};

const MAX_BACKOFF_MS = 15_000;
const ANNOUNCE_EVERY_MS = 2_000;
const AGE_TICK_MS = 10_000;

/** Server-sent events of `body`, one `{event, data}` at a time. */
async function* events(body: ReadableStream<Uint8Array>) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = "message", data = "";
        for (const line of block.split("\n")) {
          if (line.startsWith("event: ")) event = line.slice(7);
          else if (line.startsWith("data: ")) data += line.slice(6);
        }
        if (data) yield { event, data: JSON.parse(data) };
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
  });

/** The dashboard's filter form, connection state and announcements; keeps the table current. */
export default function FleetDashboard(props: FleetDashboardProps) {
  const [query, setQuery] = useState(props.query);
  const [text, setText] = useState(props.query.text);
  const [connection, setConnection] = useState<Connection>("connecting");
  const [announcement, setAnnouncement] = useState("");
  const [counts, setCounts] = useState({ total: props.total, shown: props.shown });
  const [version, setVersion] = useState(0);
  const vehicles = useRef<Map<string, VehicleStatusJson> | null>(null);
  const changes = useRef<VehicleStatusJson[]>([]);
  const typing = useRef(false);

  // Follow the status stream; reconnect with backoff.
  useEffect(() => {
    const abort = new AbortController();
    const { signal } = abort;
    const url = `/api/v1/fleets/${encodeURIComponent(props.fleetId)}/status/events`;
    void (async () => {
      let failures = 0;
      let fresh = false;
      while (!signal.aborted) {
        try {
          const token = await PageSession.current().accessToken({ fresh });
          fresh = false;
          const response = await fetch(url, {
            headers: { authorization: `Bearer ${token}`, accept: "text/event-stream" },
            cache: "no-store",
            signal,
          });
          if (response.status === 401) fresh = true;
          if (!response.ok || !response.body) {
            await response.body?.cancel();
            throw new Error(`status stream answered ${response.status}`);
          }
          for await (const { event, data } of events(response.body)) {
            if (event === "snapshot") {
              vehicles.current = new Map(
                (data.vehicles as VehicleStatusJson[]).map((v) => [v.vehicle.id, v]),
              );
              failures = 0;
              setConnection("live");
            } else if (event === "vehicle" && vehicles.current) {
              const v = data as VehicleStatusJson;
              const before = vehicles.current.get(v.vehicle.id);
              if (before && before.online !== v.online) changes.current.push(v);
              vehicles.current.set(v.vehicle.id, v);
            } else if (event === "removed" && vehicles.current) {
              vehicles.current.delete(data.vehicleId);
            } else if (event === "end") {
              fresh = true;
              break;
            } else continue;
            setVersion((n) => n + 1);
          }
        } catch (error) {
          if (signal.aborted) return;
          if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
            setConnection("signed-out");
            return;
          }
        }
        if (signal.aborted) return;
        failures++;
        setConnection("reconnecting");
        const backoff = Math.min(MAX_BACKOFF_MS, 500 * 2 ** failures);
        await sleep(backoff / 2 + Math.random() * backoff / 2, signal);
      }
    })();
    return () => abort.abort();
  }, [props.fleetId]);

  // Announce online/offline changes politely, batched.
  useEffect(() => {
    const timer = setInterval(() => {
      const batch = changes.current.splice(0);
      if (batch.length === 0) return;
      const online = batch.filter((v) => v.online).length;
      setAnnouncement(
        batch.length === 1
          ? `${batch[0].vehicle.name} is ${batch[0].online ? "online" : "offline"}`
          : `${batch.length} vehicles changed: ${online} online, ${batch.length - online} offline`,
      );
    }, ANNOUNCE_EVERY_MS);
    return () => clearInterval(timer);
  }, []);

  // Ages ("seen 12 s ago") stay current without events.
  useEffect(() => {
    const timer = setInterval(() => setVersion((n) => n + 1), AGE_TICK_MS);
    return () => clearInterval(timer);
  }, []);

  // Back and Forward: the URL holds the view.
  useEffect(() => {
    const pop = () => {
      const next = readQuery(new URLSearchParams(location.search));
      typing.current = false;
      setQuery(next);
      setText(next.text);
    };
    addEventListener("popstate", pop);
    return () => removeEventListener("popstate", pop);
  }, []);

  // Re-render the table from the stream's vehicles.
  useEffect(() => {
    const container = document.getElementById(TABLE_ID);
    if (!container || !vehicles.current) return;
    const all = [...vehicles.current.values()];
    const shown = applyQuery(all, query);
    render(
      <VehicleTable fleetId={props.fleetId} vehicles={shown} total={all.length} now={Date.now()} />,
      container,
    );
    setCounts({ total: all.length, shown: shown.length });
  }, [version, query]);

  // Typing filters after a pause; the text field keeps one history entry while typing.
  useEffect(() => {
    if (text === query.text) return;
    const timer = setTimeout(() => {
      change({ ...query, text: text.trim() }, typing.current);
      typing.current = true;
    }, 300);
    return () => clearTimeout(timer);
  }, [text]);

  function change(next: DashboardQuery, replace = false) {
    const url = paths.fleet(props.fleetId) + writeQuery(next);
    if (!vehicles.current) {
      // Nothing streamed yet: let the server render the view.
      location.assign(url);
      return;
    }
    if (replace) history.replaceState(null, "", url);
    else history.pushState(null, "", url);
    setQuery(next);
  }

  const select = (key: keyof DashboardQuery) => (event: Event) => {
    typing.current = false;
    change({ ...query, text: text.trim(), [key]: (event.target as HTMLSelectElement).value });
  };

  return (
    <div class="dashboard-tools">
      <form
        class="dashboard-filter"
        method="get"
        action={paths.fleet(props.fleetId)}
        role="search"
        aria-label="Filter vehicles"
        onSubmit={(event) => {
          event.preventDefault();
          typing.current = false;
          change({ ...query, text: text.trim() });
        }}
      >
        <label>
          Search
          <input
            type="search"
            name="q"
            value={text}
            placeholder="Vehicle or camera"
            autocomplete="off"
            onInput={(event) => setText((event.target as HTMLInputElement).value)}
          />
        </label>
        <label>
          Status
          <select name="status" value={query.presence} onChange={select("presence")}>
            <option value="all">All</option>
            <option value="online">Online</option>
            <option value="offline">Offline</option>
          </select>
        </label>
        <label>
          Recording
          <select name="rec" value={query.recording} onChange={select("recording")}>
            <option value="any">Any</option>
            <option value="recording">Recording</option>
            <option value="idle">Not recording</option>
          </select>
        </label>
        <label>
          Sort by
          <select name="sort" value={query.sort} onChange={select("sort")}>
            <option value="name">Name</option>
            <option value="seen">Last seen</option>
            <option value="backlog">Upload backlog</option>
          </select>
        </label>
        <button type="submit">Apply</button>
      </form>
      <p class="dashboard-summary">
        <span>Showing {counts.shown} of {counts.total} vehicles</span>
        <span class={`connection ${connection}`} role="status" data-connection={connection}>
          {CONNECTION_TEXT[connection]}
        </span>
      </p>
      <p class="visually-hidden" aria-live="polite">{announcement}</p>
    </div>
  );
}
