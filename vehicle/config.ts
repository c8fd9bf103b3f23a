/**
 * The recording agent's configuration: a JSON file (`--config`) and command-line flags, flags
 * winning. Every problem is reported at once, each naming its field (or flag).
 */
import type { LogLevel } from "../lib/log/mod.ts";

/** Where a camera's pictures come from. */
export type CameraSource =
  | { kind: "testsrc" }
  | { kind: "file"; path: string }
  | { kind: "url"; url: string }
  | { kind: "v4l2"; device: string };

/** What the encoder produces. */
export interface VideoSettings {
  width: number;
  height: number;
  fps: number;
  /** Target bits per second. */
  bitrate: number;
}

/**
 * Whether a camera's own H.264 is cut without re-encoding: always, never, or when its stream
 * turns out to be H.264 ("auto"). Only network cameras (`url` sources) are passed through.
 */
export type Passthrough = boolean | "auto";

/** One camera of the vehicle; `name` is the camera's name on the server. */
export interface CameraConfig {
  name: string;
  source: CameraSource;
  /** What the encoder makes (passed through: what the proxy is made from). */
  video: VideoSettings;
  /** "auto" unless configured. */
  passthrough?: Passthrough;
}

/** Which queued segment goes first. */
export type DrainOrder = "oldest" | "newest";

/** Validated configuration of `vehicle record`. */
export interface AgentConfig {
  /** Server base URL; unset uses the one the vehicle enrolled with. */
  server?: string;
  /** Folder of `device.json` (the vehicle's key). */
  stateDir: string;
  /** Folder of ffmpeg's output, the upload queue and quarantined files. */
  spoolDir: string;
  cameras: CameraConfig[];
  /** Target segment length; keyframes are forced on this grid. */
  segmentSeconds: number;
  /** Most bytes the upload queue may hold; beyond it the oldest segments are evicted. */
  diskBudgetBytes: number;
  /** Most bytes kept of files the server refused for good. */
  quarantineBudgetBytes: number;
  /** Average upload rate cap; null for none. */
  uploadBytesPerSecond: number | null;
  /** Uploads in flight at once. */
  uploadConcurrency: number;
  /** Ceiling of the exponential backoff after network errors, 429 and 5xx. */
  retryMaxSeconds: number;
  drainOrder: DrainOrder;
  heartbeatSeconds: number;
  /** Smallest wall-clock jump that ends the recordings. */
  clockJumpSeconds: number;
  /** Drift between a segment's media time and the capture clock that re-anchors its times. */
  reanchorSeconds: number;
  /** On stop, how long to keep uploading what is queued before exiting. */
  stopDrainSeconds: number;
  /** Port of the local event trigger on 127.0.0.1 (`POST /events`); 0: none. */
  eventsPort: number;
  logLevel: LogLevel;
  /** The ffmpeg executable (must be allowed by `--allow-run`). */
  ffmpeg: string;
  /** TrueType font for the test pattern's burned-in clock. */
  font: string;
  /** Keep a live signaling link and publish cameras over WebRTC when viewers ask. */
  live: boolean;
  /** Cameras' passthrough unless a camera says otherwise. */
  passthrough: Passthrough;
  /** Host addresses ICE gathers on besides the interfaces werift uses (e.g. 127.0.0.2). */
  iceHostAddresses: string[];
  /** 3: publish three sizes at once (vehicle-side simulcast) when the uplink allows; 1 default. */
  liveLayers: 1 | 3;
  /**
   * Load WebRTC (werift) and make one throwaway offer as soon as the live link is up, so the first
   * watch does not wait for them (~0.6 s, more on a busy CPU); costs ~24 MB held. On by default.
   */
  liveWarm: boolean;
}

