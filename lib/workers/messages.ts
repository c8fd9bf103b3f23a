/** What the server's thread and its ingest worker threads say to each other. */
import type { RelayLimits } from "../http/connection_relay.ts";

/** Connection limits of one listener (those of `lib/http/gate.ts`). */
export type ListenerLimits = RelayLimits & {
  maxConnections: number;
  maxConnectionsPerClient: number;
};

/** Why a relayed publish failed, enough to rebuild the error ingest maps to a status. */
export interface PublishFailure {
  message: string;
  /** A storage write failure's reason (the 507 of a full disk). */
  reason?: string;
  retryAfterSeconds?: number;
}

/** Server thread → worker. */
export type ToWorker =
  | {
    type: "start";
    index: number;
    /** The process's configuration variables; the worker takes `ROLES=ingest` from them. */
    env: Record<string, string>;
    hostname: string;
    port: number;
    tls?: { cert: string; key: string };
    limits: ListenerLimits;
    /** Where requests for other roles go: the server thread's forward listener. */
    forwardPort: number;
    /** Proves a forwarded request comes from a worker of this process. */
    secret: string;
  }
  | { type: "published"; id: number; failure?: PublishFailure }
  | { type: "broadcast"; channel: string; message: string }
  | { type: "stop" };

/** Worker → server thread. */
export type FromWorker =
  | { type: "listening"; addr: Deno.NetAddr }
  | { type: "failed"; error: string }
  | { type: "publish"; id: number; topic: string; key: string; value: unknown }
  | { type: "subscribe"; channel: string }
  | { type: "broadcast"; channel: string; message: string }
  | { type: "stopped" };

/** Header of a request a worker forwards: `<secret> <client address JSON>`. */
export const FORWARDED_PEER_HEADER = "motorcade-worker-peer";
