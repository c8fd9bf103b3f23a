import { parseDuration } from "./duration.ts";
import { parseStorageUrl } from "./storage_url.ts";
import { type BusTarget, parseBusUrl } from "./bus_url.ts";
import { parseCatalogUrl } from "./catalog_url.ts";
import { type MediaDeliveryTarget, parseMediaDelivery } from "./media_delivery.ts";

/** Raised when the configuration is invalid; the message names each variable and what is wrong. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
  }
}

/** What a server process does; one process does all four by default (`ROLES`). */
export type ServerRole = "ingest" | "api" | "indexer" | "live";

/** Every role, in the order `ROLES` names them by default. */
export const SERVER_ROLES: readonly ServerRole[] = ["ingest", "api", "indexer", "live"];

/** Validated configuration of the Motorcade server and its admin CLI. */
export interface Config {
  /** What this process does (`ROLES`): all four by default, any non-empty subset. */
  roles: ReadonlySet<ServerRole>;
  /** TCP port the server listens on; 0 picks a free one. */
  port: number;
  /** Address the server binds to. */
  host: string;
  /** Folder for the embedded catalog, object store and other local state. */
  dataDir: string;
  /** Base URL clients reach the server at; the issuer of every token. */
  publicUrl: string;
  /** Which catalog implementation and where, e.g. `sqlite:./data/catalog.db`. */
  catalogUrl: string;
  /** Object store of segment bytes, e.g. `file:./data/objects` or `s3://bucket?region=…`. */
  storageUrl: string;
  /** Event bus between ingest and the indexer, e.g. `log:./data/bus` or `kafka://h1:9092`. */
  busUrl: string;
  /** `busUrl` parsed, with Kafka's SASL credentials from `KAFKA_SASL_*`. */
  bus: BusTarget;
  /** Base URL of segment links in playlists (a CDN in front of `/media`); default PUBLIC_URL. */
  mediaBaseUrl: string;
  /** Lifetime of signed media and playlist URLs. */
  mediaUrlTtlMs: number;
  /** Where playlists point segment URLs: the server, S3 presigned GETs, or a signed CDN. */
  mediaDelivery: MediaDeliveryTarget;
  /** Largest segment accepted by ingest, in bytes. */
  segmentMaxBytes: number;
  /** Bytes all uploads being read and checked may hold in memory at once. */
  ingestBufferBytes: number;
  /** Listeners sharing the port (`SO_REUSEPORT`): this process plus ingest worker threads. */
  ingestWorkers: number;
  /** Free bytes below which (on any data file system) uploads are refused with 507. */
  minFreeBytes: number;
  /** How far ahead of the server's clock a segment's start time may be. */
  maxClockSkewMs: number;
  /** Holes in a camera's timeline shorter than this are not shown as gaps. */
  gapToleranceMs: number;
  /** A vehicle is online while its last heartbeat is younger than this (3 × the agent's 30 s). */
  vehicleOfflineAfterMs: number;
  /** How long each vehicle's heartbeats are kept in the catalog for its page's history. */
  heartbeatHistoryMs: number;
  /** The retention sweep: how often it runs (0: not in this process) and its batch size. */
  retention: { intervalMs: number; batchSize: number };
  /** PEM certificate and key: when both are set the server speaks HTTPS itself. */
  tls?: { certFile: string; keyFile: string };
  /** Take the client address from `X-Forwarded-For`, set by a trusted reverse proxy. */
  trustProxy: boolean;
  /** Reverse proxies in front (0 when TRUST_PROXY is off): the client is that X-Forwarded-For hop from the right. */
  proxyHops: number;
  /** Connection policy of the gate in front of the server (lib/http/gate.ts). */
  connections: {
    headerTimeoutMs: number;
    idleTimeoutMs: number;
    /** Undefined: derived from the open-file limit at start-up. */
    maxConnections?: number;
    /** Undefined: a quarter of the total. */
    maxConnectionsPerClient?: number;
  };
  logLevel: "debug" | "info" | "warn" | "error";
  /** Largest JSON request body accepted, in bytes. */
  maxBodyBytes: number;
  accessTokenTtlMs: number;
  refreshTokenTtlMs: number;
  deviceTokenTtlMs: number;
  enrolmentCodeTtlMs: number;
  /** How long a password reset code is valid (PASSWORD_RESET_TTL). */
  passwordResetTtlMs: number;
  /** Age after which the server rotates its signing key by itself; 0 never. */
  signingKeyRotationMs: number;
  /** Sign-in throttling: failures allowed per account+address, address and account; back-off. */
  signIn: {
    maxAttempts: number;
    maxAttemptsPerAddress: number;
    maxAttemptsPerAccount: number;
    backoffMs: number;
    maxBackoffMs: number;
  };
  /** argon2 hashes run at once, and how many may wait (past that: 503). */
  passwordWork: { concurrency: number; queue: number };
  /** Bearer token required on `/metrics`; unset leaves it open (for a private network). */
  metricsToken?: string;
  /** Where finished recalls are posted, signed with the secret (HMAC-SHA256); unset: nowhere. */
  recallWebhook?: { url: string; secret: string };
  /** Whether fleets' webhooks may reach loopback, private and link-local addresses. */
  webhookAllowPrivate: boolean;
  /** First platform owner, created on first start when no user exists. */
  admin?: { email: string; password: string };
  /** Live streaming through Janus; null when LIVE is off. */
  live: LiveConfig | null;
}

