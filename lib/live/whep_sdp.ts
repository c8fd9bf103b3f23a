/**
 * WHEP with Janus 1.1's Streaming plugin: a WHEP viewer sends the offer, but the plugin only
 * makes offers. The server bridges the two — from the viewer's offer and the plugin's offer it
 * writes the answer Janus gets (the viewer's ICE credentials, fingerprint and candidates, as the
 * DTLS client) and the answer the viewer gets (Janus's, as the DTLS server). Media passes between
 * them untouched, so the payload type must be one both sides agree on: the mountpoint is chosen by
 * the payload type the viewer offers for H.264 (see `RtpRelay`).
 */
import { ValidationError } from "../errors/mod.ts";

/** An SDP split into its session part and its media sections. */
export interface ParsedSdp {
  session: string[];
  media: Array<{ mline: string; lines: string[] }>;
}

/** Splits an SDP into lines by section. */
export function parseSdp(sdp: string): ParsedSdp {
  const parsed: ParsedSdp = { session: [], media: [] };
  for (const line of sdp.split(/\r?\n/)) {
    if (!line) continue;
    if (line.startsWith("m=")) parsed.media.push({ mline: line, lines: [] });
    else if (parsed.media.length) parsed.media[parsed.media.length - 1].lines.push(line);
    else parsed.session.push(line);
  }
  return parsed;
}

/** The value of the first `a=<name>:` line in `lines`, or undefined. */
function attribute(lines: string[], name: string): string | undefined {
  const prefix = `a=${name}:`;
  return lines.find((l) => l.startsWith(prefix))?.slice(prefix.length);
}

/** Transport credentials of one side. */
interface Transport {
  ufrag: string;
  pwd: string;
  fingerprint: string;
  candidates: string[];
}

function transportOf(sdp: ParsedSdp, media: { lines: string[] }): Transport {
  const pick = (name: string) => attribute(media.lines, name) ?? attribute(sdp.session, name);
  const ufrag = pick("ice-ufrag");
  const pwd = pick("ice-pwd");
  const fingerprint = pick("fingerprint");
  if (!ufrag || !pwd || !fingerprint) {
    throw new ValidationError("Offer must have ice-ufrag, ice-pwd and fingerprint attributes");
  }
  return {
    ufrag,
    pwd,
    fingerprint,
    candidates: media.lines.filter((l) => l.startsWith("a=candidate:")),
  };
}

/** What the viewer offered for H.264 that Motorcade's streams can use. */
export interface ViewerCodec {
  pt: number;
  fmtp: string;
  feedback: string[];
}

/**
 * The viewer's H.264 payload type with packetization-mode 1 and a baseline-compatible profile,
 * from its first video section; throws a 400 when it offers none (or no video at all).
 */
export function viewerH264(offer: string): ViewerCodec {
  const sdp = parseSdp(offer);
  const video = sdp.media.find((m) => m.mline.startsWith("m=video"));
  if (!video) throw new ValidationError("Offer has no video section");
  if (video.lines.includes("a=sendonly") || video.lines.includes("a=inactive")) {
    throw new ValidationError("Offer's video section must be recvonly or sendrecv");
  }
  const candidates: ViewerCodec[] = [];
  for (const line of video.lines) {
    const match = /^a=rtpmap:(\d+) H264\/90000/i.exec(line);
    if (!match) continue;
    const pt = Number(match[1]);
    const fmtp = attribute(video.lines.filter((l) => l.startsWith(`a=fmtp:${pt} `)), "fmtp")
      ?.slice(String(pt).length + 1) ?? "";
    if (!/packetization-mode=1/.test(fmtp)) continue;
    const profile = /profile-level-id=([0-9a-f]{6})/i.exec(fmtp)?.[1].toLowerCase() ?? "42001f";
    if (!profile.startsWith("42")) continue;
    const feedback = video.lines.filter((l) => l.startsWith(`a=rtcp-fb:${pt} `))
      .map((l) => l.slice(`a=rtcp-fb:${pt} `.length))
      .filter((f) => /^(nack|nack pli|ccm fir|goog-remb)$/.test(f));
    candidates.push({ pt, fmtp, feedback });
  }
  const best = candidates.find((c) => /42e0/i.test(c.fmtp)) ?? candidates[0];
  if (!best) {
    throw new ValidationError(
      "Offer has no H.264 with packetization-mode=1 and a baseline profile: Motorcade streams " +
        "H.264 constrained baseline",
    );
  }
  return best;
}

/** The two answers of a WHEP negotiation. */
export interface WhepAnswers {
  /** For Janus: the viewer as the answerer and DTLS client. */
  forJanus: string;
  /** For the viewer: Janus as the answerer and DTLS server. */
  forViewer: string;
}

