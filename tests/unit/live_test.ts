import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import {
  AbrController,
  bridgeWhep,
  iceServersFor,
  parseRungs,
  sdpFragCandidates,
  viewerH264,
} from "../../lib/live/mod.ts";
import { ValidationError } from "../../lib/errors/mod.ts";
import { receivedBytes } from "../../lib/live/live_usage.ts";

const good = { loss: 0, jitterMs: 5 };
const bad = { loss: 0.2, jitterMs: 80 };

Deno.test("ABR steps down after two bad seconds and up after five good ones", () => {
  const abr = new AbrController([100, 300, 900], 1);
  assert.equal(abr.observe(bad), null);
  assert.deepEqual(abr.observe(bad)?.layer, 0);
  for (let i = 0; i < 4; i++) assert.equal(abr.observe(good), null, `sample ${i}`);
  assert.equal(abr.observe(good)?.layer, 1);
  for (let i = 0; i < 4; i++) abr.observe(good);
  assert.equal(abr.observe(good)?.layer, 2);
  assert.equal(abr.layer, 2);
});

Deno.test("ABR waits longer after a step up that failed (no flapping)", () => {
  const abr = new AbrController([100, 300, 900], 1);
  abr.observe(bad);
  abr.observe(bad); // down to 0
  let ups = 0;
  // A link that carries layer 0 only: every step up fails within two seconds.
  for (let second = 0; second < 120; second++) {
    const decision = abr.observe(abr.layer === 0 ? good : bad);
    if (decision && decision.layer === 1) ups++;
  }
  // Without the growing hold-off it would try every 7 s: 17 times.
  assert.ok(ups >= 2 && ups <= 8, `${ups} step-ups in 2 minutes`);
});

Deno.test("ABR never steps above what the viewer reports it can receive", () => {
  const abr = new AbrController([100_000, 300_000, 900_000], 0);
  for (let i = 0; i < 30; i++) abr.observe({ ...good, availableBitrate: 400_000 });
  assert.equal(abr.layer, 1);
});

Deno.test("ladder rungs parse, and a bad ladder is refused with the reason", () => {
  assert.deepEqual(parseRungs("480:600k,720:1.5m,1080:3000000"), [
    { height: 480, bitrate: 600_000 },
    { height: 720, bitrate: 1_500_000 },
    { height: 1080, bitrate: 3_000_000 },
  ]);
  assert.throws(() => parseRungs("480:600k,720:1m"), /3 rungs/);
  assert.throws(() => parseRungs("1080:3m,720:1m,480:500k"), /lowest to highest/);
  assert.throws(() => parseRungs("hd:1m,720:1m,1080:2m"), /Invalid ladder rung "hd:1m"/);
});

Deno.test("TURN credentials follow the TURN REST API scheme coturn checks", async () => {
  const now = Date.UTC(2026, 10, 24);
  const [stun, turn] = await iceServersFor(
    {
      stunUrls: ["stun:t.example:3478"],
      turnUrls: ["turn:t.example:3478"],
      turnSecret: "shared",
      turnTtlMs: 3_600_000,
    },
    "usr_1",
    now,
  );
  assert.deepEqual(stun, { urls: ["stun:t.example:3478"] });
  assert.equal(turn.username, `${now / 1000 + 3600}:usr_1`);
  const expected = createHmac("sha1", "shared").update(turn.username!).digest("base64");
  assert.equal(turn.credential, expected);
});

const CHROMIUM_OFFER = [
  "v=0",
  "o=- 1 2 IN IP4 127.0.0.1",
  "s=-",
  "t=0 0",
  "a=group:BUNDLE 0 1",
  "m=video 9 UDP/TLS/RTP/SAVPF 96 102 108 109",
  "c=IN IP4 0.0.0.0",
  "a=mid:0",
  "a=recvonly",
  "a=ice-ufrag:VIEW",
  "a=ice-pwd:viewerpassword0123456789",
  "a=fingerprint:sha-256 AA:BB",
  "a=setup:actpass",
  "a=rtpmap:96 VP8/90000",
  "a=rtpmap:102 H264/90000",
  "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f",
  "a=rtpmap:108 H264/90000",
  "a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
  "a=rtcp-fb:108 nack",
  "a=rtcp-fb:108 nack pli",
  "a=rtcp-fb:108 transport-cc",
  "a=rtpmap:109 rtx/90000",
  "a=candidate:1 1 udp 2122260223 127.0.0.2 50000 typ host",
  "m=audio 9 UDP/TLS/RTP/SAVPF 111",
  "a=mid:1",
  "a=recvonly",
  "a=rtpmap:111 opus/48000/2",
  "",
].join("\r\n");

