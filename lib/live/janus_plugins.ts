/**
 * The Janus plugin requests the live service makes: VideoRoom rooms where vehicles publish, RTP
 * forwards out of them, and Streaming mountpoints (one video stream, simulcast when fed by the
 * ladder) that viewers watch.
 */
import type { JanusHandle, Jsep, PluginReply } from "../janus/mod.ts";

/** H.264 constrained baseline, the codec of every live stream. */
export const H264_FMTP = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f";
/** Payload type of the RTP the publisher sends and Janus forwards. */
export const FORWARD_PT = 96;

/** Creates the VideoRoom room a camera publishes in (one publisher, H.264). */
export async function createRoom(handle: JanusHandle, room: string, adminKey: string) {
  await handle.call({
    request: "create",
    admin_key: adminKey,
    room,
    description: room,
    is_private: true,
    publishers: 1,
    videocodec: "h264",
    h264_profile: "42e01f",
    audiocodec: "opus",
    bitrate: 0,
    fir_freq: 2,
    notify_joining: false,
  });
}

/** Destroys a room (ignores one that is already gone). */
export async function destroyRoom(handle: JanusHandle, room: string, adminKey: string) {
  await handle.call({ request: "destroy", admin_key: adminKey, room }).catch(() => {});
}

/** Joins `room` as a publisher that does not publish yet; returns its publisher id. */
export async function joinAsPublisher(handle: JanusHandle, room: string): Promise<string> {
  const joined = await handle.send({ request: "join", ptype: "publisher", room, display: room });
  return String(joined.data.id);
}

/** Publishes `offer` from a handle that joined `room` as a publisher; returns Janus's answer. */
export async function publishOffer(handle: JanusHandle, room: string, offer: Jsep): Promise<Jsep> {
  const reply: PluginReply = await handle.send(
    { request: "publish", audio: false, video: true, data: false },
    offer,
  );
  if (!reply.jsep) throw new Error(`Janus gave no answer to the publisher of room "${room}"`);
  return reply.jsep;
}

/**
 * Forwards a publisher's video streams as plain RTP to 127.0.0.1: the stream of mid `mids[i]` to
 * `ports[i]`; returns the forwarder ids.
 */
export async function rtpForward(
  handle: JanusHandle,
  options: { room: string; publisherId: string; ports: number[]; mids: string[]; adminKey: string },
): Promise<number[]> {
  const data = await handle.call({
    request: "rtp_forward",
    admin_key: options.adminKey,
    room: options.room,
    publisher_id: options.publisherId,
    host: "127.0.0.1",
    host_family: "ipv4",
    streams: options.ports.map((port, i) => ({
      mid: options.mids[i],
      host: "127.0.0.1",
      port,
      pt: FORWARD_PT,
    })),
  });
  const streams = data.forwarders as Array<{ stream_id: number }> | undefined;
  return (streams ?? []).map((stream) => stream.stream_id);
}

/** Input ports of a mountpoint: one per simulcast layer, lowest first. */
export interface MountpointPorts {
  ports: number[];
}

/** Creates a mountpoint for one camera; `layers` 3 makes it simulcast. Janus picks the ports. */
export async function createMountpoint(
  handle: JanusHandle,
  options: { id: string; layers: 1 | 3; adminKey: string; pt?: number },
): Promise<MountpointPorts> {
  const media: Record<string, unknown> = {
    type: "video",
    mid: "v",
    label: "camera",
    port: 0,
    pt: options.pt ?? FORWARD_PT,
    codec: "h264",
    fmtp: H264_FMTP,
    bufferkf: true,
  };
  if (options.layers === 3) Object.assign(media, { simulcast: true, port2: 0, port3: 0 });
  const data = await handle.call({
    request: "create",
    admin_key: options.adminKey,
    type: "rtp",
    id: options.id,
    name: options.id,
    description: options.id,
    is_private: true,
    media: [media],
  });
  const stream = data.stream as { ports?: Array<Record<string, number>> } | undefined;
  const entry = stream?.ports?.[0] ?? {};
  const ports = [entry.port, entry.port_2, entry.port_3].filter((p): p is number => p > 0);
  if (ports.length !== options.layers) {
    throw new Error(`Janus did not report the ports of mountpoint "${options.id}"`);
  }
  return { ports };
}

/** Destroys a mountpoint (ignores one that is already gone). */
export async function destroyMountpoint(handle: JanusHandle, id: string, adminKey: string) {
  await handle.call({ request: "destroy", admin_key: adminKey, id }).catch(() => {});
}
