/**
 * Fans a camera's RTP out to every mountpoint that shows it. Janus Streaming stamps each
 * mountpoint's packets with one payload type, and a WHEP viewer decides the payload type in its
 * own offer; so a camera has one mountpoint per payload type its viewers asked for, all fed from
 * the same packets: the ladder (or the VideoRoom forward) sends each layer to one relay socket, and
 * the relay copies it to that layer's port of every mountpoint. Loopback only; a few hundred
 * packets a second per layer.
 */
import dgram from "node:dgram";

/** Receives the layers of one camera and copies them to its mountpoints. */
export class RtpRelay {
  #sockets: dgram.Socket[] = [];
  #targets = new Map<string, number[]>();
  #packets = 0;

  private constructor() {}

  /** Opens one socket per layer on 127.0.0.1 (ports picked by the system). */
  static async open(layers: number): Promise<RtpRelay> {
    const relay = new RtpRelay();
    for (let layer = 0; layer < layers; layer++) {
      const socket = dgram.createSocket("udp4");
      await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", () => resolve()));
      socket.on("message", (packet) => relay.#forward(layer, packet));
      socket.on("error", () => {});
      relay.#sockets.push(socket);
    }
    return relay;
  }

  /** The ports the relay receives each layer on, lowest layer first. */
  get ports(): number[] {
    return this.#sockets.map((socket) => (socket.address() as { port: number }).port);
  }

  /** Packets received so far (all layers). */
  get packets(): number {
    return this.#packets;
  }

  /** Adds (or replaces) a mountpoint's input ports, one per layer, under `key`. */
  setTarget(key: string, ports: number[]): void {
    if (ports.length !== this.#sockets.length) {
      throw new RangeError(`Target "${key}" needs ${this.#sockets.length} ports`);
    }
    this.#targets.set(key, ports);
  }

  /** Stops copying to `key`. */
  removeTarget(key: string): void {
    this.#targets.delete(key);
  }

  #forward(layer: number, packet: Uint8Array): void {
    this.#packets += 1;
    const socket = this.#sockets[layer];
    for (const ports of this.#targets.values()) socket.send(packet, ports[layer], "127.0.0.1");
  }

  /** Closes the sockets; idempotent. */
  close(): void {
    for (const socket of this.#sockets.splice(0)) {
      try {
        socket.close();
      } catch {
        // closed
      }
    }
    this.#targets.clear();
  }
}