/** Raised for an invalid configuration; `problems` has one line per bad field. */
export class AgentConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid vehicle configuration:\n  - ${problems.join("\n  - ")}`);
    this.name = "AgentConfigError";
  }
}

/** Command-line values of `vehicle record`, as `parseArgs` returns them. */
export interface AgentFlags {
  server?: string;
  state?: string;
  spool?: string;
  camera?: string[];
  "segment-seconds"?: string;
  "video-size"?: string;
  fps?: string;
  bitrate?: string;
  "disk-budget"?: string;
  "upload-rate"?: string;
  "upload-concurrency"?: string;
  "retry-max-seconds"?: string;
  "drain-order"?: string;
  "heartbeat-seconds"?: string;
  "clock-jump-seconds"?: string;
  "reanchor-seconds"?: string;
  "stop-drain-seconds"?: string;
  "events-port"?: string;
  "log-level"?: string;
  live?: string;
  "ice-host"?: string;
  "live-layers"?: string;
  "live-warm"?: string;
  passthrough?: string;
}

/** Which JSON field each flag sets. */
const FLAG_FIELDS: Record<Exclude<keyof AgentFlags, "camera">, string> = {
  server: "server",
  state: "stateDir",
  spool: "spoolDir",
  "segment-seconds": "segmentSeconds",
  "video-size": "video.size",
  fps: "video.fps",
  bitrate: "video.bitrate",
  "disk-budget": "diskBudgetBytes",
  "upload-rate": "uploadBytesPerSecond",
  "upload-concurrency": "uploadConcurrency",
  "retry-max-seconds": "retryMaxSeconds",
  "drain-order": "drainOrder",
  "heartbeat-seconds": "heartbeatSeconds",
  "clock-jump-seconds": "clockJumpSeconds",
  "reanchor-seconds": "reanchorSeconds",
  "stop-drain-seconds": "stopDrainSeconds",
  "events-port": "eventsPort",
  "log-level": "logLevel",
  live: "live",
  "ice-host": "iceHostAddresses",
  "live-layers": "liveLayers",
  "live-warm": "liveWarm",
  passthrough: "passthrough",
};

const CAMERA_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const KNOWN_FIELDS = new Set([
  "server",
  "stateDir",
  "spoolDir",
  "cameras",
  "segmentSeconds",
  "video",
  "diskBudgetBytes",
  "quarantineBudgetBytes",
  "uploadBytesPerSecond",
  "uploadConcurrency",
  "retryMaxSeconds",
  "drainOrder",
  "heartbeatSeconds",
  "clockJumpSeconds",
  "reanchorSeconds",
  "stopDrainSeconds",
  "eventsPort",
  "logLevel",
  "ffmpeg",
  "font",
  "live",
  "iceHostAddresses",
  "liveLayers",
  "liveWarm",
  "passthrough",
]);
const DEFAULT_VIDEO = { width: 1280, height: 720, fps: 25, bitrate: 2_000_000 };
const DEFAULT_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

/**
 * Reads the JSON file named by `--config` (if any) and applies the flags over it.
 *
 * @example const config = await loadAgentConfig("/etc/motorcade/vehicle.json", {}, "/var/lib/motorcade");
 */
export async function loadAgentConfig(
  configPath: string | undefined,
  flags: AgentFlags,
  defaultStateDir: string,
): Promise<AgentConfig> {
  let file: unknown = {};
  if (configPath) {
    let text: string;
    try {
      text = await Deno.readTextFile(configPath);
    } catch (error) {
      throw new AgentConfigError([
        `--config: cannot read "${configPath}": ${(error as Error).message}`,
      ]);
    }
    try {
      file = JSON.parse(text);
    } catch (error) {
      throw new AgentConfigError([
        `--config: "${configPath}" is not JSON: ${(error as Error).message}`,
      ]);
    }
  }
  return parseAgentConfig(file, flags, defaultStateDir);
}

/** Validates a configuration object (the JSON file's content) with `flags` applied over it. */
export function parseAgentConfig(
  file: unknown,
  flags: AgentFlags = {},
  defaultStateDir = "./vehicle-state",
): AgentConfig {
  const problems: string[] = [];
  if (typeof file !== "object" || file === null || Array.isArray(file)) {
    throw new AgentConfigError(["the configuration file must hold a JSON object"]);
  }
  const raw: Record<string, unknown> = structuredClone(file as Record<string, unknown>);
  for (const key of Object.keys(raw)) {
    if (!KNOWN_FIELDS.has(key)) problems.push(`"${key}" is not a known field`);
  }
  // Flags override the file; `label` remembers where each value came from for the messages.
  const label = new Map<string, string>();
  if (raw.video !== undefined && (typeof raw.video !== "object" || raw.video === null)) {
    problems.push(`"video" must be an object such as {"size": "1280x720"}`);
    raw.video = {};
  }
  for (const [flag, field] of Object.entries(FLAG_FIELDS)) {
    const value = flags[flag as keyof typeof FLAG_FIELDS];
    if (value === undefined) continue;
    label.set(field, `--${flag}`);
    if (field.startsWith("video.")) {
      raw.video = { ...(raw.video as object ?? {}), [field.slice(6)]: value };
    } else raw[field] = value;
  }
  if (flags.camera?.length) {
    label.set("cameras", "--camera");
    raw.cameras = flags.camera.map((spec, i) => {
      const at = spec.indexOf("=");
      if (at <= 0) {
        problems.push(`--camera #${i + 1} must be NAME=SOURCE, got "${spec}"`);
        return { name: spec, source: "testsrc" };
      }
      return { name: spec.slice(0, at), source: spec.slice(at + 1) };
    });
  }
  const name = (field: string) => label.get(field) ?? `"${field}"`;

  const number = (field: string, fallback: number, min: number, max: number): number => {
    const value = raw[field];
    if (value === undefined) return fallback;
    const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
    if (typeof n !== "number" || !Number.isFinite(n) || n < min || n > max) {
      problems.push(`${name(field)} must be a number from ${min} to ${max}, got ${show(value)}`);
      return fallback;
    }
    return n;
  };
  const integer = (field: string, fallback: number, min: number, max: number): number => {
    const n = number(field, fallback, min, max);
    if (!Number.isInteger(n)) {
      problems.push(`${name(field)} must be a whole number, got ${show(raw[field])}`);
      return fallback;
    }
    return n;
  };
  const bytes = (field: string, fallback: number | null, min: number): number | null => {
    const value = raw[field];
    if (value === undefined || value === null) return fallback;
    const n = parseBytes(value);
    if (n === undefined || n < min) {
      problems.push(
        `${
          name(field)
        } must be a byte count of at least ${min} such as 2GiB, 500MB or 1048576, got ${
          show(value)
        }`,
      );
      return fallback;
    }
    return n;
  };
  const text = (field: string, fallback: string): string => {
    const value = raw[field];
    if (value === undefined) return fallback;
    if (typeof value !== "string" || value.trim() === "") {
      problems.push(`${name(field)} must be a non-empty string, got ${show(value)}`);
      return fallback;
    }
    return value;
  };
  const oneOf = <T extends string>(field: string, allowed: readonly T[], fallback: T): T => {
    const value = raw[field];
    if (value === undefined) return fallback;
    if (!allowed.includes(value as T)) {
      problems.push(`${name(field)} must be one of ${allowed.join(", ")}, got ${show(value)}`);
      return fallback;
    }
    return value as T;
  };

  const onOff = (field: string, fallback: boolean): boolean => {
    const value = raw[field];
    if (value === undefined) return fallback;
    if (value === true || value === "on" || value === "true") return true;
    if (value === false || value === "off" || value === "false") return false;
    problems.push(`${name(field)} must be on or off, got ${show(value)}`);
    return fallback;
  };
  const layerCount = (field: string): 1 | 3 => {
    const value = raw[field];
    if (value === undefined || value === 1 || value === "1") return 1;
    if (value === 3 || value === "3") return 3;
    problems.push(`${name(field)} must be 1 or 3, got ${show(value)}`);
    return 1;
  };
  const addresses = (field: string): string[] => {
    const value = raw[field];
    if (value === undefined) return [];
    const list = Array.isArray(value) ? value : String(value).split(",");
    const result: string[] = [];
    for (const entry of list) {
      const address = String(entry).trim();
      if (/^\d{1,3}(\.\d{1,3}){3}$/.test(address)) result.push(address);
      else problems.push(`${name(field)} must list IPv4 addresses, got ${show(entry)}`);
    }
    return result;
  };
  let server: string | undefined;
  if (raw.server !== undefined) {
    server = text("server", "");
    try {
      const url = new URL(server);
      if (url.protocol !== "https:" && url.protocol !== "http:") throw new TypeError("scheme");
      server = server.replace(/\/+$/, "");
    } catch {
      problems.push(`${name("server")} must be an http(s) URL, got ${show(raw.server)}`);
    }
  }
  const passthrough = parsePassthrough(raw.passthrough, name("passthrough"), "auto", problems);
  const stateDir = text("stateDir", defaultStateDir);
  const video = parseVideo(raw.video, DEFAULT_VIDEO, "video", label, problems);
  const diskBudgetBytes = bytes("diskBudgetBytes", 2 * 1024 ** 3, 1024 ** 2)!;
  const config: AgentConfig = {
    server,
    stateDir,
    spoolDir: text("spoolDir", `${stateDir}/spool`),
    cameras: parseCameras(raw.cameras, video, passthrough, name("cameras"), problems),
    segmentSeconds: number("segmentSeconds", 2, 0.5, 30),
    diskBudgetBytes,
    quarantineBudgetBytes: bytes(
      "quarantineBudgetBytes",
      Math.max(Math.floor(diskBudgetBytes / 20), 1024 ** 2),
      0,
    )!,
    uploadBytesPerSecond: bytes("uploadBytesPerSecond", null, 1024),
    uploadConcurrency: integer("uploadConcurrency", 2, 1, 4),
    retryMaxSeconds: number("retryMaxSeconds", 60, 1, 3600),
    drainOrder: oneOf("drainOrder", ["oldest", "newest"] as const, "oldest"),
    heartbeatSeconds: number("heartbeatSeconds", 30, 1, 3600),
    clockJumpSeconds: number("clockJumpSeconds", 2, 0.5, 3600),
    reanchorSeconds: number("reanchorSeconds", 1, 0.1, 3600),
    stopDrainSeconds: number("stopDrainSeconds", 5, 0, 600),
    eventsPort: integer("eventsPort", 0, 0, 65535),
    logLevel: oneOf("logLevel", ["debug", "info", "warn", "error"] as const, "info"),
    ffmpeg: text("ffmpeg", "ffmpeg"),
    font: text("font", DEFAULT_FONT),
    live: onOff("live", true),
    iceHostAddresses: addresses("iceHostAddresses"),
    liveLayers: layerCount("liveLayers"),
    liveWarm: onOff("liveWarm", true),
    passthrough,
  };
  if (problems.length) throw new AgentConfigError(problems);
  return config;
}