/** Live streaming settings (Janus sidecar, ladder, ICE servers). */
export interface LiveConfig {
  /** An external Janus's API WebSocket URL; unset: the platform runs Janus itself. */
  janusUrl?: string;
  /** An external Janus's Admin API base URL (`http://host:7088`). */
  janusAdminUrl?: string;
  janusApiSecret?: string;
  janusAdminSecret?: string;
  /** The `janus` executable the platform runs. */
  janusExecutable: string;
  /** First port of the three the supervised Janus listens on (WebSocket, HTTP, Admin). */
  janusPort: number;
  /**
   * 127.0.0.1 port Janus posts its media statistics to (each viewer's REMB): 0 for any free one
   * when the platform runs Janus; with `janusUrl`, none unless set with `janusEventsSecret`.
   */
  janusEventsPort: number;
  /** Password Janus's event handler posts with (user `janus`); random per start when unset. */
  janusEventsSecret?: string;
  janusRtpPortRange: [number, number];
  /** `ice_enforce_list`: interfaces or addresses Janus gathers candidates on. */
  janusIceEnforceList: string;
  janusNatMapping?: string;
  /** Rungs `height:bitrate` lowest first, or null to forward the vehicle's stream as is. */
  ladder: string | null;
  idleGraceMs: number;
  /** Signaling sockets one user may hold open (one more is refused). */
  maxSocketsPerUser: number;
  /** Signaling sockets one vehicle may hold open (one more replaces the oldest). */
  maxSocketsPerVehicle: number;
  /** WHEP sessions one signed-in user may hold open. */
  maxWhepPerUser: number;
  /** Period of the re-check of every open socket's and session's access. */
  accessRecheckMs: number;
  /** Period of the reads of live publishers' received bytes (data usage of kind "live"). */
  usageIntervalMs: number;
  /** The ABR controller viewers get: `adaptive` (issue 13) or `classic` (the one before it). */
  abr: "adaptive" | "classic";
  stunUrls: string[];
  turnUrls: string[];
  turnSecret?: string;
  turnTtlMs: number;
}

/** Raw values by variable name, as read from the environment or a config file. */
export type ConfigSource = Record<string, string | undefined>;

