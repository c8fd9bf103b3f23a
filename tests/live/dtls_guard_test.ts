import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import {
  type CandidatePair,
  DtlsClient,
  MediaStreamTrack,
  RTCPeerConnection,
  useSdesMid,
  useTransportWideCC,
} from "werift";
import { JanusAdmin, JanusConnection } from "../../lib/janus/mod.ts";
import type { HandleEvent } from "../../lib/janus/client.ts";
import { createRoom, joinAsPublisher, publishOffer } from "../../lib/live/janus_plugins.ts";
import { guardDtlsRetransmissions, type LateFlight } from "../../vehicle/live/dtls_guard.ts";
import { liveH264Codec, preferActiveSetup } from "../../vehicle/live/publisher.ts";
import { LIVE_ADDRESS, startJanus } from "../support/live.ts";

/** Waits (bounded) until `predicate` holds; fails naming `what`. */
async function until(what: string, predicate: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * The server's flight 4 as the client received it (werift keeps it for the handshake's hashes),
 * framed again as epoch-0 DTLS records in one datagram: what Janus's retransmission brings.
 */
function flight4Datagram(client: DtlsClient): Buffer {
  const received = client.dtls.handshakeCache[4]?.data ?? [];
  assert.ok(received.length >= 4, "the client kept the server's flight 4");
  return Buffer.concat(received.map((handshake, i) => {
    const body = handshake.serialize();
    const header = Buffer.alloc(13);
    header.writeUInt8(22, 0); // handshake
    header.writeUInt16BE(0xfefd, 1); // DTLS 1.2
    header.writeUInt16BE(0, 3); // epoch 0
    header.writeUIntBE(1_000 + i, 5, 6); // record sequence number
    header.writeUInt16BE(body.length, 11);
    return Buffer.concat([header, body]);
  }));
}

/** Packets Janus received on the publisher's video, from its Admin API. */
async function packetsIn(admin: JanusAdmin, sessionId: number, handleId: number) {
  const info = await admin.handleInfo(sessionId, handleId);
  const media = (info.webrtc as { media?: Record<string, Record<string, unknown>> })?.media ?? {};
  const video = Object.values(media).find((m) => m.type === "video");
  const stats = (video?.stats ?? {}) as { in?: { packets?: number } };
  return Number(stats.in?.packets ?? 0);
}

Deno.test({
  name:
    "dtls guard keeps a werift publisher up when Janus's flight 4 comes again after the handshake",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using janus = await startJanus();
    const connection = await JanusConnection.connect(janus.wsUrl, janus.apiSecret);
    const pc = new RTCPeerConnection({
      iceServers: [],
      iceAdditionalHostAddresses: [LIVE_ADDRESS],
      iceFilterCandidatePair: (pair: CandidatePair) => pair.localCandidate.host === LIVE_ADDRESS,
      codecs: { video: [liveH264Codec()] },
      headerExtensions: { video: [useSdesMid(), useTransportWideCC()] },
    });
    try {
      const session = await connection.createSession();
      const control = await session.attach("janus.plugin.videoroom");
      await createRoom(control, "dtls-guard", janus.adminSecret);
      const handle = await session.attach("janus.plugin.videoroom");
      await joinAsPublisher(handle, "dtls-guard");
      const events: HandleEvent[] = [];
      handle.on((event) => events.push(event));

      const track = new MediaStreamTrack({ kind: "video" });
      pc.addTransceiver(track, { direction: "sendonly" });
      await pc.setLocalDescription(await pc.createOffer());
      const late: LateFlight[] = [];
      guardDtlsRetransmissions(pc, (flight) => late.push(flight));
      await until("ICE gathering", () => pc.iceGatheringState === "complete");
      const offer = preferActiveSetup(pc.localDescription!.sdp);
      const answer = await publishOffer(handle, "dtls-guard", { type: "offer", sdp: offer });
      await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
      guardDtlsRetransmissions(pc, (flight) => late.push(flight));
      await until("the connection", () => pc.connectionState === "connected");
      await until("Janus's webrtcup", () => events.some((e) => e.janus === "webrtcup"));

      // Janus's flight 4 again, as its retransmission timer sends it when the vehicle is slow.
      const client = pc.dtlsTransports[0].dtls;
      assert.ok(client instanceof DtlsClient, "the publisher is the DTLS client (setup:active)");
      client.transport.socket.onData!(flight4Datagram(client), [LIVE_ADDRESS, 0]);
      // werift hands each record on by itself: one report per message of the flight.
      const dropped = () => late.flatMap((flight) => flight.types).sort((a, b) => a - b);
      await until("the guard's reports", () => dropped().length >= 5, 5_000);
      assert.deepEqual(dropped(), [2, 11, 12, 13, 14]);
      assert.ok(late.every((flight) => !flight.resent), "the handshake was over: nothing resent");
      assert.equal(client.dtls.flight, 7, "the handshake stays finished (no second flight 5)");

      // Media still reaches Janus over the same connection, and Janus keeps the publisher.
      const admin = new JanusAdmin(janus.adminUrl, janus.adminSecret);
      const before = await packetsIn(admin, session.id, handle.id);
      let sequence = 0;
      const sender = setInterval(() => {
        const packet = Buffer.alloc(112);
        packet.writeUInt8(0x80, 0);
        packet.writeUInt8(96, 1);
        packet.writeUInt16BE(sequence++ & 0xffff, 2);
        packet.writeUInt32BE(sequence * 3_600, 4);
        packet.writeUInt32BE(0x1234, 8);
        packet.writeUInt8(0x41, 12); // a non-IDR slice
        track.writeRtp(packet);
      }, 20);
      try {
        let after = before;
        const deadline = Date.now() + 10_000;
        while (after < before + 20 && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 200));
          after = await packetsIn(admin, session.id, handle.id);
        }
        assert.ok(
          after >= before + 20,
          `Janus received media after the copy (${before} → ${after})`,
        );
      } finally {
        clearInterval(sender);
      }
      const hangup = events.find((e) => e.janus === "hangup");
      assert.equal(hangup, undefined, `Janus hung up: ${JSON.stringify(hangup?.raw)}`);
      assert.equal(pc.connectionState, "connected");
    } finally {
      await pc.close();
      connection.close();
    }
  },
});
