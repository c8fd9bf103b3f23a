import assert from "node:assert/strict";
import { RTCPeerConnection, type RtpPacket } from "werift";
import { silentLogger } from "../../lib/log/mod.ts";
import type { CameraConfig } from "../../vehicle/config.ts";
import {
  liveH264Codec,
  LivePublisher,
  preferActiveSetup,
  type PublisherState,
} from "../../vehicle/live/publisher.ts";
import { PreRoll, startsKeyframe } from "../../vehicle/live/pre_roll.ts";
import { liveFfmpegArgs, RTP_PACKET_SIZE } from "../../vehicle/live/rtp_source.ts";

const LOOPBACK = "127.0.0.1";
const camera: CameraConfig = {
  name: "front",
  source: { kind: "testsrc" },
  video: { width: 320, height: 240, fps: 10, bitrate: 300_000 },
};

/** NAL unit types an H.264 RTP payload starts (RFC 6184: single NAL, STAP-A, FU-A start). */
function nalTypes(payload: Uint8Array): number[] {
  const type = payload[0] & 0x1f;
  if (type === 28) return payload[1] & 0x80 ? [payload[1] & 0x1f] : [];
  if (type !== 24) return [type];
  const types: number[] = [];
  for (let at = 1; at + 2 < payload.length; at += 2 + ((payload[at] << 8) | payload[at + 1])) {
    types.push(payload[at + 2] & 0x1f);
  }
  return types;
}

/** What the receiving side counted. */
interface Received {
  packets: number;
  frames: number;
  idr: number;
  payloadTypes: Set<number>;
  largest: number;
  /** Largest step between consecutive sequence numbers (1 when none is missing). */
  largestSeqStep: number;
  /** Largest step between consecutive RTP timestamps, in 1/90,000 s. */
  largestTimestampStep: number;
  firstAt: number | null;
}

/** A werift receiver on loopback that answers offers and counts the H.264 RTP it gets. */
function startReceiver() {
  const pc = new RTCPeerConnection({
    iceServers: [],
    iceAdditionalHostAddresses: [LOOPBACK],
    iceFilterCandidatePair: (pair) =>
      pair.localCandidate.host === LOOPBACK && pair.remoteCandidate.host === LOOPBACK,
    codecs: { video: [liveH264Codec()] },
  });
  const received: Received = {
    packets: 0,
    frames: 0,
    idr: 0,
    payloadTypes: new Set(),
    largest: 0,
    largestSeqStep: 0,
    largestTimestampStep: 0,
    firstAt: null,
  };
  let last: { seq: number; timestamp: number } | undefined;
  pc.onTrack.subscribe((track) => {
    track.onReceiveRtp.subscribe((rtp: RtpPacket) => {
      received.firstAt ??= performance.now();
      received.packets++;
      received.payloadTypes.add(rtp.header.payloadType);
      received.largest = Math.max(received.largest, rtp.payload.length);
      if (rtp.header.marker) received.frames++;
      const { sequenceNumber: seq, timestamp } = rtp.header;
      if (last) {
        const steps = [(seq - last.seq) & 0xffff, (timestamp - last.timestamp) >>> 0];
        received.largestSeqStep = Math.max(received.largestSeqStep, steps[0]);
        received.largestTimestampStep = Math.max(received.largestTimestampStep, steps[1]);
      }
      last = { seq, timestamp };
      if (nalTypes(rtp.payload).includes(5)) received.idr++;
    });
  });
  const answer = async (offer: string): Promise<string> => {
    await pc.setRemoteDescription({ type: "offer", sdp: offer });
    await pc.setLocalDescription(await pc.createAnswer());
    while (pc.iceGatheringState !== "complete") {
      await new Promise<void>((resolve) => {
        const sub = pc.iceGatheringStateChange.subscribe(() => {
          sub.unSubscribe();
          resolve();
        });
      });
    }
    return pc.localDescription!.sdp;
  };
  return { pc, received, answer };
}