const JANUS_OFFER = [
  "v=0",
  "o=- 5 1 IN IP4 127.0.0.1",
  "s=Mountpoint",
  "t=0 0",
  "a=group:BUNDLE v",
  "a=ice-options:trickle",
  "a=fingerprint:sha-256 CC:DD",
  "m=video 9 UDP/TLS/RTP/SAVPF 108",
  "c=IN IP4 127.0.0.2",
  "a=sendonly",
  "a=mid:v",
  "a=rtcp-mux",
  "a=ice-ufrag:JANU",
  "a=ice-pwd:januspassword0123456789",
  "a=setup:actpass",
  "a=rtpmap:108 H264/90000",
  "a=ssrc:1234 cname:janus",
  "a=candidate:1 1 udp 2015363327 127.0.0.2 30000 typ host",
  "",
].join("\r\n");

Deno.test("WHEP picks the viewer's H.264 (42e0 first) and refuses offers Motorcade cannot serve", () => {
  assert.deepEqual(viewerH264(CHROMIUM_OFFER), {
    pt: 108,
    fmtp: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
    feedback: ["nack", "nack pli"],
  });
  assert.throws(() => viewerH264(CHROMIUM_OFFER.replace(/H264/g, "VP9")), ValidationError);
  assert.throws(() => viewerH264(CHROMIUM_OFFER.replace("a=recvonly", "a=sendonly")), /recvonly/);
  assert.throws(() => viewerH264("v=0\r\nm=audio 9 RTP/AVP 0\r\n"), /no video/);
});

Deno.test("WHEP bridges two offers into an answer for each side with crossed credentials", () => {
  const { forJanus, forViewer } = bridgeWhep(
    CHROMIUM_OFFER,
    JANUS_OFFER,
    viewerH264(CHROMIUM_OFFER),
  );
  // Janus hears the viewer: its credentials, fingerprint and candidate, as the DTLS client.
  assert.match(forJanus, /a=mid:v\r\n/);
  assert.match(forJanus, /a=ice-ufrag:VIEW\r\n/);
  assert.match(forJanus, /a=fingerprint:sha-256 AA:BB\r\n/);
  assert.match(forJanus, /a=setup:active\r\n/);
  assert.match(forJanus, /m=video 9 UDP\/TLS\/RTP\/SAVPF 108\r\n/);
  assert.match(forJanus, /a=candidate:1 1 udp 2122260223 127\.0\.0\.2 50000 typ host/);
  // The viewer hears Janus, in its own mids and order; audio is declined.
  assert.match(forViewer, /a=group:BUNDLE 0\r\n/);
  assert.match(forViewer, /m=video 9 UDP\/TLS\/RTP\/SAVPF 108\r\n[\s\S]*a=mid:0\r\n/);
  assert.match(forViewer, /a=ice-ufrag:JANU\r\n/);
  assert.match(forViewer, /a=fingerprint:sha-256 CC:DD\r\n/);
  assert.match(forViewer, /a=setup:passive\r\n/);
  assert.match(forViewer, /a=sendonly\r\n/);
  assert.match(forViewer, /a=ssrc:1234 cname:janus/);
  assert.match(
    forViewer,
    /m=audio 0 UDP\/TLS\/RTP\/SAVPF 111\r\nc=IN IP4 0\.0\.0\.0\r\na=mid:1\r\na=inactive/,
  );
  assert.ok(!forViewer.includes("VP8") && !forViewer.includes("rtx"));
});

Deno.test("WHEP trickle fragments yield their candidates", () => {
  const fragment = "a=ice-ufrag:VIEW\r\na=mid:0\r\na=candidate:2 1 udp 1 10.0.0.1 4 typ host\r\n" +
    "a=end-of-candidates\r\n";
  assert.deepEqual(sdpFragCandidates(fragment), [
    { candidate: "candidate:2 1 udp 1 10.0.0.1 4 typ host", sdpMid: "0" },
  ]);
});

Deno.test("live usage sums the bytes a publisher handle received over its media", () => {
  // The shape of Janus 1.x's `handle_info` for a vehicle simulcasting three m-lines (abridged).
  const medium = (bytes: number) => ({
    type: "video",
    stats: {
      in: { packets: 100, bytes, bytes_lastsec: 8400, nacks: 0, retransmissions: 0 },
      out: { packets: 0, bytes: 0, bytes_lastsec: 0, nacks: 0 },
    },
  });
  const info = { webrtc: { media: { 0: medium(68993), 1: medium(154878), 2: medium(345234) } } };
  assert.equal(receivedBytes(info), 68993 + 154878 + 345234);
  // Before the PeerConnection has media there is nothing to count yet.
  assert.equal(receivedBytes({ plugin: "janus.plugin.videoroom" }), null);
});
