/// <reference lib="dom" />
/**
 * The DVR of one camera: a day timeline (recordings as bars, holes as gaps) operable by pointer
 * (click plays from a time, drag selects a range) and keyboard (arrows move the cursor, Enter
 * plays), an hls.js player of the range's signed playlist (holes play as slate), jump to live,
 * clip export and share links. The URL keeps the place (`t`, `from`, `to`).
 *
 * Under an upload policy that keeps full quality on the vehicle, the timeline also shows where
 * the video is (full quality or only the proxy on the server, on the vehicle only, nowhere) and
 * the vehicle's events; "Get full quality" recalls a range, and a camera with a proxy plays the
 * multivariant playlist, so the best rendition uploaded plays at each moment.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { PageSession } from "../lib/ui/browser.ts";
import { clockTime } from "../lib/ui/zoned_time.ts";
import { paths } from "../routes/ui/paths.ts";
import { type HlsPlayer, startHls } from "./dvr/hls_player.ts";
import {
  type RenditionSpans,
  type Where,
  WHERE_TEXT,
  whereabouts,
  whereAt,
  type WhereSpan,
} from "./dvr/availability.ts";
import { RecallPanel } from "./dvr/RecallPanel.tsx";

/** A recording on the day's timeline. */
export interface DvrRecording {
  id: string;
  fromMs: number;
  toMs: number;
  /** Which rendition it is (absent: full). */
  rendition?: "full" | "proxy";
}

/** A vehicle event on the day's timeline. */
export interface DvrEvent {
  id: string;
  kind: string;
  at: string;
  source: "vehicle" | "operator";
}

/** Props of {@linkcode CameraDvr} (JSON from the page). */
export interface CameraDvrProps {
  fleetId: string;
  vehicleId: string;
  cameraId: string;
  cameraName: string;
  /** What the page calls the camera (its label, else its name). */
  cameraLabel?: string;
  timeZone: string;
  /** The day shown, `YYYY-MM-DD` in `timeZone`. */
  day: string;
  dayStart: number;
  dayEnd: number;
  recordings: DvrRecording[];
  t: number | null;
  from: number | null;
  to: number | null;
  /** Whether the user may file and cancel recalls (operators and up). */
  canRecall: boolean;
}

const MINUTE = 60_000;
/** The timeline's widths: the day, then windows around the cursor (eighths are round times). */
const ZOOMS: Array<[number, string]> = [
  [86_400_000, "the whole day"],
  [8 * 3_600_000, "8 hours"],
  [2 * 3_600_000, "2 hours"],
  [16 * 60_000, "16 minutes"],
];
/** Width of the timeline's drawing (SVG units): a minute is 10. */
const SCALE = 14_400;
const LIFETIMES: Array<[string, string]> = [
  ["3600", "1 hour"],
  ["21600", "6 hours"],
  ["86400", "1 day"],
  ["604800", "7 days"],
];

interface Playing {
  fromMs: number;
  toMs: number | null;
  player: HlsPlayer;
  /** A recall brought video into its range since it loaded: play it again from a new link. */
  stale?: boolean;
}

/** The availability band's order (best first) for the legend. */
const WHERES: Where[] = ["full", "proxy", "vehicle", "none"];

