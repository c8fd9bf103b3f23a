/**
 * Janus's configuration, written by the platform: the templates in `janus/` with their
 * `{{PLACEHOLDERS}}` filled in from the options below, into a folder of our own that Janus runs
 * from (`janus -F dir`) — never Debian's samples, which bind UDP ports on every interface.
 * `janus/README.md` explains each setting.
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
  /**
   * Where Janus posts its media statistics (each viewer's REMB) every second: the platform's
   * {@linkcode JanusEventSink}; no events when absent.
   */
  events?: { url: string; user: string; secret: string };
  /** Folder of the templates; the repository's `janus/` by default. */
  templateDir?: URL;
}

/** The template files, by name (each becomes a file of the same name). */
export const JANUS_TEMPLATES = [
  "janus.jcfg",
  "janus.transport.websockets.jcfg",
  "janus.transport.http.jcfg",
  "janus.plugin.videoroom.jcfg",
  "janus.plugin.streaming.jcfg",
  "janus.eventhandler.sampleevh.jcfg",
] as const;

const TEMPLATE_DIR = new URL("../../janus/", import.meta.url);

/** Quotes-safe value for Janus's libconfig syntax (no quote, backslash or newline). */
function safe(name: string, value: string): string {
  if (/["\\\n]/.test(value)) {
    throw new RangeError(`Janus setting ${name} cannot contain quotes: "${value}"`);
  }
  return value;
}

/** The values of the placeholders. */
function placeholders(o: JanusConfigOptions, configDir: string): Record<string, string> {
  // ICE and the Streaming plugin's RTP inputs bind from separate parts of the range: the first
  // three quarters for ICE, the rest for mountpoint inputs.
  const [low, high] = o.rtpPortRange;
  const split = low + Math.floor((high - low) * 0.75);
  const nat = [
    o.iceEnforceList ? `  ice_enforce_list = "${safe("ice_enforce_list", o.iceEnforceList)}"` : "",
    o.natMapping ? `  nat_1_1_mapping = "${safe("nat_1_1_mapping", o.natMapping)}"` : "",
    o.stunServer ? `  stun_server = "${safe("stun_server", o.stunServer.split(":")[0])}"` : "",
    o.stunServer ? `  stun_port = ${Number(o.stunServer.split(":")[1] ?? 3478)}` : "",
  ].filter(Boolean).join("\n");
  return {
    CONFIG_DIR: safe("configs_folder", configDir),
    LIB_DIR: safe("plugins_folder", o.libDir),
    DEBUG_LEVEL: String(o.debugLevel),
    API_SECRET: safe("api_secret", o.apiSecret),
    ADMIN_SECRET: safe("admin_secret", o.adminSecret),
    ICE_PORT_RANGE: `${low}-${split}`,
    STREAMING_PORT_RANGE: `${split + 1}-${high}`,
    NAT_SETTINGS: nat,
    WS_PORT: String(o.wsPort),
    HTTP_PORT: String(o.httpPort),
    ADMIN_PORT: String(o.httpPort + 1),
    EVENTS_ENABLED: o.events ? "true" : "false",
    EVENTS_BACKEND: safe("backend", o.events?.url ?? "http://127.0.0.1:9/"),
    EVENTS_USER: safe("backend_user", o.events?.user ?? "none"),
    EVENTS_SECRET: safe("backend_pwd", o.events?.secret ?? "none"),
  };
}

/** The files of a Janus configuration folder `configDir`, by name, from the templates. */
export function renderJanusConfig(
  o: JanusConfigOptions,
  configDir: string,
): Record<string, string> {
  const values = placeholders(o, configDir);
  const files: Record<string, string> = {};
  for (const name of JANUS_TEMPLATES) {
    const template = Deno.readTextFileSync(new URL(name, o.templateDir ?? TEMPLATE_DIR));
    files[name] = template.replace(/\{\{([A-Z_]+)\}\}/g, (_, key: string) => {
      const value = values[key];
      if (value === undefined) {
        throw new RangeError(`Janus template ${name} names an unknown {{${key}}}`);
      }
      return value;
    });
  }
  return files;
}
