/**
 * A client of the Janus API over its WebSocket transport: one connection, requests matched to
 * replies by transaction, sessions kept alive, events routed to the handle they belong to. When the
 * connection drops (Janus died or restarted) every pending request fails with
 * {@linkcode JanusDisconnectedError} and `onClose` fires: sessions, handles, rooms and mountpoints
 * are gone with it, and the owner re-creates what it needs on a new connection.
 */
import { JanusDisconnectedError, JanusError } from "./errors.ts";

/** An ICE candidate as signaled (the browser's `RTCIceCandidateInit`). */
export interface IceCandidate {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
}

/** A JSEP description as Janus exchanges it. */
export interface Jsep {
  type: "offer" | "answer";
  sdp: string;
}

/** An asynchronous event Janus sent to a handle. */
export interface HandleEvent {
  /** `event` (plugin event), `webrtcup`, `hangup`, `media`, `slowlink`, `detached`, `trickle`. */
  janus: string;
  data?: Record<string, unknown>;
  jsep?: Jsep;
  raw: Record<string, unknown>;
}

/** A plugin's reply: its data and, for negotiations, a JSEP. */
export interface PluginReply {
  data: Record<string, unknown>;
  jsep?: Jsep;
}

interface Pending {
  resolve: (message: Record<string, unknown>) => void;
  reject: (error: Error) => void;
  /** `message` requests get an `ack` first; the reply is the `event` that follows. */
  waitForEvent: boolean;
  timer: ReturnType<typeof setTimeout>;
}

const REQUEST_TIMEOUT_MS = 10_000;
const KEEPALIVE_MS = 25_000;

/** One WebSocket connection to the Janus API. */
export class JanusConnection {
  #socket: WebSocket;
  #pending = new Map<string, Pending>();
  #handles = new Map<number, JanusHandle>();
  #sessions = new Set<JanusSession>();
  #closed = false;
  #closeListeners: Array<() => void> = [];

  private constructor(socket: WebSocket, readonly apiSecret: string) {
    this.#socket = socket;
    socket.onmessage = (event) => this.#receive(String(event.data));
    socket.onclose = () => this.#shutdown();
    socket.onerror = () => {};
  }

  /** Opens a connection to `url` (e.g. `ws://127.0.0.1:8188`). */
  static connect(url: string, apiSecret: string, timeoutMs = 5_000): Promise<JanusConnection> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, "janus-protocol");
      const timer = setTimeout(() => {
        socket.close();
        reject(new JanusDisconnectedError(`Cannot reach Janus at "${url}": timed out`));
      }, timeoutMs);
      socket.onopen = () => {
        clearTimeout(timer);
        resolve(new JanusConnection(socket, apiSecret));
      };
      socket.onerror = () => {
        clearTimeout(timer);
        reject(new JanusDisconnectedError(`Cannot reach Janus at "${url}"`));
      };
    });
  }

  /** True once the connection is gone. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Calls `listener` once when the connection closes. */
  onClose(listener: () => void): void {
    if (this.#closed) queueMicrotask(listener);
    else this.#closeListeners.push(listener);
  }

  /** Creates a session, kept alive until destroyed or the connection closes. */
  async createSession(): Promise<JanusSession> {
    const reply = await this.request({ janus: "create" });
    const id = (reply.data as { id: number }).id;
    const session = new JanusSession(this, id);
    this.#sessions.add(session);
    return session;
  }

  /** Sends a request and resolves with Janus's reply (the `event` for plugin messages). */
  request(body: Record<string, unknown>, waitForEvent = false): Promise<Record<string, unknown>> {
    if (this.#closed) return Promise.reject(new JanusDisconnectedError());
    const transaction = crypto.randomUUID();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(transaction);
        reject(new JanusError(0, `Janus did not answer "${String(body.janus)}" in time`));
      }, REQUEST_TIMEOUT_MS);
      this.#pending.set(transaction, { resolve, reject, waitForEvent, timer });
      this.#socket.send(JSON.stringify({ ...body, transaction, apisecret: this.apiSecret }));
    });
  }

  /** @internal */
  registerHandle(handle: JanusHandle): void {
    this.#handles.set(handle.id, handle);
  }

  /** @internal */
  forgetHandle(id: number): void {
    this.#handles.delete(id);
  }

  /** @internal */
  forgetSession(session: JanusSession): void {
    this.#sessions.delete(session);
  }

  /** Closes the connection; Janus destroys its sessions when their keepalives stop. */
  close(): void {
    if (this.#closed) return;
    try {
      this.#socket.close();
    } catch {
      // already closing
    }
    this.#shutdown();
  }

  #receive(text: string): void {
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    const kind = message.janus as string;
    const transaction = message.transaction as string | undefined;
    const pending = transaction ? this.#pending.get(transaction) : undefined;
    if (pending) {
      if (kind === "ack" && pending.waitForEvent) return;
      if (kind === "ack" || kind === "success" || kind === "event" || kind === "error") {
        this.#pending.delete(transaction!);
        clearTimeout(pending.timer);
        const error = replyError(message);
        if (error) pending.reject(error);
        else pending.resolve(message);
        return;
      }
    }
    const sender = message.sender as number | undefined;
    if (sender !== undefined) {
      const plugindata = message.plugindata as { data?: Record<string, unknown> } | undefined;
      this.#handles.get(sender)?.dispatch({
        janus: kind,
        data: plugindata?.data,
        jsep: message.jsep as Jsep | undefined,
        raw: message,
      });
    }
  }

  #shutdown(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(new JanusDisconnectedError());
    }
    this.#pending.clear();
    for (const session of this.#sessions) session.stopKeepalive();
    this.#sessions.clear();
    for (const handle of this.#handles.values()) {
      handle.dispatch({ janus: "detached", raw: {} });
    }
    this.#handles.clear();
    for (const listener of this.#closeListeners.splice(0)) listener();
  }
}

