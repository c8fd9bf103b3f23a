/**
 * Runs Janus as the platform's sidecar: writes its configuration folder, starts `janus`, waits
 * until its HTTP transport answers `GET /janus/info`, and starts it again (with a doubling delay)
 * whenever it dies. Listeners hear each (re)start, so the live service can re-create rooms and
 * mountpoints on the new instance.
 */
import type { Logger } from "../log/mod.ts";
import { readLines, stopProcess } from "../process/mod.ts";
import { type JanusConfigOptions, renderJanusConfig } from "./config_files.ts";

/** Options of {@linkcode JanusSupervisor}. */
export interface JanusSupervisorOptions extends JanusConfigOptions {
  /** Folder the configuration is written to (and Janus runs in). */
  dir: string;
  /** The `janus` executable. */
  executable: string;
  logger: Logger;
  /** Longest wait for readiness after a start. */
  readyTimeoutMs?: number;
}

const RESTART_BASE_MS = 250;
const RESTART_CAP_MS = 10_000;
const STDERR_TAIL = 30;

/** Supervises one Janus process. */
export class JanusSupervisor {
  #child: Deno.ChildProcess | null = null;
  #closed = false;
  #listeners = new Set<(generation: number) => void>();
  #generation = 0;
  #tail: string[] = [];
  #exited: Promise<void> = Promise.resolve();

  constructor(readonly options: JanusSupervisorOptions) {}

  /** The Janus API's WebSocket URL. */
  get wsUrl(): string {
    return `ws://127.0.0.1:${this.options.wsPort}`;
  }

  /** The Admin API's base URL. */
  get adminUrl(): string {
    return `http://127.0.0.1:${this.options.httpPort + 1}`;
  }

  /** The Janus process id, while it runs. */
  get pid(): number | null {
    return this.#child?.pid ?? null;
  }

  /** Calls `listener` after every start that became ready (1 for the first). */
  onReady(listener: (generation: number) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Writes the configuration and starts Janus; resolves once it answers. */
  async start(): Promise<void> {
    await Deno.mkdir(this.options.dir, { recursive: true });
    for (const [name, text] of Object.entries(renderJanusConfig(this.options, this.options.dir))) {
      await Deno.writeTextFile(`${this.options.dir}/${name}`, text, { mode: 0o600 });
    }
    await this.#spawn();
  }

  async #spawn(): Promise<void> {
    const { dir, executable, logger } = this.options;
    const command = new Deno.Command(executable, {
      args: ["-F", dir, "-C", `${dir}/janus.jcfg`, "-o", "-d", String(this.options.debugLevel)],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    });
    let child: Deno.ChildProcess;
    try {
      child = command.spawn();
    } catch (error) {
      throw new Error(
        `Cannot start Janus "${executable}": ${(error as Error).message} ` +
          "(install it with `apt-get install janus`, or set JANUS_URL to use an external one)",
      );
    }
    this.#child = child;
    this.#tail = [];
    this.#pump(child.stdout);
    this.#pump(child.stderr);
    this.#exited = child.status.then((status) => this.#onExit(child, status));
    await this.#waitReady(child);
    this.#generation += 1;
    logger.info("janus ready", { pid: child.pid, generation: this.#generation });
    for (const listener of this.#listeners) listener(this.#generation);
  }

  #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    return readLines(stream, (line) => {
      this.#tail.push(line.trimEnd());
      if (this.#tail.length > STDERR_TAIL) this.#tail.shift();
      this.options.logger.debug("janus", { line: line.trimEnd() });
    });
  }

  async #waitReady(child: Deno.ChildProcess): Promise<void> {
    const deadline = Date.now() + (this.options.readyTimeoutMs ?? 15_000);
    const url = `http://127.0.0.1:${this.options.httpPort}/janus/info`;
    while (Date.now() < deadline) {
      if (this.#child !== child) throw new Error("Janus exited while starting");
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
        await response.body?.cancel();
        if (response.ok) {
          // The WebSocket transport loads after HTTP; wait until it accepts connections too.
          const socket = await Deno.connect({ hostname: "127.0.0.1", port: this.options.wsPort });
          socket.close();
          return;
        }
      } catch {
        // not yet
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`Janus did not become ready: ${this.#tail.slice(-5).join(" | ")}`);
  }

  async #onExit(child: Deno.ChildProcess, status: Deno.CommandStatus): Promise<void> {
    if (this.#child === child) this.#child = null;
    if (this.#closed) return;
    this.options.logger.error("janus exited", {
      code: status.code,
      signal: status.signal,
      output: this.#tail.slice(-5),
    });
    let delay = RESTART_BASE_MS;
    while (!this.#closed) {
      await new Promise((resolve) => setTimeout(resolve, delay));
      if (this.#closed) return;
      try {
        await this.#spawn();
        return;
      } catch (error) {
        this.options.logger.error("janus restart failed", { error: (error as Error).message });
        this.#child?.kill("SIGKILL");
        delay = Math.min(delay * 2, RESTART_CAP_MS);
      }
    }
  }

  /** Stops Janus (SIGTERM, then SIGKILL after 5 s); idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    const child = this.#child;
    if (!child) return;
    await stopProcess(child, "SIGTERM", 5_000);
    await this.#exited;
  }
}