/** One line per variable for the README table and `ctl config`. */
export const CONFIG_VARIABLES: ReadonlyArray<{ name: string; default: string; meaning: string }> = [
  { name: "PORT", default: "8080", meaning: "TCP port to listen on (0 picks a free one)" },
  { name: "HOST", default: "0.0.0.0", meaning: "Address to bind" },
  {
    name: "ROLES",
    default: "ingest,api,indexer,live",
    meaning:
      "What this process does, any non-empty subset: `ingest` (vehicle uploads), `api` (admin, playback, media, fleets…), `indexer` (bus → catalog), `live` (Janus, signaling, WHIP/WHEP); see Roles",
  },
  { name: "DATA_DIR", default: "./data", meaning: "Folder for the embedded catalog and state" },
  {
    name: "PUBLIC_URL",
    default: "http://localhost:$PORT",
    meaning: "URL clients use to reach the server; issuer of every token",
  },
  {
    name: "CATALOG_URL",
    default: "sqlite:$DATA_DIR/catalog.db",
    meaning:
      "Catalog: `sqlite:<file>` (embedded, WAL) or `postgres://user@host:port/db` (see Catalog on PostgreSQL)",
  },
  {
    name: "STORAGE_URL",
    default: "file:$DATA_DIR/objects",
    meaning:
      "Object store of segments: `file:<dir>` (embedded) or `s3://<bucket>?…` (see Object store on S3)",
  },
  {
    name: "BUS_URL",
    default: "log:$DATA_DIR/bus",
    meaning:
      "Event bus: `log:<dir>` (embedded, durable log) or `kafka://h1:9092,h2:9092?topicPrefix=motorcade.&partitions=12&replication=3&attempts=5&tls=0` (see Event bus on Kafka)",
  },
  {
    name: "KAFKA_SASL_MECHANISM",
    default: "—",
    meaning:
      "SASL for a Kafka bus: `plain`, `scram-sha-256` or `scram-sha-512` (TLS: `?tls=1` in BUS_URL)",
  },
  { name: "KAFKA_SASL_USERNAME", default: "—", meaning: "User of a Kafka bus's SASL" },
  {
    name: "KAFKA_SASL_PASSWORD",
    default: "—",
    meaning: "Password of a Kafka bus's SASL (never logged)",
  },
  {
    name: "MEDIA_BASE_URL",
    default: "$PUBLIC_URL",
    meaning: "Base of segment URLs in playlists (point it at a CDN in front of /media)",
  },
  { name: "MEDIA_URL_TTL", default: "6h", meaning: "Lifetime of signed segment and playlist URLs" },
  {
    name: "MEDIA_DELIVERY",
    default: "server",
    meaning:
      "Where HLS playlists point recorded segments: `server` (/media), `s3` (presigned GETs; needs STORAGE_URL=s3://…) or `cdn` (CloudFront signed URLs; CDN_*); see Delivery",
  },
  {
    name: "CDN_BASE_URL",
    default: "—",
    meaning: "With MEDIA_DELIVERY=cdn: the CDN's URL, its origin the bucket (object keys as paths)",
  },
  {
    name: "CDN_KEY_PAIR_ID",
    default: "—",
    meaning: "With MEDIA_DELIVERY=cdn: id of the CloudFront public key that checks signatures",
  },
  {
    name: "CDN_PRIVATE_KEY_FILE",
    default: "—",
    meaning: "With MEDIA_DELIVERY=cdn: PEM file of the matching RSA private key (never logged)",
  },
  { name: "SEGMENT_MAX_BYTES", default: "33554432", meaning: "Largest segment ingest accepts" },
  {
    name: "INGEST_WORKERS",
    default: "1",
    meaning:
      "Listeners on PORT (`SO_REUSEPORT`, Linux): this process and N-1 ingest worker threads that take uploads themselves and hand other requests and every bus event to it; needs the ingest role; see Ingest workers",
  },
  {
    name: "INGEST_BUFFER_BYTES",
    default: "536870912",
    meaning:
      "Memory all uploads being checked may hold at once; past it uploads get 503 with Retry-After",
  },
  {
    name: "MIN_FREE_BYTES",
    default: "268435456",
    meaning:
      "Free space kept for the catalog and bus: below it on a data file system uploads get 507 with Retry-After and /readyz says not ready (0: only when full)",
  },
  {
    name: "MAX_CLOCK_SKEW",
    default: "5m",
    meaning: "How far in the future a segment's start time may be",
  },
  {
    name: "GAP_TOLERANCE",
    default: "500ms",
    meaning: "Holes in a timeline shorter than this are not marked as gaps",
  },
  {
    name: "VEHICLE_OFFLINE_AFTER",
    default: "90s",
    meaning:
      "A vehicle is `online` while its last heartbeat is younger than this: 3 × the agent's default `heartbeatSeconds` (30)",
  },
  {
    name: "HEARTBEAT_HISTORY",
    default: "24h",
    meaning:
      "How long a vehicle's heartbeats are kept in the catalog (its newest 5,000 at most) for its page's history; 0: only the last",
  },
  {
    name: "RETENTION_INTERVAL",
    default: "10m",
    meaning:
      "How often this process sweeps fleets with a retention (`retentionDays`) for expired recordings (0: never here); see Retention",
  },
  {
    name: "RETENTION_BATCH",
    default: "1000",
    meaning:
      "Segments one retention batch deletes (1-1000: one S3 DeleteObjects); a sweep runs at most 1000 batches",
  },
  {
    name: "TLS_CERT_FILE",
    default: "—",
    meaning: "PEM certificate; with TLS_KEY_FILE serves HTTPS",
  },
  { name: "TLS_KEY_FILE", default: "—", meaning: "PEM private key for TLS_CERT_FILE" },
  {
    name: "TRUST_PROXY",
    default: "false",
    meaning:
      "Behind N reverse proxies (`true`: one): the client is the N-th X-Forwarded-For address from the right",
  },
  {
    name: "HTTP_HEADER_TIMEOUT",
    default: "10s",
    meaning:
      "A request head must arrive within this of the connection opening or of its first byte; else 408 and close",
  },
  {
    name: "HTTP_IDLE_TIMEOUT",
    default: "60s",
    meaning:
      "A connection with no bytes either way for this long is closed (a WebSocket: at least 2 minutes)",
  },
  {
    name: "MAX_CONNECTIONS",
    default: "from the open-file limit",
    meaning:
      "Connections open at once, one more gets 503 and is closed; default (open-file limit − reserve) / 3",
  },
  {
    name: "MAX_CONNECTIONS_PER_IP",
    default: "MAX_CONNECTIONS / 4",
    meaning:
      "Connections open at once from one client address (503 beyond); not applied with TRUST_PROXY",
  },
  {
    name: "LOG_LEVEL",
    default: "info",
    meaning: "debug, info, warn or error (JSON lines on stdout)",
  },
  { name: "MAX_BODY_BYTES", default: "1048576", meaning: "Largest JSON request body" },
  { name: "ACCESS_TOKEN_TTL", default: "5m", meaning: "Lifetime of a user access JWT" },
  { name: "REFRESH_TOKEN_TTL", default: "30d", meaning: "Lifetime of a refresh token family" },
  { name: "DEVICE_TOKEN_TTL", default: "10m", meaning: "Lifetime of a vehicle's device JWT" },
  {
    name: "ENROLMENT_CODE_TTL",
    default: "7d",
    meaning: "How long a vehicle enrolment code is valid",
  },
  {
    name: "PASSWORD_RESET_TTL",
    default: "24h",
    meaning: "How long a one-time password reset code an admin issues is valid",
  },
  {
    name: "SIGNING_KEY_ROTATION",
    default: "30d",
    meaning: "Rotate the JWT signing key after this age (0: never)",
  },
  {
    name: "SIGNIN_MAX_ATTEMPTS",
    default: "5",
    meaning:
      "Failed sign-ins for one account from one client address before back-off (429 with Retry-After)",
  },
  {
    name: "SIGNIN_MAX_PER_ADDRESS",
    default: "20",
    meaning:
      "Failed sign-ins from one client address (IPv6: its /64) over all accounts before back-off",
  },
  {
    name: "SIGNIN_MAX_PER_ACCOUNT",
    default: "100",
    meaning:
      "Failed sign-ins for one account from all addresses before back-off; addresses it signed in from in the last 30 days are exempt",
  },
  {
    name: "SIGNIN_BACKOFF",
    default: "1m",
    meaning: "First back-off once a sign-in limit is reached; doubles with each further failure",
  },
  {
    name: "SIGNIN_MAX_BACKOFF",
    default: "15m",
    meaning:
      "Longest back-off; failures are forgotten once this long passes with no failure and no back-off",
  },
  {
    name: "PASSWORD_HASH_AT_ONCE",
    default: "half the cores (≥ 1)",
    meaning: "argon2 hashes run at once (each takes a core, off the event loop)",
  },
  {
    name: "PASSWORD_HASH_QUEUE",
    default: "32",
    meaning:
      "Password checks that may wait for a slot; past it the request gets 503 with Retry-After",
  },
  { name: "METRICS_TOKEN", default: "—", meaning: "Bearer token required on /metrics if set" },
  {
    name: "RECALL_WEBHOOK_URL",
    default: "—",
    meaning: "Where each finished recall is POSTed (recall.finished, signed); unset: no webhook",
  },
  {
    name: "RECALL_WEBHOOK_SECRET",
    default: "—",
    meaning:
      "Signs recall webhooks (Motorcade-Signature, HMAC-SHA256); 16+ characters, required with the URL",
  },
  {
    name: "WEBHOOK_ALLOW_PRIVATE",
    default: "off",
    meaning:
      "Lets fleets' webhooks reach loopback, private, link-local and other non-public addresses (off: refused when set and when posting; on only where every fleet admin is trusted)",
  },
  {
    name: "MOTORCADE_ADMIN_EMAIL",
    default: "—",
    meaning:
      "First platform owner, created on first start when no user exists (unset: admin@motorcade.local with a generated password, printed once)",
  },
  { name: "MOTORCADE_ADMIN_PASSWORD", default: "—", meaning: "Password of that first owner" },
  { name: "LIVE", default: "on", meaning: "Live streaming through Janus (off: DVR only)" },
  {
    name: "JANUS_URL",
    default: "—",
    meaning: "WebSocket API of an external Janus (unset: the platform starts and supervises Janus)",
  },
  { name: "JANUS_ADMIN_URL", default: "—", meaning: "Admin API base URL of that external Janus" },
  {
    name: "JANUS_API_SECRET",
    default: "generated",
    meaning: "Janus api_secret (required with JANUS_URL)",
  },
  {
    name: "JANUS_ADMIN_SECRET",
    default: "generated",
    meaning: "Janus admin_secret, also the rooms' admin_key (required with JANUS_URL)",
  },
  { name: "JANUS_EXECUTABLE", default: "janus", meaning: "The janus binary the platform runs" },
  {
    name: "JANUS_PORT",
    default: "8188",
    meaning: "Supervised Janus: WebSocket API port; HTTP and Admin use the next two (127.0.0.1)",
  },
  {
    name: "JANUS_EVENTS_PORT",
    default: "0",
    meaning:
      "127.0.0.1 port Janus posts media stats (viewers' REMB) to; 0: any free port when the server runs Janus, off with JANUS_URL",
  },
  {
    name: "JANUS_EVENTS_SECRET",
    default: "generated",
    meaning: "Password Janus's event handler posts with (user janus); set it with JANUS_URL",
  },
  { name: "JANUS_RTP_PORT_RANGE", default: "20000-40000", meaning: "UDP ports for media" },
  {
    name: "JANUS_ICE_ENFORCE_LIST",
    default: "—",
    meaning: "Janus ice_enforce_list: interfaces/addresses ICE gathers on (tests: 127.0.0.2)",
  },
  {
    name: "JANUS_NAT_1_1_MAPPING",
    default: "—",
    meaning: "Public IP Janus announces when behind 1:1 NAT (cloud VMs)",
  },
  {
    name: "LIVE_LADDER",
    default: "auto",
    meaning:
      "auto: 3 rungs from each camera's height (see Live), or 3 rungs height:bitrate lowest first; off forwards one layer",
  },
  {
    name: "LIVE_IDLE_GRACE",
    default: "15s",
    meaning: "A camera stops publishing this long after its last viewer left",
  },
  {
    name: "LIVE_SOCKETS_PER_USER",
    default: "8",
    meaning: "Signaling sockets one user may hold open; one more is refused (1008)",
  },
  {
    name: "LIVE_SOCKETS_PER_VEHICLE",
    default: "2",
    meaning: "Signaling sockets one vehicle may hold open; one more replaces the oldest",
  },
  {
    name: "LIVE_WHEP_PER_USER",
    default: "8",
    meaning: "WHEP sessions one signed-in user may hold open; one more gets 429",
  },
  {
    name: "LIVE_ACCESS_RECHECK",
    default: "10s",
    meaning:
      "How often open sockets and WHEP/WHIP sessions re-check their access (revocations made in this process end them at once)",
  },
  {
    name: "LIVE_USAGE_INTERVAL",
    default: "10s",
    meaning:
      "How often the bytes live publishers sent are read from Janus into data usage (kind live)",
  },
  {
    name: "LIVE_ABR",
    default: "adaptive",
    meaning:
      "Live ABR controller: adaptive (loss, NACKs, jitter, RTT queue, viewer stats; probes up) or classic (loss and jitter, steps one layer)",
  },
  { name: "STUN_URLS", default: "—", meaning: "Comma-separated stun: URLs handed to clients" },
  { name: "TURN_URLS", default: "—", meaning: "Comma-separated turn:/turns: URLs (coturn)" },
  {
    name: "TURN_SECRET",
    default: "—",
    meaning: "coturn static-auth-secret: clients get time-limited HMAC credentials",
  },
  { name: "TURN_TTL", default: "1h", meaning: "Lifetime of a TURN credential" },
  {
    name: "MOTORCADE_CONFIG",
    default: "—",
    meaning: "Optional JSON file of the same variables; the environment wins",
  },
];