/** The camera's DVR (see the module's doc). */
export default function CameraDvr(props: CameraDvrProps) {
  const { dayStart, dayEnd, timeZone, recordings } = props;
  const [zoom, setZoom] = useState(0);
  const cursor0 = props.t ?? props.from ?? firstStart(recordings, dayStart);
  const [center, setCenter] = useState(cursor0);
  const span = zoom === 0 ? dayEnd - dayStart : ZOOMS[zoom][0];
  const step = span / 8;
  const viewStart = Math.min(
    Math.max(dayStart + Math.floor((center - span / 2 - dayStart) / step) * step, dayStart),
    dayEnd - span,
  );
  const api =
    `/api/v1/fleets/${props.fleetId}/vehicles/${props.vehicleId}/cameras/${props.cameraId}`;
  const [cursor, setCursor] = useState(cursor0);
  const [selection, setSelection] = useState<{ from: number; to: number } | null>(
    props.from !== null && props.to !== null && props.to > props.from
      ? { from: props.from, to: props.to }
      : null,
  );
  const [position, setPosition] = useState<number | null>(null);
  const [status, setStatus] = useState("");
  const [live, setLive] = useState(false);
  const [clip, setClip] = useState<
    { state: "idle" } | { state: "running"; bytes: number } | {
      state: "done";
      url: string;
      name: string;
      bytes: number;
    } | { state: "failed"; message: string }
  >({ state: "idle" });
  const [lifetime, setLifetime] = useState("21600");
  const [share, setShare] = useState<{ url: string; expiresAt: string; copied: boolean } | null>(
    null,
  );
  const video = useRef<HTMLVideoElement>(null);
  const playing = useRef<Playing | null>(null);
  const timeline = useRef<HTMLDivElement>(null);
  const drag = useRef<{ x: number; at: number; moved: boolean } | null>(null);
  const [where, setWhere] = useState<WhereSpan[] | null>(null);
  const [events, setEvents] = useState<DvrEvent[]>([]);
  /** What the server holds: the page's recordings, and what a recall brought since. */
  const uploaded = [
    ...recordings,
    ...(where ?? []).filter((w) => w.where === "full" || w.where === "proxy"),
  ].sort((a, b) => a.fromMs - b.fromMs);
  /** Whether full quality is on the server at an instant (read by the player as it loads). */
  const fullAt = useRef<(ms: number) => boolean>(() => false);
  fullAt.current = (ms) => where !== null && whereAt(where, ms) === "full";
  const proxyRecordings = recordings.filter((r) => r.rendition === "proxy");
  const hasProxy = proxyRecordings.length > 0 || (where?.some((s) => s.where === "proxy") ?? false);

  const xOf = (ms: number) => (Math.min(Math.max(ms - viewStart, 0), span) / span) * SCALE;
  const time = (ms: number) => clockTime(ms, timeZone);
  const inView = (ms: number) => ms >= viewStart && ms < viewStart + span;

  /** Writes the place into the URL: a new history entry when `push`. */
  const remember = (place: { t?: number; from?: number; to?: number }, push: boolean) => {
    const url = new URL(location.href);
    url.searchParams.delete("day");
    for (const key of ["t", "from", "to"] as const) {
      const value = place[key];
      if (value === undefined) url.searchParams.delete(key);
      else url.searchParams.set(key, new Date(value).toISOString());
    }
    if (url.href === location.href) return;
    if (push) history.pushState(null, "", url);
    else history.replaceState(null, "", url);
  };

  const placeOf = (t: number, sel = selection) => sel ? { t, from: sel.from, to: sel.to } : { t };

  /** Plays from `atMs`: a seek when the loaded playlist covers it, else a new playlist. */
  const play = async (atMs: number, sel = selection) => {
    setLive(false);
    const current = playing.current;
    if (
      current && !current.stale && current.toMs !== null && atMs >= current.fromMs &&
      atMs < current.toMs
    ) {
      current.player.seekTo(atMs);
      void video.current?.play().catch(() => {});
      setStatus(`Playing from ${time(atMs)}`);
      return;
    }
    let fromMs = atMs;
    let toMs: number;
    if (sel && atMs >= sel.from && atMs < sel.to) {
      toMs = sel.to;
    } else {
      const next = uploaded.find((r) => r.toMs > atMs);
      if (!next) {
        setStatus(`Nothing recorded after ${time(atMs)} on this day. Try "Jump to live".`);
        return;
      }
      if (next.fromMs > atMs) fromMs = next.fromMs;
      toMs = Math.max(...uploaded.map((r) => r.toMs));
    }
    if (!uploaded.some((r) => r.fromMs < toMs && r.toMs > fromMs)) {
      const vehicle = where?.some((w) =>
        w.where === "vehicle" && w.fromMs < toMs && w.toMs > fromMs
      );
      setStatus(
        `Nothing uploaded between ${time(fromMs)} and ${time(toMs)}${
          vehicle ? ": the vehicle holds some of it (Get full quality)" : ""
        }`,
      );
      return;
    }
    if (fromMs !== atMs) {
      setStatus(`Nothing recorded at ${time(atMs)}: playing from ${time(fromMs)}`);
    } else setStatus(`Loading ${time(fromMs)}…`);
    await load(fromMs, toMs, fromMs);
  };

  const load = async (fromMs: number, toMs: number | null, seekMs: number | "live") => {
    playing.current?.player.destroy();
    playing.current = null;
    try {
      const links = await PageSession.current().request<{ hls: string; multivariant: string }>(
        "POST",
        `${api}/links`,
        {
          from: new Date(fromMs).toISOString(),
          ...(toMs === null ? {} : { to: new Date(toMs).toISOString() }),
          ttlSeconds: 3600,
        },
      );
      // With a proxy, both renditions: full quality where it was uploaded, the proxy elsewhere.
      const player = startHls(video.current!, hasProxy ? links.multivariant : links.hls, {
        seekMs,
        fullAt: hasProxy ? (ms) => fullAt.current(ms) : undefined,
        onTime: (ms) => setPosition(ms),
        onError: (message) => setStatus(message),
        onPlaying: (ms) =>
          setStatus(seekMs === "live" ? "Live edge" : `Playing from ${time(ms ?? fromMs)}`),
      });
      playing.current = { fromMs, toMs, player };
    } catch (error) {
      setStatus(`Cannot play: ${error instanceof Error ? error.message : String(error)}`);
    }
  };

  const jumpToLive = async () => {
    setLive(true);
    setSelection(null);
    setStatus("Loading the live edge…");
    remember({}, true);
    await load(Date.now() - 2 * MINUTE, null, "live");
  };

  const moveCursor = (ms: number, push = false) => {
    const t = Math.min(Math.max(ms, dayStart), dayEnd - 1000);
    setCursor(t);
    if (t < viewStart || t >= viewStart + span) setCenter(t);
    remember(placeOf(t), push);
    return t;
  };

  const atX = (clientX: number) => {
    const box = timeline.current!.getBoundingClientRect();
    const share = Math.min(Math.max((clientX - box.left) / box.width, 0), 1);
    return Math.round(viewStart + share * span);
  };

  const onPointerDown = (event: PointerEvent) => {
    timeline.current?.setPointerCapture?.(event.pointerId);
    drag.current = { x: event.clientX, at: atX(event.clientX), moved: false };
  };
  const onPointerMove = (event: PointerEvent) => {
    const d = drag.current;
    if (!d) return;
    if (Math.abs(event.clientX - d.x) > 6) d.moved = true;
    if (d.moved) {
      const at = atX(event.clientX);
      setSelection({ from: Math.min(d.at, at), to: Math.max(d.at, at) });
    }
  };
  const onPointerUp = (event: PointerEvent) => {
    const d = drag.current;
    drag.current = null;
    if (!d) return;
    const at = atX(event.clientX);
    if (d.moved && Math.abs(at - d.at) >= 1000) {
      const sel = { from: Math.min(d.at, at), to: Math.max(d.at, at) };
      setSelection(sel);
      setCursor(sel.from);
      remember(placeOf(sel.from, sel), true);
      setShare(null);
      void play(sel.from, sel);
    } else {
      const t = moveCursor(at, true);
      void play(t);
    }
  };

  const onKeyDown = (event: KeyboardEvent) => {
    const step = event.shiftKey ? 10 * MINUTE : MINUTE;
    const moves: Record<string, () => number> = {
      ArrowLeft: () => cursor - step,
      ArrowDown: () => cursor - step,
      ArrowRight: () => cursor + step,
      ArrowUp: () => cursor + step,
      PageDown: () => cursor - 60 * MINUTE,
      PageUp: () => cursor + 60 * MINUTE,
      Home: () => dayStart,
      End: () => dayEnd - 1000,
    };
    if (moves[event.key]) {
      event.preventDefault();
      moveCursor(moves[event.key]());
    } else if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      remember(placeOf(cursor), true);
      void play(cursor);
    }
  };

  const exportClip = async () => {
    const range = selection ?? defaultRange(cursor, recordings);
    if (!range) {
      setClip({ state: "failed", message: "Select a range on the timeline first" });
      return;
    }
    setClip({ state: "running", bytes: 0 });
    try {
      const path = `${api}/clip.mp4?from=${new Date(range.from).toISOString()}&to=${
        new Date(range.to).toISOString()
      }`;
      const session = PageSession.current();
      let response = await fetch(path, {
        headers: { authorization: `Bearer ${await session.accessToken()}` },
      });
      if (response.status === 401) {
        response = await fetch(path, {
          headers: { authorization: `Bearer ${await session.accessToken({ fresh: true })}` },
        });
      }
      if (!response.ok || !response.body) {
        const problem = await response.json().catch(() => ({}));
        throw new Error(problem.detail ?? problem.title ?? `HTTP ${response.status}`);
      }
      const parts: Uint8Array[] = [];
      let bytes = 0;
      const reader = response.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parts.push(value);
        bytes += value.byteLength;
        setClip({ state: "running", bytes });
      }
      const name = `${props.cameraName}-${
        new Date(range.from).toISOString().replace(/[:.]/g, "")
      }.mp4`;
      const url = URL.createObjectURL(new Blob(parts as BlobPart[], { type: "video/mp4" }));
      setClip({ state: "done", url, name, bytes });
    } catch (error) {
      setClip({
        state: "failed",
        message: `Cannot export the clip: ${error instanceof Error ? error.message : error}`,
      });
    }
  };

  const makeShare = async () => {
    const range = selection ?? defaultRange(cursor, recordings);
    if (!range) {
      setStatus("Select a range on the timeline first");
      return;
    }
    try {
      const links = await PageSession.current().request<{ hls: string; expiresAt: string }>(
        "POST",
        `${api}/links`,
        {
          from: new Date(range.from).toISOString(),
          to: new Date(range.to).toISOString(),
          ttlSeconds: Number(lifetime),
        },
      );
      const url = location.origin + paths.watch(links.hls);
      let copied = false;
      try {
        await navigator.clipboard.writeText(url);
        copied = true;
      } catch { /* the field below lets the user copy it */ }
      setShare({ url, expiresAt: links.expiresAt, copied });
    } catch (error) {
      setStatus(`Cannot make a link: ${error instanceof Error ? error.message : error}`);
    }
  };

  /** Reads where the day's video is (server, vehicle, nowhere) from the availability API. */
  const readWhere = async () => {
    try {
      const query = `from=${new Date(dayStart).toISOString()}&to=${new Date(dayEnd).toISOString()}`;
      const answer = await PageSession.current().request<{ renditions: RenditionSpans[] }>(
        "GET",
        `${api}/availability?${query}`,
      );
      setWhere(whereabouts(answer.renditions, dayStart, dayEnd));
    } catch (error) {
      setStatus(
        `Cannot read where the video is: ${error instanceof Error ? error.message : error}`,
      );
    }
  };

  /** Reads the vehicle's events of the day. */
  const readEvents = async () => {
    try {
      const query = `from=${new Date(dayStart).toISOString()}&to=${new Date(dayEnd).toISOString()}`;
      const answer = await PageSession.current().request<{ events: DvrEvent[] }>(
        "GET",
        `/api/v1/fleets/${props.fleetId}/vehicles/${props.vehicleId}/events?${query}`,
      );
      setEvents(answer.events);
    } catch (error) {
      setStatus(`Cannot read the events: ${error instanceof Error ? error.message : error}`);
    }
  };

  /** A recall ended: its range may now play in full quality. */
  const recallFinished = (recall: { from: string; to: string }) => {
    void readWhere();
    const current = playing.current;
    const [from, to] = [Date.parse(recall.from), Date.parse(recall.to)];
    if (current && from < (current.toMs ?? Infinity) && to > current.fromMs) current.stale = true;
  };

  useEffect(() => {
    void readWhere();
    void readEvents();
  }, []);

  useEffect(() => {
    // Land where the URL says: load its time (muted autoplay is allowed everywhere).
    if (props.t !== null || props.from !== null) void play(props.t ?? props.from!);
    const onPop = () => {
      const query = new URL(location.href).searchParams;
      const read = (key: string) => (query.get(key) ? Date.parse(query.get(key)!) : NaN);
      const t = read("t");
      if (Number.isNaN(t)) return;
      if (t < dayStart || t >= dayEnd) {
        location.reload();
        return;
      }
      const from = read("from");
      const to = read("to");
      const sel = Number.isNaN(from) || Number.isNaN(to) ? null : { from, to };
      setSelection(sel);
      setCursor(t);
      void play(t, sel);
    };
    addEventListener("popstate", onPop);
    return () => {
      removeEventListener("popstate", onPop);
      playing.current?.player.destroy();
    };
  }, []);

  const shown = position ?? cursor;
  // A proxy recording stands for the full one of the same capture (its id + "-p").
  const listed = recordings.filter((r) =>
    r.rendition === "proxy" || !proxyRecordings.some((p) => p.id === `${r.id}-p`)
  );
  const ticks = Array.from({ length: 8 }, (_, i) => viewStart + (i * span) / 8);
  const zoomTo = (level: number) => {
    setZoom(level);
    setCenter(cursor);
  };
  return (
    <section
      class="dvr"
      aria-label={`Recordings of camera ${props.cameraLabel ?? props.cameraName}`}
    >
      <form class="dvr-day" method="get">
        <label for="dvr-day">Day ({timeZone})</label>
        {/* Not `value`: a re-render (the band or events arriving) would undo what was typed. */}
        <input id="dvr-day" type="date" name="day" defaultValue={props.day} />
        <button type="submit">Show day</button>
      </form>
      <div
        ref={timeline}
        class="dvr-timeline"
        role="slider"
        tabIndex={0}
        aria-label={`Timeline of ${props.day}: arrow keys move, Enter plays`}
        aria-valuemin={0}
        aria-valuemax={1439}
        aria-valuenow={Math.floor((cursor - dayStart) / MINUTE)}
        aria-valuetext={`${time(cursor)}, ${
          where
            ? WHERE_TEXT[whereAt(where, cursor)]
            : recordedAt(cursor, recordings)
            ? "recorded"
            : "not recorded"
        }${eventsNear(cursor, events).map((e) => `, event ${e.kind}`).join("")}`}
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
        onPointerUp={onPointerUp}
        onKeyDown={onKeyDown}
      >
        <svg
          class="dvr-bars"
          viewBox={`0 0 ${SCALE} 10`}
          preserveAspectRatio="none"
          aria-hidden="true"
          focusable="false"
        >
          <rect class="dvr-hole" x="0" y="0" width={SCALE} height="10" />
          {recordings.map((r) => (
            <rect
              key={r.id}
              class="dvr-recording"
              x={xOf(r.fromMs)}
              y="0"
              width={Math.max(xOf(r.toMs) - xOf(r.fromMs), SCALE / 600)}
              height={where ? 6 : 10}
            />
          ))}
          {where?.filter((w) => w.where !== "none").map((w) => (
            <rect
              key={`${w.where}-${w.fromMs}`}
              class={`dvr-where dvr-where-${w.where}`}
              data-where={w.where}
              data-from={new Date(w.fromMs).toISOString()}
              data-to={new Date(w.toMs).toISOString()}
              x={xOf(w.fromMs)}
              y="6"
              width={Math.max(xOf(w.toMs) - xOf(w.fromMs), SCALE / 1440)}
              height="4"
            />
          ))}
          {events.filter((e) => inView(Date.parse(e.at))).map((e) => (
            <rect
              key={e.id}
              class="dvr-event-line"
              x={xOf(Date.parse(e.at)) - SCALE / 2880}
              y="0"
              width={SCALE / 1440}
              height="10"
            />
          ))}
          {selection && (
            <rect
              class="dvr-selection"
              x={xOf(selection.from)}
              y="0"
              width={xOf(selection.to) - xOf(selection.from)}
              height="10"
            />
          )}
          <rect
            class="dvr-cursor"
            x={xOf(shown) - SCALE / 1440 / 2}
            y="0"
            width={SCALE / 1440}
            height="10"
          />
        </svg>
        <span class="dvr-marks" aria-hidden="true">
          {events.filter((e) => inView(Date.parse(e.at))).map((e) => (
            <span
              key={e.id}
              class="dvr-event"
              data-kind={e.kind}
              title={`${e.kind} at ${time(Date.parse(e.at))}`}
              style={{ left: `${(xOf(Date.parse(e.at)) / SCALE) * 100}%` }}
            >
              {e.kind}
            </span>
          ))}
        </span>
        <span class="dvr-hours" aria-hidden="true">
          {ticks.map((ms) => <span key={ms}>{clockTime(ms, timeZone, false)}</span>)}
        </span>
      </div>
      {where && (
        <ul class="dvr-legend" aria-label="Where the video is">
          {WHERES.map((w) => (
            <li key={w}>
              <span class={`dvr-swatch dvr-where-${w}`} aria-hidden="true" />
              {WHERE_TEXT[w]}
            </li>
          ))}
        </ul>
      )}
      <div class="dvr-zoom" role="group" aria-label="Timeline zoom">
        <button type="button" onClick={() => zoomTo(Math.max(zoom - 1, 0))} disabled={zoom === 0}>
          Zoom out
        </button>
        <span>Showing {ZOOMS[zoom][1]}</span>
        <button
          type="button"
          onClick={() => zoomTo(Math.min(zoom + 1, ZOOMS.length - 1))}
          disabled={zoom === ZOOMS.length - 1}
        >
          Zoom in
        </button>
      </div>
      <p class="dvr-readout">
        <span>
          Cursor <strong>{time(cursor)}</strong>
        </span>
        {position !== null && (
          <span>
            Playing{" "}
            <strong class="dvr-position" data-ms={Math.round(position)}>{time(position)}</strong>
          </span>
        )}
        {selection && (
          <span>
            Range <strong>{time(selection.from)}–{time(selection.to)}</strong>
          </span>
        )}
      </p>
      <video
        ref={video}
        class="dvr-video"
        controls
        muted
        playsInline
        aria-label={`Video of camera ${props.cameraLabel ?? props.cameraName}`}
      />
      <p class="dvr-status" role="status" aria-live="polite">{status}</p>
      <div class="dvr-controls">
        <button
          type="button"
          class="primary"
          onClick={() => {
            remember(placeOf(cursor), true);
            void play(cursor);
          }}
        >
          Play from {time(cursor)}
        </button>
        <button type="button" onClick={jumpToLive} aria-pressed={live}>Jump to live</button>
        {selection && (
          <button
            type="button"
            onClick={() => {
              setSelection(null);
              remember({ t: cursor }, true);
            }}
          >
            Clear range
          </button>
        )}
      </div>
      <div class="dvr-tools">
        <section aria-labelledby="dvr-clip-title">
          <h2 id="dvr-clip-title">Export clip</h2>
          <p class="muted">
            {selection
              ? `The selected range, ${time(selection.from)}–${time(selection.to)}.`
              : "Drag on the timeline to select a range (else the minute from the cursor)."}
          </p>
          <button type="button" onClick={exportClip} disabled={clip.state === "running"}>
            Export clip
          </button>
          {clip.state === "running" && (
            <p role="status">
              <progress aria-label="Clip export" /> {megabytes(clip.bytes)} received…
            </p>
          )}
          {clip.state === "done" && (
            <p role="status">
              <a class="button-link" href={clip.url} download={clip.name}>
                Download clip ({megabytes(clip.bytes)})
              </a>
            </p>
          )}
          {clip.state === "failed" && <p class="problem" role="alert">{clip.message}</p>}
        </section>
        <RecallPanel
          fleetId={props.fleetId}
          api={api}
          range={selection
            ? { ...selection, selected: true }
            : { from: cursor, to: Math.min(cursor + MINUTE, dayEnd), selected: false }}
          dayStart={dayStart}
          dayEnd={dayEnd}
          time={time}
          onFinished={recallFinished}
          canRecall={props.canRecall}
        />
        <section aria-labelledby="dvr-share-title">
          <h2 id="dvr-share-title">Share link</h2>
          <label for="dvr-lifetime">Link lifetime</label>
          <select
            id="dvr-lifetime"
            value={lifetime}
            onChange={(e) => setLifetime((e.target as HTMLSelectElement).value)}
          >
            {LIFETIMES.map(([value, text]) => <option key={value} value={value}>{text}</option>)}
          </select>
          <button type="button" onClick={makeShare}>Create share link</button>
          {share && (
            <div role="status">
              <label for="dvr-share-url">
                Share link {share.copied ? "(copied)" : ""}, valid until{" "}
                {new Date(share.expiresAt).toISOString().slice(0, 16).replace("T", " ")} UTC
              </label>
              <input
                id="dvr-share-url"
                readOnly
                value={share.url}
                onFocus={(e) => (e.target as HTMLInputElement).select()}
              />
              <button
                type="button"
                onClick={() =>
                  void navigator.clipboard?.writeText(share.url)
                    .then(() => setShare({ ...share, copied: true }))}
              >
                Copy link
              </button>
            </div>
          )}
        </section>
      </div>
      {events.length > 0 && (
        <>
          <h2>Events this day</h2>
          <ul class="dvr-list dvr-events">
            {events.map((e) => (
              <li key={e.id}>
                <button
                  type="button"
                  onClick={() => {
                    const at = Date.parse(e.at);
                    moveCursor(at, true);
                    void play(at);
                  }}
                >
                  {time(Date.parse(e.at))} {e.kind}
                  {e.source === "operator" ? " (operator)" : ""}
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
      <h2>Recordings this day</h2>
      {listed.length === 0
        ? <p class="empty">Nothing recorded on {props.day}.</p>
        : (
          <ul class="dvr-list">
            {listed.map((r) => (
              <li key={r.id}>
                <button
                  type="button"
                  onClick={() => {
                    moveCursor(r.fromMs, true);
                    void play(r.fromMs);
                  }}
                >
                  {time(r.fromMs)}–{time(r.toMs)}
                </button>
              </li>
            ))}
          </ul>
        )}
    </section>
  );
}

function firstStart(recordings: DvrRecording[], dayStart: number): number {
  return recordings[0]?.fromMs ?? dayStart;
}

/** Events within half a minute of `ms`. */
function eventsNear(ms: number, events: DvrEvent[]): DvrEvent[] {
  return events.filter((e) => Math.abs(Date.parse(e.at) - ms) < MINUTE / 2);
}

function recordedAt(ms: number, recordings: DvrRecording[]): boolean {
  return recordings.some((r) => r.fromMs <= ms && ms < r.toMs);
}

/** The minute from `cursor`, clipped to what was recorded. */
function defaultRange(cursor: number, recordings: DvrRecording[]) {
  const next = recordings.find((r) => r.toMs > cursor);
  if (!next) return null;
  const from = Math.max(cursor, next.fromMs);
  return { from, to: Math.min(from + MINUTE, next.toMs) };
}

function megabytes(bytes: number): string {
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}
