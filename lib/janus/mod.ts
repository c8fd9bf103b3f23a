/**
 * The Janus sidecar: its configuration, the supervisor that runs it, and clients of its API
 * (WebSocket) and Admin API (HTTP). Only the server talks to Janus.
 */
export { JANUS_TEMPLATES, type JanusConfigOptions, renderJanusConfig } from "./config_files.ts";
export { JanusSupervisor, type JanusSupervisorOptions } from "./supervisor.ts";
export {
  type HandleEvent,
  type IceCandidate,
  JanusConnection,
  JanusHandle,
  JanusSession,
  type Jsep,
  type PluginReply,
} from "./client.ts";
export { JanusAdmin, type OutboundVideoStats, outboundVideoStats } from "./admin.ts";
export {
  JANUS_EVENTS_MAX_BODY,
  JANUS_EVENTS_USER,
  type JanusEventBackend,
  JanusEventSink,
  type JanusEventSinkOptions,
  type JanusMediaStats,
  parseMediaStats,
} from "./events.ts";
export { JanusDisconnectedError, JanusError } from "./errors.ts";