function parseCameras(
  value: unknown,
  video: VideoSettings,
  passthrough: Passthrough,
  label: string,
  problems: string[],
): CameraConfig[] {
  if (value === undefined) {
    problems.push(
      `${label} is required: at least one camera such as {"name": "front", "source": "v4l2:/dev/video0"}`,
    );
    return [];
  }
  if (!Array.isArray(value) || value.length === 0 || value.length > 32) {
    problems.push(`${label} must be a list of 1 to 32 cameras, got ${show(value)}`);
    return [];
  }
  const seen = new Set<string>();
  const cameras: CameraConfig[] = [];
  value.forEach((item, i) => {
    const at = label === "--camera" ? `--camera #${i + 1}` : `cameras[${i}]`;
    if (typeof item !== "object" || item === null || Array.isArray(item)) {
      problems.push(`${at} must be an object {"name", "source"}, got ${show(item)}`);
      return;
    }
    const { name, source, video: own, passthrough: ownPassthrough, ...rest } = item as Record<
      string,
      unknown
    >;
    for (const key of Object.keys(rest)) problems.push(`${at}."${key}" is not a known field`);
    if (typeof name !== "string" || !CAMERA_NAME.test(name)) {
      problems.push(
        `${at}.name must be 1-32 lower-case letters, digits, _ or - (starting with a letter or digit), got ${
          show(name)
        }`,
      );
      return;
    }
    if (seen.has(name)) problems.push(`${at}.name "${name}" is used by another camera`);
    seen.add(name);
    const parsed = parseSource(source);
    if (typeof parsed === "string") {
      problems.push(`${at}.source ${parsed}`);
      return;
    }
    const ownVideo = own === undefined
      ? video
      : parseVideo(own, video, `${at}.video`, new Map(), problems);
    const cameraPassthrough = parsePassthrough(
      ownPassthrough,
      `${at}.passthrough`,
      passthrough,
      problems,
    );
    if (cameraPassthrough === true && parsed.kind !== "url") {
      problems.push(
        `${at}.passthrough can be true only for a network camera (rtsp://, http(s)://), not a ${parsed.kind} source`,
      );
    }
    cameras.push({ name, source: parsed, video: ownVideo, passthrough: cameraPassthrough });
  });
  return cameras;
}

