/**
 * What the server asks of the vehicle: the upload policy of each camera and the recalls to
 * fulfil, in one version-stamped document. It arrives in the heartbeat's answer and through a long
 * poll (`GET /api/v1/device/instructions?known=<version>&wait=<s>`), is kept in the state folder
 * (`instructions.json`) and applied at start before the server is reachable.
 */
import type { Logger } from "../lib/log/mod.ts";
import { fullJitter, sleep } from "./backoff.ts";
import type { Rendition } from "./queue_entry.ts";
import { readJson, writeSynced } from "./spool_files.ts";
import type { TokenSource } from "./uploader.ts";

/** How a camera's video reaches the server. */
export type PolicyMode = "continuous" | "proxy" | "on-request";

/** The low-bitrate rendition uploaded under the `proxy` policy. */
export interface ProxySettings {
  height: number;
  bitrateKbps: number;
}

/** A camera's upload policy. */
export interface UploadPolicy {
  mode: PolicyMode;
  proxy: ProxySettings;
}

/** A range of a camera's full quality the server wants uploaded. */
export interface RecallOrder {
  id: string;
  camera: string;
  from: string;
  to: string;
  fromMs: number;
  toMs: number;
}

/** The server's instructions to this vehicle. */
export interface Instructions {
  /** Opaque; changes whenever anything else does. Empty before the server sent any. */
  version: string;
  /** The fleet's segment length; null leaves the agent's own. */
  segmentSeconds: number | null;
  cameras: Array<{ camera: string } & UploadPolicy>;
  defaultPolicy: UploadPolicy;
  /** Authoritative: the vehicle works on exactly these. */
  recalls: RecallOrder[];
}

/** The proxy rendition's settings when none are given. */
export const DEFAULT_PROXY: ProxySettings = { height: 320, bitrateKbps: 150 };

/** What the agent does before it ever heard from the server: today's behaviour. */
export const NO_INSTRUCTIONS: Instructions = {
  version: "",
  segmentSeconds: null,
  cameras: [],
  defaultPolicy: { mode: "continuous", proxy: DEFAULT_PROXY },
  recalls: [],
};

const MODES: readonly PolicyMode[] = ["continuous", "proxy", "on-request"];

/** Reads an instructions document; throws a TypeError naming what is wrong. */
export function parseInstructions(value: unknown): Instructions {
  const fail = (where: string, what: string): never => {
    throw new TypeError(`Cannot accept instructions: "${where}" ${what}`);
  };
  const object = (v: unknown, where: string): Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v)
      ? v as Record<string, unknown>
      : fail(where, "must be an object");
  const list = (v: unknown, where: string): unknown[] =>
    Array.isArray(v) ? v : fail(where, "must be an array");
  const text = (v: unknown, where: string, max = 200): string =>
    typeof v === "string" && v.length > 0 && v.length <= max
      ? v
      : fail(where, `must be a non-empty string of at most ${max} characters`);
  const policy = (v: unknown, where: string): UploadPolicy => {
    const p = object(v, where);
    if (!MODES.includes(p.mode as PolicyMode)) fail(`${where}.mode`, `must be ${MODES.join(", ")}`);
    const proxy = p.proxy === undefined ? {} : object(p.proxy, `${where}.proxy`);
    const height = proxy.height ?? DEFAULT_PROXY.height;
    const bitrateKbps = proxy.bitrateKbps ?? DEFAULT_PROXY.bitrateKbps;
    if (!Number.isInteger(height) || (height as number) < 16 || (height as number) > 4320) {
      fail(`${where}.proxy.height`, "must be a whole number of pixels from 16 to 4320");
    }
    if (!Number.isFinite(bitrateKbps) || (bitrateKbps as number) <= 0) {
      fail(`${where}.proxy.bitrateKbps`, "must be a positive number");
    }
    return {
      mode: p.mode as PolicyMode,
      proxy: { height: height as number, bitrateKbps: bitrateKbps as number },
    };
  };
  const time = (v: unknown, where: string): number => {
    const ms = typeof v === "string" ? Date.parse(v) : NaN;
    return Number.isFinite(ms) ? ms : fail(where, "must be an RFC 3339 time");
  };

  const doc = object(value, "instructions");
  const version = text(doc.version, "version");
  const seconds = doc.segmentSeconds ?? null;
  if (seconds !== null && !(typeof seconds === "number" && seconds >= 0.5 && seconds <= 30)) {
    fail("segmentSeconds", "must be null or a number of seconds from 0.5 to 30");
  }
  const cameras = list(doc.cameras ?? [], "cameras").map((c, i) => {
    const camera = text(object(c, `cameras[${i}]`).camera, `cameras[${i}].camera`, 32);
    return { camera, ...policy(c, `cameras[${i}]`) };
  });
  const recalls = list(doc.recalls ?? [], "recalls").map((r, i) => {
    const where = `recalls[${i}]`;
    const o = object(r, where);
    const order = {
      id: text(o.id, `${where}.id`),
      camera: text(o.camera, `${where}.camera`, 32),
      from: text(o.from, `${where}.from`),
      to: text(o.to, `${where}.to`),
      fromMs: time(o.from, `${where}.from`),
      toMs: time(o.to, `${where}.to`),
    };
    if (order.toMs <= order.fromMs) fail(`${where}.to`, "must be after its from");
    return order;
  });
  return {
    version,
    segmentSeconds: seconds as number | null,
    cameras,
    defaultPolicy: doc.defaultPolicy === undefined
      ? NO_INSTRUCTIONS.defaultPolicy
      : policy(doc.defaultPolicy, "defaultPolicy"),
    recalls,
  };
}

