/**
 * Janus's configuration, written by the platform: Janus always runs from a folder of our own
 * (`janus -F dir`), never from Debian's samples, which bind UDP ports on every interface. The
 * files are rendered from the options below; `janus/README.md` explains each setting.
 */

/** What the platform decides about the Janus it starts. */
export interface JanusConfigOptions {
  /** Janus API over WebSocket, bound to 127.0.0.1. */
  wsPort: number;
  /** HTTP transport (readiness `GET /janus/info`) and the Admin API (`POST /admin`), 127.0.0.1. */
  httpPort: number;
  /** Secret every Janus API request carries. */
  apiSecret: string;
  /** Secret every Admin API request carries. */
  adminSecret: string;
  /** UDP ports for media, e.g. `[20000, 40000]`. */
  rtpPortRange: [number, number];
  /** Interfaces or addresses ICE gathers candidates on (`ice_enforce_list`); empty for all. */
  iceEnforceList: string;
  /** Public address to announce when Janus sits behind 1:1 NAT (`nat_1_1_mapping`). */
  natMapping?: string;
  /** STUN server Janus uses to learn its public address, `host:port`. */
  stunServer?: string;
  /** Janus's log verbosity, 0–7. */
  debugLevel: number;
  /** Folder of the Debian package's plugins and transports. */
  libDir: string;
}

/** Plugins Motorcade does not use; not loading them saves memory and ports. */
const UNUSED_PLUGINS = [
  "audiobridge",
  "duktape",
  "echotest",
  "lua",
  "nosip",
  "recordplay",
  "sip",
  "textroom",
  "videocall",
  "voicemail",
].map((name) => `libjanus_${name}.so`);
const UNUSED_TRANSPORTS = ["mqtt", "nanomsg", "pfunix", "rabbitmq"].map((n) => `libjanus_${n}.so`);
const UNUSED_EVENTS = ["gelfevh", "mqttevh", "nanomsgevh", "rabbitmqevh", "sampleevh", "wsevh"]
  .map((n) => `libjanus_${n}.so`);

/** Quotes a value for Janus's libconfig syntax. */
function quoted(value: string): string {
  if (/["\\\n]/.test(value)) {
    throw new RangeError(`Janus setting cannot contain quotes: "${value}"`);
  }
  return `"${value}"`;
}

/** The files of a Janus configuration folder, by name. */
export function renderJanusConfig(o: JanusConfigOptions): Record<string, string> {
  // ICE and the Streaming plugin's RTP inputs bind from separate parts of the range: the first
  // three quarters for ICE, the rest for mountpoint inputs.
  const [low, high] = o.rtpPortRange;
  const split = low + Math.floor((high - low) * 0.75);
  const ice = [low, split];
  const streaming = [split + 1, high];
  const nat = [
    o.iceEnforceList ? `  ice_enforce_list = ${quoted(o.iceEnforceList)}` : "",
    o.natMapping ? `  nat_1_1_mapping = ${quoted(o.natMapping)}` : "",
    o.stunServer ? `  stun_server = ${quoted(o.stunServer.split(":")[0])}` : "",
    o.stunServer ? `  stun_port = ${Number(o.stunServer.split(":")[1] ?? 3478)}` : "",
    "  nice_debug = false",
    "  ignore_mdns = true",
  ].filter(Boolean).join("\n");
  return {
    "janus.jcfg": `general: {
  configs_folder = ${quoted("@CONFIG_DIR@")}
  plugins_folder = ${quoted(`${o.libDir}/plugins`)}
  transports_folder = ${quoted(`${o.libDir}/transports`)}
  events_folder = ${quoted(`${o.libDir}/events`)}
  loggers_folder = ${quoted(`${o.libDir}/loggers`)}
  debug_level = ${o.debugLevel}
  debug_timestamps = true
  server_name = "motorcade-janus"
  session_timeout = 60
  api_secret = ${quoted(o.apiSecret)}
  admin_secret = ${quoted(o.adminSecret)}
  protected_folders = ["/bin", "/boot", "/dev", "/etc", "/initrd", "/lib", "/lib32", "/lib64", "/proc", "/sbin", "/sys", "/usr", "/var"]
}
certificates: {
  dtls_accept_selfsigned = true
}
media: {
  rtp_port_range = ${quoted(`${ice[0]}-${ice[1]}`)}
  dtls_timeout = 500
  nack_optimizations = true
}
nat: {
${nat}
}
plugins: {
  disable = ${quoted(UNUSED_PLUGINS.join(","))}
}
transports: {
  disable = ${quoted(UNUSED_TRANSPORTS.join(","))}
}
loggers: {
  disable = "libjanus_jsonlog.so"
}
events: {
  broadcast = false
  disable = ${quoted(UNUSED_EVENTS.join(","))}
}
`,
    "janus.transport.websockets.jcfg": `general: {
  json = "plain"
  ws = true
  ws_port = ${o.wsPort}
  ws_ip = "127.0.0.1"
  wss = false
}
admin: {
  admin_ws = false
  admin_wss = false
}
`,
    "janus.transport.http.jcfg": `general: {
  json = "plain"
  base_path = "/janus"
  http = true
  port = ${o.httpPort}
  ip = "127.0.0.1"
  https = false
}
admin: {
  admin_base_path = "/admin"
  admin_http = true
  admin_port = ${o.httpPort + 1}
  admin_ip = "127.0.0.1"
  admin_https = false
}
`,
    // Rooms and mountpoints are created through the API by the platform, never from files: after
    // a Janus restart the platform re-creates them.
    "janus.plugin.videoroom.jcfg": `general: {
  string_ids = true
  admin_key = ${quoted(o.adminSecret)}
  lock_rtp_forward = true
}
`,
    "janus.plugin.streaming.jcfg": `general: {
  string_ids = true
  admin_key = ${quoted(o.adminSecret)}
  rtp_port_range = ${quoted(`${streaming[0]}-${streaming[1]}`)}
}
`,
  };
}
