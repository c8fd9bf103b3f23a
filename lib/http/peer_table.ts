/**
 * Client addresses by the loopback port of their relayed connection, in shared memory: the gate's
 * thread writes an entry before it relays a byte, the server's thread reads it for each request.
 */

const SLOT = 64; // Int32 generation, Uint16 port, Uint8 length, then the hostname (ASCII)
const MAX_HOSTNAME = SLOT - 8;

/** Who is behind each loopback port; safe to share between the gate worker and the server. */
export class PeerTable {
  /** The shared memory, to hand to the other thread. */
  readonly buffer: SharedArrayBuffer;
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #generations: Int32Array;
  #next = 1;

  constructor(buffer = new SharedArrayBuffer(65_536 * SLOT)) {
    this.buffer = buffer;
    this.#bytes = new Uint8Array(buffer);
    this.#view = new DataView(buffer);
    this.#generations = new Int32Array(buffer);
  }

  /** Records `peer` behind `localPort`; returns the entry's generation for {@linkcode delete}. */
  set(localPort: number, peer: Deno.NetAddr): number {
    const at = localPort * SLOT;
    Atomics.store(this.#generations, at / 4, 0);
    const name = peer.hostname.slice(0, MAX_HOSTNAME);
    this.#view.setUint16(at + 4, peer.port);
    this.#bytes[at + 6] = name.length;
    for (let i = 0; i < name.length; i++) this.#bytes[at + 8 + i] = name.charCodeAt(i);
    const generation = this.#next = (this.#next % 0x7fff_fffe) + 1;
    Atomics.store(this.#generations, at / 4, generation);
    return generation;
  }

  /** The client behind `localPort`, if the gate relays it. */
  get(localPort: number): Deno.NetAddr | undefined {
    const at = localPort * SLOT;
    if (Atomics.load(this.#generations, at / 4) === 0) return undefined;
    const length = this.#bytes[at + 6];
    const hostname = String.fromCharCode(...this.#bytes.subarray(at + 8, at + 8 + length));
    return { transport: "tcp", hostname, port: this.#view.getUint16(at + 4) };
  }

  /** Forgets `localPort`'s entry unless another connection has taken the port since. */
  delete(localPort: number, generation: number): void {
    Atomics.compareExchange(this.#generations, localPort * SLOT / 4, generation, 0);
  }
}