/** A camera's policy under `instructions`. */
export function policyOf(instructions: Instructions, camera: string): UploadPolicy {
  const { mode, proxy } = instructions.cameras.find((c) => c.camera === camera) ??
    instructions.defaultPolicy;
  return { mode, proxy };
}

/** The renditions a camera records under `policy`. */
export function renditionsOf(policy: UploadPolicy): Rendition[] {
  return policy.mode === "proxy" ? ["full", "proxy"] : ["full"];
}

/** Whether `policy` uploads a rendition as it is recorded (else the ring keeps it). */
export function uploadsContinuously(policy: UploadPolicy, rendition: Rendition): boolean {
  if (policy.mode === "continuous") return true;
  return policy.mode === "proxy" && rendition === "proxy";
}

/** The document as the server sent it (without the parsed times), to keep on disk. */
function wire(instructions: Instructions): unknown {
  return {
    ...instructions,
    recalls: instructions.recalls.map(({ id, camera, from, to }) => ({ id, camera, from, to })),
  };
}

/** Options of {@linkcode InstructionsClient}. */
export interface InstructionsClientOptions {
  serverUrl: string;
  tokens: TokenSource;
  /** Where `instructions.json` is kept. */
  stateDir: string;
  logger: Logger;
  /** Called (one at a time) with each new document the server sends. */
  apply: (instructions: Instructions) => Promise<void> | void;
  /** Longest a poll is held by the server (≤ 30 s). */
  waitSeconds?: number;
  fetch?: typeof fetch;
  /** Pause after the server said it has no instructions route (an older server). */
  unsupportedPauseMs?: number;
  /** Called once when the server turns out to have no instructions (an older server). */
  unsupported?: () => Promise<void> | void;
}

/** Keeps the vehicle's instructions current: long poll, heartbeat answers, saved copy. */
export class InstructionsClient {
  readonly #stop = new AbortController();
  #current: Instructions = NO_INSTRUCTIONS;
  #applying: Promise<void> = Promise.resolve();
  #loop: Promise<void> | undefined;
  #failures = 0;

  constructor(private readonly options: InstructionsClientOptions) {}

  /** The document in force. */
  get current(): Instructions {
    return this.#current;
  }

  /** Whether the server ever sent instructions (this run or an earlier one). */
  get known(): boolean {
    return this.#current.version !== "";
  }

  get #path(): string {
    return `${this.options.stateDir}/instructions.json`;
  }

  /**
   * Loads the saved document, if any (a damaged one is ignored and said so), as `current`; the
   * caller applies it once it is ready to.
   */
  async open(): Promise<void> {
    const saved = await readJson<unknown>(this.#path);
    if (saved === undefined) return;
    try {
      this.#current = parseInstructions(saved);
    } catch (error) {
      this.options.logger.warn("saved instructions ignored", { error: (error as Error).message });
    }
  }

  /**
   * Takes a document from the server (the heartbeat's answer or the long poll): saved and applied
   * if its version is new. False if it was not new; throws a TypeError if it is not valid.
   */
  accept(value: unknown): Promise<boolean> {
    const next = parseInstructions(value);
    const result = this.#applying.then(async () => {
      if (next.version === this.#current.version) return false;
      await writeSynced(`${this.#path}.tmp`, JSON.stringify(wire(next)));
      await Deno.rename(`${this.#path}.tmp`, this.#path);
      const previous = this.#current.version;
      this.#current = next;
      this.options.logger.info("instructions received", {
        version: next.version,
        previous: previous || null,
        recalls: next.recalls.length,
      });
      await this.options.apply(next);
      return true;
    });
    this.#applying = result.then(() => {}, () => {});
    return result;
  }

  /** Starts the long poll. */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** Stops the long poll; safe to call twice. */
  async close(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
    await this.#applying;
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      const pauseMs = await this.#poll();
      if (pauseMs > 0) await sleep(pauseMs, signal);
    }
  }

  /** One long poll; returns how long to pause before the next. */
  async #poll(): Promise<number> {
    const wait = Math.min(30, this.options.waitSeconds ?? 30);
    const known = this.known ? `known=${encodeURIComponent(this.#current.version)}&` : "";
    const url = `${this.options.serverUrl}/api/v1/device/instructions?${known}wait=${wait}`;
    try {
      const token = await this.options.tokens.token();
      const response = await (this.options.fetch ?? fetch)(url, {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.any([this.#stop.signal, AbortSignal.timeout((wait + 15) * 1000)]),
      });
      if (response.status === 304) {
        await response.body?.cancel();
        this.#failures = 0;
        return 0;
      }
      const text = await response.text();
      if (response.status === 200) {
        await this.accept(JSON.parse(text));
        this.#failures = 0;
        return 0;
      }
      if (response.status === 401) this.options.tokens.invalidate();
      if (response.status === 404 || response.status === 405) {
        // A server without the long poll: the heartbeat's answer is the only way.
        if (this.#failures++ === 0) {
          this.options.logger.info("server has no instructions long poll; heartbeats only");
          await this.options.unsupported?.();
        }
        return this.options.unsupportedPauseMs ?? 60_000;
      }
      throw new Error(`${response.status}: ${text.slice(0, 300)}`);
    } catch (error) {
      if (this.#stop.signal.aborted) return 0;
      const level = this.#failures++ === 0 ? "warn" : "debug";
      this.options.logger[level]("instructions poll failed", { error: (error as Error).message });
      return 250 + fullJitter(this.#failures, { baseMs: 1_000, capMs: 30_000 });
    }
  }
}