/** Reads a camera source; returns a problem description when it is not one. */
export function parseSource(value: unknown): CameraSource | string {
  const forms = `testsrc, file:<path>, v4l2:/dev/videoN, rtsp://…, rtsps://…, http(s)://…`;
  if (typeof value !== "string" || value === "") {
    return `must be one of ${forms}, got ${show(value)}`;
  }
  if (value === "testsrc") return { kind: "testsrc" };
  if (value.startsWith("file:")) {
    const path = value.slice(5);
    return path ? { kind: "file", path } : `needs a path after "file:", got "${value}"`;
  }
  if (value.startsWith("v4l2:")) {
    const device = value.slice(5);
    return /^\/dev\/\S+$/.test(device)
      ? { kind: "v4l2", device }
      : `needs a device such as v4l2:/dev/video0, got "${value}"`;
  }
  if (/^(rtsps?|https?):\/\//.test(value)) {
    try {
      new URL(value);
      return { kind: "url", url: value };
    } catch {
      return `is not a valid URL: "${value}"`;
    }
  }
  return `must be one of ${forms}, got ${show(value)}`;
}

function parseVideo(
  value: unknown,
  base: VideoSettings,
  at: string,
  label: Map<string, string>,
  problems: string[],
): VideoSettings {
  if (value === undefined) return base;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    problems.push(`"${at}" must be an object such as {"size": "1280x720", "fps": 25}`);
    return base;
  }
  const { size, fps, bitrate, ...rest } = value as Record<string, unknown>;
  const name = (field: string) => label.get(`video.${field}`) ?? `${at}.${field}`;
  for (const key of Object.keys(rest)) problems.push(`${at}."${key}" is not a known field`);
  const video = { ...base };
  if (size !== undefined) {
    const match = typeof size === "string" ? /^(\d{2,4})x(\d{2,4})$/.exec(size) : null;
    const [w, h] = match ? [Number(match[1]), Number(match[2])] : [0, 0];
    if (!match || w < 16 || h < 16 || w > 4096 || h > 4096 || w % 2 || h % 2) {
      problems.push(
        `${name("size")} must be WIDTHxHEIGHT (even, 16-4096) such as 1280x720, got ${show(size)}`,
      );
    } else [video.width, video.height] = [w, h];
  }
  if (fps !== undefined) {
    const n = typeof fps === "string" ? Number(fps) : fps;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > 120) {
      problems.push(`${name("fps")} must be a whole number from 1 to 120, got ${show(fps)}`);
    } else video.fps = n;
  }
  if (bitrate !== undefined) {
    const n = parseBitrate(bitrate);
    if (n === undefined || n < 50_000 || n > 100_000_000) {
      problems.push(
        `${name("bitrate")} must be bits per second from 50k to 100M such as 2M or 1500k, got ${
          show(bitrate)
        }`,
      );
    } else video.bitrate = n;
  }
  return video;
}

/** Reads a passthrough setting: on/true, off/false or auto. */
function parsePassthrough(
  value: unknown,
  label: string,
  fallback: Passthrough,
  problems: string[],
): Passthrough {
  if (value === undefined) return fallback;
  if (value === true || value === "on" || value === "true") return true;
  if (value === false || value === "off" || value === "false") return false;
  if (value === "auto") return "auto";
  problems.push(`${label} must be on, off or auto, got ${show(value)}`);
  return fallback;
}

/** Reads `2GiB`, `500MB`, `64k` or a plain number of bytes. */
export function parseBytes(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== "string") return undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  const unit = match ? UNITS[match[2].toLowerCase()] : undefined;
  if (!match || unit === undefined) return undefined;
  return Math.floor(Number(match[1]) * unit);
}

function parseBitrate(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? Math.round(value) : undefined;
  if (typeof value !== "string") return undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*$/.exec(value);
  if (!match) return undefined;
  const unit = { "": 1, k: 1e3, m: 1e6 }[match[2].toLowerCase() as "" | "k" | "m"];
  return Math.round(Number(match[1]) * unit);
}

function show(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 60 ? text.slice(0, 57) + "…" : text;
}
