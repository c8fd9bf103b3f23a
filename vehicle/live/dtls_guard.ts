/**
 * A werift 0.25 DTLS client bug and the guard around it. When the client is slow to answer the
 * server's flight 4 (ServerHello … ServerHelloDone) — a starved CPU: over a second — Janus's
 * OpenSSL sends flight 4 again. werift handles each handshake record in its own asynchronous step,
 * so the Finished that ends the handshake can be handled before the copy's ServerHelloDone; that
 * ServerHelloDone then runs flight 5 again from the start: a new key pair, a new master secret
 * (werift's SRTP keys come from it, so Janus can no longer authenticate the media) and a new
 * handshake sent to a server that has finished. Janus hangs up the publisher on "DTLS alert" and
 * the server asks for it again (about 4 s lost).
 *
 * The guard drops flight-4 records that arrive once the client has sent its flight 5. Before the
 * handshake is over, a ServerHelloDone among them means the server did not get flight 5, so the
 * client's last flight is sent again at once (what werift does itself for the copy it would have
 * handled correctly); after it is over, they are stale and ignored.
 */
import { DtlsClient, type RTCDtlsTransport, type RTCPeerConnection } from "werift";

/** Handshake types of the server's flight 4: ServerHello, Certificate, ServerKeyExchange, CertificateRequest, ServerHelloDone. */
const FLIGHT_4 = new Set([2, 11, 12, 13, 14]);
const SERVER_HELLO_DONE = 14;
/** werift's flight number once the client has sent its flight 5. */
const FLIGHT_5 = 5;

/** What the guard did with a late copy of flight 4. */
export interface LateFlight {
  /** Handshake types dropped. */
  types: number[];
  /** True when the client's flight 5 was sent again (the handshake was not over). */
  resent: boolean;
}

const guarded = new WeakSet<object>();

/**
 * Guards a werift DTLS client (see the module's doc): flight-4 records that come after it sent
 * flight 5 are dropped, and `onLate` hears of each such copy. Idempotent.
 */
export function guardDtlsClient(client: DtlsClient, onLate?: (late: LateFlight) => void): void {
  if (guarded.has(client)) return;
  guarded.add(client);
  const handle = client.onHandleHandshakes;
  client.onHandleHandshakes = async (assembled) => {
    if (client.dtls.flight < FLIGHT_5) return await handle(assembled);
    const late = assembled.filter((handshake) => FLIGHT_4.has(handshake.msg_type));
    if (late.length === 0) return await handle(assembled);
    const resent = !client.connected && late.some((h) => h.msg_type === SERVER_HELLO_DONE);
    if (resent) {
      await Promise.all(client.dtls.lastMessage.map((buffer) => client.transport.send(buffer)));
    }
    onLate?.({ types: late.map((handshake) => handshake.msg_type), resent });
    const rest = assembled.filter((handshake) => !FLIGHT_4.has(handshake.msg_type));
    if (rest.length) await handle(rest);
  };
}

/** Guards the DTLS client of `transport` now and whenever werift makes a new one. */
function guardTransport(transport: RTCDtlsTransport, onLate?: (late: LateFlight) => void): void {
  if (guarded.has(transport)) return;
  guarded.add(transport);
  let socket = transport.dtls;
  const check = () => {
    if (socket instanceof DtlsClient) guardDtlsClient(socket, onLate);
  };
  check();
  // werift makes the client in RTCDtlsTransport.start(), once ICE connects.
  Object.defineProperty(transport, "dtls", {
    configurable: true,
    enumerable: true,
    get: () => socket,
    set: (value) => {
      socket = value;
      check();
    },
  });
}

/**
 * Guards every DTLS transport of `pc` (call it after each description is applied: werift may
 * make transports then) against werift's late-flight-4 bug.
 *
 * @example
 * await pc.setLocalDescription(await pc.createOffer());
 * guardDtlsRetransmissions(pc, (late) => log.info("late DTLS flight 4 dropped", late));
 */
export function guardDtlsRetransmissions(
  pc: RTCPeerConnection,
  onLate?: (late: LateFlight) => void,
): void {
  for (const transport of pc.dtlsTransports) guardTransport(transport, onLate);
}