/** Builds both answers from the viewer's offer and Janus's offer (same payload type). */
export function bridgeWhep(
  viewerOffer: string,
  janusOffer: string,
  codec: ViewerCodec,
): WhepAnswers {
  const viewer = parseSdp(viewerOffer);
  const janus = parseSdp(janusOffer);
  const viewerVideo = viewer.media.find((m) => m.mline.startsWith("m=video"))!;
  const janusVideo = janus.media.find((m) => m.mline.startsWith("m=video"));
  if (!janusVideo) throw new Error("Janus offered no video");
  const janusMid = attribute(janusVideo.lines, "mid") ?? "v";
  const viewerMid = attribute(viewerVideo.lines, "mid") ?? "0";
  const viewerTransport = transportOf(viewer, viewerVideo);
  const janusTransport = transportOf(janus, janusVideo);
  const { pt, fmtp, feedback } = codec;
  const proto = viewerVideo.mline.split(" ")[2] ?? "UDP/TLS/RTP/SAVPF";
  const codecLines = [
    `a=rtpmap:${pt} H264/90000`,
    `a=fmtp:${pt} ${fmtp}`,
    ...feedback.map((f) => `a=rtcp-fb:${pt} ${f}`),
  ];

  const forJanus = [
    "v=0",
    `o=- ${Date.now()} 2 IN IP4 127.0.0.1`,
    "s=-",
    "t=0 0",
    `a=group:BUNDLE ${janusMid}`,
    `m=video 9 UDP/TLS/RTP/SAVPF ${pt}`,
    "c=IN IP4 0.0.0.0",
    "a=recvonly",
    `a=mid:${janusMid}`,
    "a=rtcp-mux",
    `a=ice-ufrag:${viewerTransport.ufrag}`,
    `a=ice-pwd:${viewerTransport.pwd}`,
    `a=fingerprint:${viewerTransport.fingerprint}`,
    "a=setup:active",
    ...codecLines,
    ...viewerTransport.candidates,
    "",
  ].join("\r\n");

  const ssrcLines = janusVideo.lines.filter((l) =>
    /^a=(ssrc:\d+ (cname|msid)|msid):?/.test(l) && !l.startsWith("a=ssrc-group")
  );
  const firstSsrc = /^a=ssrc:(\d+)/.exec(ssrcLines.find((l) => l.startsWith("a=ssrc:")) ?? "")
    ?.[1];
  const forViewerMedia: string[] = [];
  for (const section of viewer.media) {
    const mid = attribute(section.lines, "mid") ?? "";
    if (section === viewerVideo) {
      forViewerMedia.push(
        `m=video 9 ${proto} ${pt}`,
        "c=IN IP4 0.0.0.0",
        "a=sendonly",
        `a=mid:${viewerMid}`,
        "a=rtcp-mux",
        `a=ice-ufrag:${janusTransport.ufrag}`,
        `a=ice-pwd:${janusTransport.pwd}`,
        `a=fingerprint:${janusTransport.fingerprint}`,
        "a=setup:passive",
        ...codecLines,
        ...ssrcLines.filter((l) =>
          !firstSsrc || !l.startsWith("a=ssrc:") ||
          l.startsWith(`a=ssrc:${firstSsrc} `)
        ),
        ...janusTransport.candidates,
        "a=end-of-candidates",
      );
    } else {
      const [kind, , sectionProto, format] = section.mline.slice(2).split(" ");
      forViewerMedia.push(`m=${kind} 0 ${sectionProto} ${format ?? "0"}`, "c=IN IP4 0.0.0.0");
      if (mid) forViewerMedia.push(`a=mid:${mid}`);
      forViewerMedia.push("a=inactive");
    }
  }
  const forViewer = [
    "v=0",
    `o=- ${Date.now()} 2 IN IP4 127.0.0.1`,
    "s=-",
    "t=0 0",
    `a=group:BUNDLE ${viewerMid}`,
    ...forViewerMedia,
    "",
  ].join("\r\n");
  return { forJanus, forViewer };
}

/** Candidate lines of a trickle-ice-sdpfrag body (RFC 8840), with their mid. */
export function sdpFragCandidates(body: string): Array<{ candidate: string; sdpMid?: string }> {
  const result: Array<{ candidate: string; sdpMid?: string }> = [];
  let mid: string | undefined;
  for (const line of body.split(/\r?\n/)) {
    if (line.startsWith("a=mid:")) mid = line.slice(6);
    else if (line.startsWith("a=candidate:")) {
      result.push({ candidate: line.slice(2), sdpMid: mid });
    }
  }
  return result;
}
