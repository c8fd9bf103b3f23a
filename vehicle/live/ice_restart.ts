/**
 * A werift 0.25 gap in ICE restarts: once DTLS is up, applying the new offer/answer does not run
 * connectivity checks again (`RTCPeerConnection.connect()` returns early because DTLS is still
 * connected), while the restart has already dropped the nominated pair — so media stops for good.
 * After each description is applied, the checks werift skipped are started here; DTLS then goes on
 * over the new pair without a new handshake.
 */
import type { RTCPeerConnection } from "werift";

/**
 * Starts the ICE checks werift skipped after an ICE restart: for every transport that has no
 * nominated pair and runs no checks while its DTLS is still connected. Returns how many it started (0 when werift ran
 * them itself); `onError` hears of checks that fail. Call it after `setRemoteDescription` of the
 * answer (offerer) or `setLocalDescription` of the answer (answerer).
 *
 * @example
 * await pc.setRemoteDescription({ type: "answer", sdp });
 * resumeIceAfterRestart(pc, (error) => log.warn("ICE restart failed", { error }));
 */
export function resumeIceAfterRestart(
  pc: RTCPeerConnection,
  onError: (error: unknown) => void = () => {},
): number {
  let started = 0;
  for (const dtls of pc.dtlsTransports) {
    const ice = dtls.iceTransport;
    // After a restart werift's ICE goes "new", then "completed" once gathering ends (its name for
    // it), with no nominated pair; "checking" means werift runs the checks itself.
    const skipped = ice.state === "new" || ice.state === "completed";
    if (!skipped || ice.connection.nominated || dtls.state !== "connected") continue;
    started++;
    ice.start().catch(onError);
  }
  return started;
}