const KNOWN = new Set(CONFIG_VARIABLES.map((v) => v.name));

/**
 * Validates raw values into a {@linkcode Config}. Collects every problem before failing, so one
 * start-up tells the operator everything that is wrong.
 */
export function parseConfig(source: ConfigSource): Config {
  const problems: string[] = [];
  const get = (name: string) => {
    const value = source[name];
    return value === undefined || value.trim() === "" ? undefined : value.trim();
  };

  const integer = (name: string, fallback: number, min: number, max: number) => {
    const raw = get(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value < min || value > max) {
      problems.push(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return value;
  };
  const duration = (name: string, fallback: string, allowZero = false) => {
    const raw = get(name) ?? fallback;
    const ms = parseDuration(raw);
    if (ms === undefined || (!allowZero && ms <= 0)) {
      problems.push(
        `${name} must be a duration such as "90s", "15m", "12h" or "30d", got "${raw}"`,
      );
      return parseDuration(fallback)!;
    }
    return ms;
  };
  const boolean = (name: string, fallback: boolean) => {
    const raw = get(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (["1", "true", "yes", "on"].includes(raw)) return true;
    if (["0", "false", "no", "off"].includes(raw)) return false;
    problems.push(`${name} must be true or false, got "${source[name]}"`);
    return fallback;
  };
  const urlList = (name: string, schemes: RegExp) => {
    const list = (get(name) ?? "").split(",").map((u) => u.trim()).filter(Boolean);
    for (const entry of list) {
      if (!schemes.test(entry)) problems.push(`${name} has an invalid URL "${entry}"`);
    }
    return list;
  };
  const parseLive = (): LiveConfig => {
    const janusUrl = get("JANUS_URL");
    if (janusUrl && !/^wss?:\/\/.+/.test(janusUrl)) {
      problems.push(`JANUS_URL must be a ws:// or wss:// URL, got "${janusUrl}"`);
    }
    const janusAdminUrl = get("JANUS_ADMIN_URL");
    if (janusUrl && (!janusAdminUrl || !get("JANUS_API_SECRET") || !get("JANUS_ADMIN_SECRET"))) {
      problems.push(
        "JANUS_URL needs JANUS_ADMIN_URL, JANUS_API_SECRET and JANUS_ADMIN_SECRET as well",
      );
    }
    const range = get("JANUS_RTP_PORT_RANGE") ?? "20000-40000";
    const match = /^(\d{1,5})-(\d{1,5})$/.exec(range);
    let rtp: [number, number] = [20_000, 40_000];
    if (
      !match || Number(match[1]) < 1024 || Number(match[2]) > 65535 ||
      Number(match[2]) - Number(match[1]) < 100
    ) {
      problems.push(
        `JANUS_RTP_PORT_RANGE must be "min-max" within 1024-65535, 100 ports or more, got "${range}"`,
      );
    } else rtp = [Number(match[1]), Number(match[2])];
    const ladderRaw = get("LIVE_LADDER") ?? "auto";
    const ladder = /^(off|none|false|0)$/i.test(ladderRaw) ? null : ladderRaw;
    if (
      ladder && !/^\s*auto\s*$/i.test(ladder) &&
      !/^\s*\d{2,4}:\d+(\.\d+)?[kKmM]?(\s*,\s*\d{2,4}:\d+(\.\d+)?[kKmM]?){2}\s*$/.test(ladder)
    ) {
      problems.push(
        `LIVE_LADDER must be auto, off or three rungs height:bitrate lowest first (e.g. "480:600k,720:1500k,1080:3m"), got "${ladder}"`,
      );
    }
    const abrRaw = (get("LIVE_ABR") ?? "adaptive").trim().toLowerCase();
    if (abrRaw !== "adaptive" && abrRaw !== "classic") {
      problems.push(`LIVE_ABR must be adaptive or classic, got "${get("LIVE_ABR")}"`);
    }
    const abrKind = abrRaw === "classic" ? "classic" : "adaptive";
    const turnUrls = urlList("TURN_URLS", /^turns?:.+/);
    const turnSecret = get("TURN_SECRET");
    if (turnUrls.length && !turnSecret) problems.push("TURN_URLS needs TURN_SECRET");
    return {
      janusUrl,
      janusAdminUrl: janusAdminUrl?.replace(/\/+$/, ""),
      janusApiSecret: get("JANUS_API_SECRET"),
      janusAdminSecret: get("JANUS_ADMIN_SECRET"),
      janusExecutable: get("JANUS_EXECUTABLE") ?? "janus",
      janusPort: integer("JANUS_PORT", 8188, 1, 65533),
      janusEventsPort: integer("JANUS_EVENTS_PORT", 0, 0, 65535),
      janusEventsSecret: get("JANUS_EVENTS_SECRET"),
      janusRtpPortRange: rtp,
      janusIceEnforceList: get("JANUS_ICE_ENFORCE_LIST") ?? "",
      janusNatMapping: get("JANUS_NAT_1_1_MAPPING"),
      ladder,
      idleGraceMs: duration("LIVE_IDLE_GRACE", "15s"),
      maxSocketsPerUser: integer("LIVE_SOCKETS_PER_USER", 8, 1, 1_000_000),
      maxSocketsPerVehicle: integer("LIVE_SOCKETS_PER_VEHICLE", 2, 1, 1_000),
      maxWhepPerUser: integer("LIVE_WHEP_PER_USER", 8, 1, 1_000_000),
      accessRecheckMs: duration("LIVE_ACCESS_RECHECK", "10s"),
      usageIntervalMs: duration("LIVE_USAGE_INTERVAL", "10s"),
      abr: abrKind,
      stunUrls: urlList("STUN_URLS", /^stuns?:.+/),
      turnUrls,
      turnSecret,
      turnTtlMs: duration("TURN_TTL", "1h"),
    };
  };
  const url = (name: string, fallback: string) => {
    const raw = get(name) ?? fallback;
    try {
      const parsed = new URL(raw);
      if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new Error();
      return raw.replace(/\/+$/, "");
    } catch {
      problems.push(`${name} must be an absolute http(s) URL, got "${raw}"`);
      return fallback;
    }
  };

  const port = integer("PORT", 8080, 0, 65535);
  const host = get("HOST") ?? "0.0.0.0";
  const dataDir = get("DATA_DIR") ?? "./data";
  const publicUrl = url("PUBLIC_URL", `http://localhost:${port || 8080}`);
  const catalogUrl = get("CATALOG_URL") ?? `sqlite:${dataDir}/catalog.db`;
  try {
    parseCatalogUrl(catalogUrl);
  } catch (error) {
    problems.push(`CATALOG_URL ${(error as Error).message}`);
  }

  const storageUrl = get("STORAGE_URL") ?? `file:${dataDir}/objects`;
  try {
    parseStorageUrl(storageUrl);
  } catch (error) {
    problems.push(`STORAGE_URL ${(error as Error).message}`);
  }
  const busUrl = get("BUS_URL") ?? `log:${dataDir}/bus`;
  let bus: BusTarget = { kind: "log", dir: `${dataDir}/bus` };
  try {
    bus = parseBusUrl(busUrl, source);
  } catch (error) {
    problems.push(`BUS_URL ${(error as Error).message}`);
  }
  const mediaBaseUrl = url("MEDIA_BASE_URL", publicUrl);
  const mediaUrlTtlMs = duration("MEDIA_URL_TTL", "6h");
  const mediaDelivery = parseMediaDelivery(get, storageUrl, mediaUrlTtlMs, problems);

  const certFile = get("TLS_CERT_FILE");
  const keyFile = get("TLS_KEY_FILE");
  if ((certFile === undefined) !== (keyFile === undefined)) {
    problems.push("TLS_CERT_FILE and TLS_KEY_FILE must be set together");
  }

  const logLevel = (get("LOG_LEVEL") ?? "info").toLowerCase();
  if (!["debug", "info", "warn", "error"].includes(logLevel)) {
    problems.push(`LOG_LEVEL must be one of debug, info, warn, error, got "${logLevel}"`);
  }

  const adminEmail = get("MOTORCADE_ADMIN_EMAIL");
  const adminPassword = source["MOTORCADE_ADMIN_PASSWORD"] || undefined;
  if ((adminEmail === undefined) !== (adminPassword === undefined)) {
    problems.push("MOTORCADE_ADMIN_EMAIL and MOTORCADE_ADMIN_PASSWORD must be set together");
  } else if (adminEmail !== undefined && !/^[^@\s]+@[^@\s]+$/.test(adminEmail)) {
    problems.push(`MOTORCADE_ADMIN_EMAIL must be an email address, got "${adminEmail}"`);
  } else if (adminPassword !== undefined && adminPassword.length < 8) {
    problems.push("MOTORCADE_ADMIN_PASSWORD must be at least 8 characters");
  }

  const roles = parseRoles(get("ROLES"), problems);
  const live = boolean("LIVE", true) && roles.has("live") ? parseLive() : null;

  const config: Config = {
    roles,
    live,
    port,
    host,
    dataDir,
    publicUrl,
    catalogUrl,
    storageUrl,
    busUrl,
    bus,
    mediaBaseUrl,
    mediaUrlTtlMs,
    mediaDelivery,
    segmentMaxBytes: integer("SEGMENT_MAX_BYTES", 33_554_432, 1024, 1_073_741_824),
    ingestBufferBytes: integer("INGEST_BUFFER_BYTES", 536_870_912, 1024, 68_719_476_736),
    ingestWorkers: integer("INGEST_WORKERS", 1, 1, 64),
    minFreeBytes: integer("MIN_FREE_BYTES", 268_435_456, 0, Number.MAX_SAFE_INTEGER),
    maxClockSkewMs: duration("MAX_CLOCK_SKEW", "5m"),
    gapToleranceMs: duration("GAP_TOLERANCE", "500ms", true),
    vehicleOfflineAfterMs: duration("VEHICLE_OFFLINE_AFTER", "90s"),
    heartbeatHistoryMs: duration("HEARTBEAT_HISTORY", "24h", true),
    retention: {
      intervalMs: duration("RETENTION_INTERVAL", "10m", true),
      batchSize: integer("RETENTION_BATCH", 1000, 1, 1000),
    },
    tls: certFile && keyFile ? { certFile, keyFile } : undefined,
    ...proxyTrust(get("TRUST_PROXY"), problems),
    connections: {
      headerTimeoutMs: duration("HTTP_HEADER_TIMEOUT", "10s"),
      idleTimeoutMs: duration("HTTP_IDLE_TIMEOUT", "60s"),
      maxConnections: get("MAX_CONNECTIONS") === undefined
        ? undefined
        : integer("MAX_CONNECTIONS", 1024, 1, 10_000_000),
      maxConnectionsPerClient: get("MAX_CONNECTIONS_PER_IP") === undefined
        ? undefined
        : integer("MAX_CONNECTIONS_PER_IP", 256, 1, 10_000_000),
    },
    logLevel: logLevel as Config["logLevel"],
    maxBodyBytes: integer("MAX_BODY_BYTES", 1_048_576, 1024, 1_073_741_824),
    accessTokenTtlMs: duration("ACCESS_TOKEN_TTL", "5m"),
    refreshTokenTtlMs: duration("REFRESH_TOKEN_TTL", "30d"),
    deviceTokenTtlMs: duration("DEVICE_TOKEN_TTL", "10m"),
    enrolmentCodeTtlMs: duration("ENROLMENT_CODE_TTL", "7d"),
    passwordResetTtlMs: duration("PASSWORD_RESET_TTL", "24h"),
    signingKeyRotationMs: duration("SIGNING_KEY_ROTATION", "30d", true),
    signIn: {
      maxAttempts: integer("SIGNIN_MAX_ATTEMPTS", 5, 1, 1_000_000),
      maxAttemptsPerAddress: integer("SIGNIN_MAX_PER_ADDRESS", 20, 1, 1_000_000),
      maxAttemptsPerAccount: integer("SIGNIN_MAX_PER_ACCOUNT", 100, 1, 1_000_000),
      backoffMs: duration("SIGNIN_BACKOFF", "1m"),
      maxBackoffMs: duration("SIGNIN_MAX_BACKOFF", "15m"),
    },
    passwordWork: {
      concurrency: integer(
        "PASSWORD_HASH_AT_ONCE",
        Math.max(1, Math.floor((navigator.hardwareConcurrency ?? 2) / 2)),
        1,
        1024,
      ),
      queue: integer("PASSWORD_HASH_QUEUE", 32, 0, 1_000_000),
    },
    metricsToken: get("METRICS_TOKEN"),
    recallWebhook: recallWebhook(get("RECALL_WEBHOOK_URL"), get("RECALL_WEBHOOK_SECRET"), problems),
    webhookAllowPrivate: boolean("WEBHOOK_ALLOW_PRIVATE", false),
    admin: adminEmail && adminPassword ? { email: adminEmail, password: adminPassword } : undefined,
  };
  if (config.signingKeyRotationMs && config.signingKeyRotationMs < config.accessTokenTtlMs) {
    problems.push("SIGNING_KEY_ROTATION must be longer than ACCESS_TOKEN_TTL");
  }
  if (config.signIn.maxBackoffMs < config.signIn.backoffMs) {
    problems.push("SIGNIN_MAX_BACKOFF must not be shorter than SIGNIN_BACKOFF");
  }
  if (config.ingestWorkers > 1 && !roles.has("ingest")) {
    problems.push(`INGEST_WORKERS is ${config.ingestWorkers}, but ROLES has no ingest role`);
  }
  if (problems.length) throw new ConfigError(problems);
  return config;
}

/** The recall webhook's URL and secret, when the URL is set; a problem when either is unusable. */
function recallWebhook(
  url: string | undefined,
  secret: string | undefined,
  problems: string[],
): Config["recallWebhook"] {
  if (url === undefined) return undefined;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new Error();
  } catch {
    problems.push(`RECALL_WEBHOOK_URL must be an absolute http(s) URL, got "${url}"`);
    return undefined;
  }
  if (!secret || secret.length < 16) {
    problems.push(
      "RECALL_WEBHOOK_SECRET must be set, 16 characters or more, with RECALL_WEBHOOK_URL",
    );
    return undefined;
  }
  return { url, secret };
}

/** ROLES: a comma-separated, non-empty subset of {@linkcode SERVER_ROLES}. */
function parseRoles(raw: string | undefined, problems: string[]): ReadonlySet<ServerRole> {
  if (raw === undefined) return new Set(SERVER_ROLES);
  const names = raw.split(",").map((name) => name.trim().toLowerCase()).filter(Boolean);
  const unknown = names.filter((name) => !(SERVER_ROLES as readonly string[]).includes(name));
  if (unknown.length || names.length === 0) {
    problems.push(
      `ROLES must be a comma-separated list of ${SERVER_ROLES.join(", ")}, got "${raw}"` +
        (unknown.length ? ` (unknown: ${unknown.map((name) => `"${name}"`).join(", ")})` : ""),
    );
    return new Set(SERVER_ROLES);
  }
  return new Set(names as ServerRole[]);
}

/** TRUST_PROXY: `false`, `true` (one proxy) or the number of proxies in front (1–10). */
function proxyTrust(
  raw: string | undefined,
  problems: string[],
): { trustProxy: boolean; proxyHops: number } {
  const value = raw?.toLowerCase() ?? "false";
  if (["0", "false", "no", "off"].includes(value)) return { trustProxy: false, proxyHops: 0 };
  if (["true", "yes", "on"].includes(value)) return { trustProxy: true, proxyHops: 1 };
  if (/^([1-9]|10)$/.test(value)) return { trustProxy: true, proxyHops: Number(value) };
  problems.push(
    `TRUST_PROXY must be true, false or a number of proxies from 1 to 10, got "${raw}"`,
  );
  return { trustProxy: false, proxyHops: 0 };
}

/**
 * Reads the configuration from the environment, layered over the JSON file named by
 * `MOTORCADE_CONFIG` when set. Throws {@linkcode ConfigError} naming every invalid variable.
 */
export function loadConfig(env: ConfigSource = Deno.env.toObject()): Config {
  const file = env["MOTORCADE_CONFIG"]?.trim();
  if (!file) return parseConfig(env);
  let text: string;
  try {
    text = Deno.readTextFileSync(file);
  } catch (error) {
    throw new ConfigError([`MOTORCADE_CONFIG names "${file}", which cannot be read: ${error}`]);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError([`MOTORCADE_CONFIG file "${file}" is not valid JSON: ${error}`]);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError([`MOTORCADE_CONFIG file "${file}" must hold a JSON object`]);
  }
  const fromFile: ConfigSource = {};
  const problems: string[] = [];
  for (const [name, value] of Object.entries(parsed)) {
    if (!KNOWN.has(name)) problems.push(`"${name}" in "${file}" is not a known variable`);
    else if (["string", "number", "boolean"].includes(typeof value)) fromFile[name] = String(value);
    else problems.push(`"${name}" in "${file}" must be a string, number or boolean`);
  }
  if (problems.length) throw new ConfigError(problems);
  const merged: ConfigSource = { ...fromFile };
  for (const [name, value] of Object.entries(env)) if (value !== undefined) merged[name] = value;
  return parseConfig(merged);
}
