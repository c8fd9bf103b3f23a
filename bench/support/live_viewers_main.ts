/**
 * Load process of `bench/live_viewers.ts`: hosts many werift viewers, each with its own signaling
 * connection and watch, and counts what each receives (frames, RTP payload bytes, packets
 * expected from the sequence numbers and packets received, so loss shows). Commands (JSON lines):
 * `{type:"add", server, token, target, quality, count, prefix}` answers
 * `{type:"added", ok, failed, error?}` once every new viewer got a keyframe;
 * `{type:"stats"}` answers `{type:"stats", viewers: [{frames, bytes, expected, received}]}`.
 */
import { SignalingClient } from "../../tests/support/live.ts";
import { WebrtcViewer } from "../../tests/support/webrtc_viewer.ts";
import { commands, reply } from "./live_worker.ts";

/** One viewer and what it counted. */
interface Seat {
  client: SignalingClient;
  viewer: WebrtcViewer;
  base: number | null;
  highest: number;
  received: number;
}

const seats: Seat[] = [];

async function addViewer(command: Record<string, unknown>, id: string): Promise<void> {
  const client = await SignalingClient.connect(String(command.server), String(command.token));
  const seat: Seat = { client, viewer: new WebrtcViewer(), base: null, highest: 0, received: 0 };
  seats.push(seat);
  seat.viewer.pc.onTrack.subscribe((track) => {
    track.onReceiveRtp.subscribe((rtp) => {
      const seq = rtp.header.sequenceNumber;
      seat.received++;
      if (seat.base === null) {
        seat.base = seat.highest = seq;
        return;
      }
      const step = ((seq - (seat.highest & 0xffff) + 0x8000) & 0xffff) - 0x8000; // signed 16-bit
      if (step > 0) seat.highest += step;
    });
  });
  client.send({ type: "watch", id, quality: command.quality, ...(command.target as object) });
  const offer = await client.next((m) => (m.type === "offer" || m.type === "error") && m.id === id);
  if (offer.type === "error") throw new Error(String(offer.message));
  client.send({ type: "answer", id, sdp: await seat.viewer.answer(String(offer.sdp)) });
  await seat.viewer.waitFor((c) => c.keyframes > 0, 30_000);
}

for await (const command of commands()) {
  if (command.type === "add") {
    const count = Number(command.count);
    let ok = 0;
    let error: string | undefined;
    // A few at a time: werift's set-up (DTLS) is CPU-heavy and the others keep receiving.
    let next = 0;
    await Promise.all(Array.from({ length: Math.min(3, count) }, async () => {
      while (next < count) {
        const id = `${command.prefix}-${next++}`;
        try {
          await addViewer(command, id);
          ok++;
        } catch (e) {
          error ??= (e as Error).message;
        }
      }
    }));
    reply({ type: "added", ok, failed: count - ok, error });
  } else if (command.type === "stats") {
    reply({
      type: "stats",
      viewers: seats.map((s) => ({
        frames: s.viewer.counters.frames,
        bytes: s.viewer.counters.bytes,
        expected: s.base === null ? 0 : s.highest - s.base + 1,
        received: s.received,
      })),
    });
  }
}
await Promise.all(seats.map((s) => s.viewer.close().catch(() => {})));
for (const seat of seats) seat.client.close();
Deno.exit(0);
