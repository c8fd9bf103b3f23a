/**
 * Server-side TLS over a TCP connection the gate accepted itself, so the gate can close it at any
 * time. A `Deno.listenTls` connection cannot be closed while its handshake is pending: on Deno
 * 2.9 `conn.close()` returns (a pending `handshake()` or `read()` rejects "operation canceled") but
 * the socket stays open until the client finishes the handshake — a client that never sends its
 * ClientHello held it for as long as it liked. Here `node:tls` runs the TLS session over the
 * `Deno.TcpConn`, and `close()` closes that TCP connection, handshake or not.
 */
import { Duplex } from "node:stream";
import { TLSSocket } from "node:tls";

/** What the gate and its relay use of a client connection (a `Deno.TcpConn` has it all). */
export type ClientConn = Pick<
  Deno.TcpConn,
  "read" | "write" | "closeWrite" | "close" | "remoteAddr" | "setNoDelay"
>;

/** Certificate and key (PEM) the gate serves TLS with. */
export interface TlsCertificate {
  cert: string;
  key: string;
}

const SMALL_READ = 4 * 1024;
const LARGE_READ = 64 * 1024;
/** Decrypted bytes held for a slow relay before reading from the client pauses. */
const HIGH_WATER = 256 * 1024;

/** A TLS server connection over an accepted TCP connection; reads and writes cleartext. */
export class TlsServerConn implements ClientConn {
  readonly #tcp: Deno.TcpConn;
  readonly #tls: TLSSocket;
  #chunks: Uint8Array[] = [];
  #queued = 0;
  #ended = false;
  #closed = false;
  #wake: (() => void) | undefined;
  readonly #writes = new Set<(error: Error) => void>();

  constructor(tcp: Deno.TcpConn, certificate: TlsCertificate) {
    this.#tcp = tcp;
    const raw = tcpDuplex(tcp);
    // A reset or our own close fails the TCP read: the TLS session ends with it, never the gate.
    raw.on("error", () => this.#end());
    this.#tls = new TLSSocket(raw, { isServer: true, ...certificate });
    this.#tls.on("data", (chunk: Uint8Array) => {
      this.#chunks.push(chunk);
      this.#queued += chunk.length;
      if (this.#queued > HIGH_WATER) this.#tls.pause();
      this.#wakeReader();
    });
    this.#tls.on("end", () => this.#end());
    this.#tls.on("close", () => this.#end());
    // A failed handshake or a broken connection: reads end, the relay closes.
    this.#tls.on("error", () => this.#end());
  }

  /** The client's address. */
  get remoteAddr(): Deno.NetAddr {
    return this.#tcp.remoteAddr;
  }

  /** Turns Nagle's algorithm off (or on) for the TCP connection. */
  setNoDelay(noDelay?: boolean): void {
    this.#tcp.setNoDelay(noDelay);
  }

  /** Reads decrypted bytes into `buffer`; null once the client has ended or the connection closed. */
  async read(buffer: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#ended || this.#closed) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    let n = 0;
    while (n < buffer.length && this.#chunks.length > 0) {
      const chunk = this.#chunks[0];
      const take = Math.min(chunk.length, buffer.length - n);
      buffer.set(chunk.subarray(0, take), n);
      n += take;
      if (take === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(take);
    }
    this.#queued -= n;
    if (this.#queued <= HIGH_WATER / 2 && this.#tls.isPaused()) this.#tls.resume();
    return n;
  }

  /** Encrypts and sends `bytes`; resolves once they went to the TCP connection. */
  write(bytes: Uint8Array): Promise<number> {
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("Connection closed"));
    return new Promise((resolve, reject) => {
      this.#writes.add(reject);
      this.#tls.write(bytes.slice(), (error?: Error | null) => {
        this.#writes.delete(reject);
        if (error) reject(error);
        else resolve(bytes.length);
      });
    });
  }

  /** Sends close_notify and ends the TCP connection's sending side. */
  closeWrite(): Promise<void> {
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("Connection closed"));
    this.#tls.end();
    return Promise.resolve();
  }

  /** Closes the TCP connection now, whether or not the handshake has finished (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#tls.destroy();
    try {
      this.#tcp.close();
    } catch { /* already closed */ }
    const error = new Deno.errors.BadResource("Connection closed");
    for (const reject of this.#writes) reject(error);
    this.#writes.clear();
    this.#wakeReader();
  }

  #end(): void {
    this.#ended = true;
    this.#wakeReader();
  }

  #wakeReader(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

/** The TCP connection as the byte stream `node:tls` encrypts over. */
function tcpDuplex(tcp: Deno.TcpConn): Duplex {
  let size = SMALL_READ;
  return new Duplex({
    read() {
      const buffer = new Uint8Array(size);
      tcp.read(buffer).then((n) => {
        if (n === null) return this.push(null);
        // Idle connections keep a small buffer; bulk transfers get a large one.
        size = n === buffer.length ? LARGE_READ : SMALL_READ;
        this.push(buffer.subarray(0, n));
      }, (error) => this.destroy(error));
    },
    write(chunk: Uint8Array, _encoding, done) {
      (async () => {
        for (let at = 0; at < chunk.length;) at += await tcp.write(chunk.subarray(at));
      })().then(() => done(), done);
    },
    final(done) {
      tcp.closeWrite().then(() => done(), done);
    },
    destroy(error, done) {
      try {
        tcp.close();
      } catch { /* already closed */ }
      done(error);
    },
  });
}
