/**
 * Live video: vehicles publish over WebRTC into Janus on demand, viewers watch through Janus
 * Streaming mountpoints with a layer picked per viewer (ABR), signaled over WebSocket or WHEP.
 */
export { type Live, startLive } from "./setup.ts";
export { LiveService, type WatchTarget } from "./live_service.ts";
export {
  type AccessGuard,
  type AccessHolder,
  LiveAccess,
  type LiveAccessSettings,
  LiveLimitError,
} from "./live_access.ts";
export { SignalingConnection, type SignalingDeps, type SignalingTransport } from "./signaling.ts";
export { type IceServer, iceServersFor, type IceSettings } from "./ice_servers.ts";
export {
  type Abr,
  AbrController,
  type AbrKind,
  type AbrTuning,
  AdaptiveAbr,
  type AdaptiveTuning,
  createAbr,
  DEFAULT_ABR_TUNING,
  DEFAULT_ADAPTIVE_TUNING,
  type LinkSample,
} from "./abr.ts";
export { bridgeWhep, sdpFragCandidates, viewerH264 } from "./whep_sdp.ts";
export {
  DEFAULT_RUNGS,
  deriveRungs,
  ladderRungs,
  type LadderSpec,
  parseLadder,
  parseRungs,
  type Rung,
  rungBitrate,
} from "./ladder.ts";
export { MAX_MESSAGE_BYTES, type Quality } from "./protocol.ts";
export type { ViewerSession } from "./viewer_session.ts";
export type { LiveSettings } from "./context.ts";