/** The error in a Janus reply, if it is one. */
function replyError(message: Record<string, unknown>): JanusError | null {
  if (message.janus === "error") {
    const error = message.error as { code: number; reason: string };
    return new JanusError(error.code, error.reason);
  }
  const data = (message.plugindata as { data?: Record<string, unknown> } | undefined)?.data;
  if (data && (data.error_code !== undefined || data.error !== undefined)) {
    return new JanusError(Number(data.error_code ?? 0), String(data.error ?? "Plugin error"));
  }
  return null;
}

/** A Janus session: a container of plugin handles, kept alive every 25 s. */
export class JanusSession {
  #keepalive: ReturnType<typeof setInterval>;
  #destroyed = false;

  constructor(readonly connection: JanusConnection, readonly id: number) {
    this.#keepalive = setInterval(() => {
      this.connection.request({ janus: "keepalive", session_id: id }).catch(() => {});
    }, KEEPALIVE_MS);
  }

  /** Attaches a handle to `plugin`, e.g. `janus.plugin.streaming`. */
  async attach(plugin: string): Promise<JanusHandle> {
    const reply = await this.connection.request({ janus: "attach", session_id: this.id, plugin });
    const handle = new JanusHandle(this, (reply.data as { id: number }).id);
    this.connection.registerHandle(handle);
    return handle;
  }

  /** @internal */
  stopKeepalive(): void {
    clearInterval(this.#keepalive);
  }

  /** Destroys the session and its handles. */
  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.stopKeepalive();
    this.connection.forgetSession(this);
    if (this.connection.closed) return;
    await this.connection.request({ janus: "destroy", session_id: this.id }).catch(() => {});
  }
}

/** A handle on a plugin: messages, trickle candidates, and the events Janus sends it. */
export class JanusHandle {
  #listeners = new Set<(event: HandleEvent) => void>();
  #detached = false;

  constructor(readonly session: JanusSession, readonly id: number) {}

  /** True once Janus (or the connection) dropped the handle. */
  get detached(): boolean {
    return this.#detached;
  }

  /** Subscribes to the handle's events; returns the unsubscribe function. */
  on(listener: (event: HandleEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** A synchronous plugin request (e.g. `create`, `rtp_forward`): resolves with its data. */
  async call(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const reply = await this.session.connection.request({
      janus: "message",
      session_id: this.session.id,
      handle_id: this.id,
      body,
    });
    return ((reply.plugindata as { data?: Record<string, unknown> } | undefined)?.data) ?? {};
  }

  /** An asynchronous plugin request (e.g. `watch`, `publish`): resolves with the event it causes. */
  async send(body: Record<string, unknown>, jsep?: Jsep): Promise<PluginReply> {
    const reply = await this.session.connection.request({
      janus: "message",
      session_id: this.session.id,
      handle_id: this.id,
      body,
      ...(jsep ? { jsep } : {}),
    }, true);
    return {
      data: ((reply.plugindata as { data?: Record<string, unknown> } | undefined)?.data) ?? {},
      jsep: reply.jsep as Jsep | undefined,
    };
  }

  /** Hands Janus a remote ICE candidate (null: end of candidates). */
  async trickle(candidate: IceCandidate | null): Promise<void> {
    await this.session.connection.request({
      janus: "trickle",
      session_id: this.session.id,
      handle_id: this.id,
      candidate: candidate ?? { completed: true },
    });
  }

  /** Detaches the handle (hanging up its PeerConnection). */
  async detach(): Promise<void> {
    if (this.#detached) return;
    this.#detached = true;
    this.session.connection.forgetHandle(this.id);
    if (this.session.connection.closed) return;
    await this.session.connection.request({
      janus: "detach",
      session_id: this.session.id,
      handle_id: this.id,
    }).catch(() => {});
  }

  /** @internal */
  dispatch(event: HandleEvent): void {
    if (event.janus === "detached") this.#detached = true;
    for (const listener of this.#listeners) listener(event);
  }
}