/** Resolves once `predicate` holds; rejects with `what` after a generous `timeoutMs`. */
async function until(predicate: () => boolean, what: () => string, timeoutMs = 15_000) {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`Timed out waiting: ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** True when `pid` is (still) an ffmpeg process. */
async function isFfmpeg(pid: number): Promise<boolean> {
  try {
    return (await Deno.readTextFile(`/proc/${pid}/cmdline`)).includes("ffmpeg");
  } catch {
    return false;
  }
}

Deno.test("preferActiveSetup makes the offerer the DTLS client and leaves the rest alone", () => {
  const offer = [
    "v=0",
    "a=group:BUNDLE 0 1",
    "m=video 9 UDP/TLS/RTP/SAVPF 96",
    "a=setup:actpass",
    "a=rtpmap:96 H264/90000",
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
    "a=setup:actpass",
    "",
  ];
  const crlf = preferActiveSetup(offer.join("\r\n"));
  assert.equal(crlf.match(/a=setup:active\r\n/g)?.length, 2);
  assert.ok(!crlf.includes("actpass"));
  assert.equal(crlf.replaceAll("a=setup:active", "a=setup:actpass"), offer.join("\r\n"));
  assert.equal(preferActiveSetup("a=setup:actpass\n"), "a=setup:active\n");
  assert.equal(preferActiveSetup("a=setup:passive\r\n"), "a=setup:passive\r\n");
  assert.equal(preferActiveSetup("a=x-note:a=setup:actpass\r\n"), "a=x-note:a=setup:actpass\r\n");
});

Deno.test("live ffmpeg command encodes low-latency constrained baseline RTP to the port", () => {
  const args = liveFfmpegArgs(camera, {
    port: 40_000,
    font: "/f.ttf",
    gopSeconds: 2,
    payloadType: 102,
  });
  const value = (flag: string) => args[args.indexOf(flag) + 1];
  assert.equal(value("-tune"), "zerolatency");
  assert.equal(value("-profile:v"), "baseline");
  assert.equal(value("-level:v"), "3.1");
  assert.equal(value("-bf"), "0");
  assert.equal(value("-g"), "20");
  assert.equal(value("-b:v"), "300000");
  assert.equal(value("-payload_type"), "102");
  assert.equal(value("-pkt_size"), String(RTP_PACKET_SIZE));
  assert.match(value("-vf"), /^drawtext=.*gmtime/);
  assert.equal(args.at(-1), "rtp://127.0.0.1:40000?rtcpport=40000&pkt_size=1200");
});

Deno.test(
  "live publisher sends H.264 to a WebRTC receiver, through an ICE restart and an encoder crash",
  async () => {
    const states: PublisherState[] = [];
    const startedAt = performance.now();
    const publisher = await LivePublisher.start({
      camera,
      logger: silentLogger,
      additionalHostAddresses: [LOOPBACK],
      onStateChange: (state) => states.push(state),
    });
    const receiver = startReceiver();
    const encoderPids = [publisher.encoderPid];
    try {
      assert.ok(encoderPids[0] && await isFfmpeg(encoderPids[0]), "ffmpeg runs after start()");
      const offer = await publisher.createOffer();
      assert.match(offer, /^a=setup:active\r?$/m);
      assert.doesNotMatch(offer, /actpass/);
      assert.match(offer, /^a=sendonly\r?$/m);
      assert.match(offer, /^a=rtpmap:96 H264\/90000\r?$/m);
      assert.match(offer, /profile-level-id=42e01f/);
      assert.match(offer, new RegExp(`^a=candidate:.* ${LOOPBACK.replaceAll(".", "\\.")} `, "m"));

      await publisher.setAnswer(await receiver.answer(offer));
      const seen = receiver.received;
      const show = () => JSON.stringify({ ...seen, payloadTypes: [...seen.payloadTypes], states });
      await until(() => seen.frames >= 20 && seen.idr >= 1, show);
      assert.equal(publisher.state, "connected");
      assert.deepEqual([...seen.payloadTypes], [96]);
      assert.ok(seen.largest <= RTP_PACKET_SIZE - 12, `payloads fit ${RTP_PACKET_SIZE}: ${show()}`);
      console.log(
        `first RTP at the receiver ${Math.round(seen.firstAt! - startedAt)} ms after start()`,
      );

      // A picture loss report reaches the publisher (which relies on the 1 s GOP to answer it).
      const [transceiver] = receiver.pc.getTransceivers();
      await transceiver.receiver.sendRtcpPLI(transceiver.receiver.track!.ssrc!);
      await until(() => publisher.keyframeRequests >= 1, show);

      // Recovery: an ICE restart renegotiates, and media keeps flowing (with new keyframes).
      const before = { frames: seen.frames, idr: seen.idr };
      const restart = await publisher.restartIce();
      assert.notEqual(
        restart.match(/a=ice-ufrag:(\S+)/)?.[1],
        offer.match(/a=ice-ufrag:(\S+)/)?.[1],
      );
      await publisher.setAnswer(await receiver.answer(restart));
      await until(() => seen.frames >= before.frames + 20 && seen.idr > before.idr, show);

      // An encoder crash: a new ffmpeg (new SSRC, sequence, timestamps) takes over after ~1 s,
      // and the receiver sees one continuous stream.
      const crashed = publisher.encoderPid!;
      const atCrash = seen.frames;
      seen.largestSeqStep = seen.largestTimestampStep = 0;
      Deno.kill(crashed, "SIGKILL");
      await until(() => seen.frames >= atCrash + 20 && publisher.encoderPid !== undefined, show);
      assert.notEqual(publisher.encoderPid, crashed);
      encoderPids.push(publisher.encoderPid);
      assert.equal(seen.largestSeqStep, 1, `no sequence jump across the new encoder: ${show()}`);
      assert.ok(seen.largestTimestampStep < 30 * 90_000, `timestamps go on forward: ${show()}`);
    } finally {
      await publisher.close();
      await receiver.pc.close();
    }
    await publisher.close();
    assert.equal(publisher.state, "closed");
    assert.equal(publisher.encoderPid, undefined);
    assert.equal(encoderPids.length, 2);
    for (const pid of encoderPids) {
      assert.equal(await isFfmpeg(pid!), false, `ffmpeg ${pid} is gone after close()`);
    }
    await assert.rejects(publisher.createOffer(), /publisher is closed/);
  },
);

/** An H.264 RTP packet: version 2, payload type 96, `timestamp`, one byte of NAL header. */
function rtp(timestamp: number, nal: number[], seq = 0): Uint8Array {
  const packet = new Uint8Array(12 + nal.length);
  packet[0] = 0x80;
  packet[1] = 96;
  const view = new DataView(packet.buffer);
  view.setUint16(2, seq);
  view.setUint32(4, timestamp);
  packet.set(nal, 12);
  return packet;
}

Deno.test("pre-roll keeps the GOP from its keyframe and packs its timestamps before the newest", () => {
  assert.equal(startsKeyframe(rtp(0, [0x67])), true, "SPS");
  assert.equal(startsKeyframe(rtp(0, [0x65])), true, "IDR");
  assert.equal(startsKeyframe(rtp(0, [0x78, 0x00, 0x04, 0x67])), true, "STAP-A starting with SPS");
  assert.equal(startsKeyframe(rtp(0, [0x7c, 0x85])), true, "FU-A start of an IDR");
  assert.equal(startsKeyframe(rtp(0, [0x7c, 0x05])), false, "FU-A middle of an IDR");
  assert.equal(startsKeyframe(rtp(0, [0x41])), false, "P slice");

  const preRoll = new PreRoll();
  preRoll.push(rtp(100, [0x41])); // before any keyframe: dropped
  preRoll.push(rtp(1_000, [0x67]));
  preRoll.push(rtp(1_000, [0x41])); // a P frame of the old GOP
  preRoll.push(rtp(4_000, [0x67])); // the next keyframe: SPS, PPS, IDR share a timestamp
  preRoll.push(rtp(4_000, [0x68]));
  preRoll.push(rtp(4_000, [0x65]));
  preRoll.push(rtp(7_600, [0x41]));
  preRoll.push(rtp(11_200, [0x41]));
  assert.equal(preRoll.size, 5);
  const taken = preRoll.take();
  const view = (p: Uint8Array) => new DataView(p.buffer, p.byteOffset);
  assert.deepEqual(taken.map((p) => p[12]), [0x67, 0x68, 0x65, 0x41, 0x41]);
  assert.deepEqual(taken.map((p) => view(p).getUint32(4)), [
    11_200 - 180,
    11_200 - 180,
    11_200 - 180,
    11_200 - 90,
    11_200,
  ]);
  assert.equal(preRoll.size, 0);
  // Timestamps wrap around 2^32.
  preRoll.push(rtp(30, [0x65]));
  preRoll.push(rtp(60, [0x41]));
  assert.deepEqual(preRoll.take().map((p) => view(p).getUint32(4)), [(60 - 90) >>> 0, 60]);
});

Deno.test(
  "live publisher sends its pre-roll from a keyframe when it connects, with no second encoder",
  async () => {
    // A 4 s GOP: without the pre-roll the first picture would wait for the next keyframe.
    const publisher = await LivePublisher.start({
      camera,
      logger: silentLogger,
      additionalHostAddresses: [LOOPBACK],
      gopSeconds: 4,
    });
    const receiver = startReceiver();
    const encoder = publisher.encoderPid;
    const firstNals: number[][] = [];
    receiver.pc.onTrack.subscribe((track) => {
      track.onReceiveRtp.subscribe((packet: RtpPacket) => {
        if (firstNals.length < 1) firstNals.push(nalTypes(packet.payload));
      });
    });
    try {
      const offer = await publisher.createOffer();
      // Let the encoder run into its GOP before the connection comes up.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await publisher.setAnswer(await receiver.answer(offer));
      const seen = receiver.received;
      await until(() => seen.frames >= 5, () => JSON.stringify({ ...seen, payloadTypes: 0 }));
      assert.ok(
        firstNals[0].some((t) => t === 7 || t === 5),
        `the first packet starts a keyframe: NAL types ${firstNals[0]}`,
      );
      assert.ok(seen.idr >= 1, "an IDR arrived");
      assert.equal(publisher.encoderPid, encoder, "the first encoder still runs");
    } finally {
      await publisher.close();
      await receiver.pc.close();
    }
  },
);
