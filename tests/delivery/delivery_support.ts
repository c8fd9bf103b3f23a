/** What the delivery tests share: reading a camera's playlist as an app does, and playing it. */
import { signingHour } from "../../lib/delivery/mod.ts";
import type { VehicleOnServer } from "../support/fleet_api.ts";

/** The URL of the HLS playlist of `range` on the vehicle's "front" camera (a viewer's token reads it). */
export function playlistUrl(
  serverUrl: string,
  vehicle: VehicleOnServer,
  range: { from: Date; to: Date },
): string {
  return `${serverUrl}/api/v1/fleets/${vehicle.fleetId}/vehicles/${vehicle.vehicleId}` +
    `/cameras/${vehicle.cameras.front}/index.m3u8?from=${range.from.toISOString()}` +
    `&to=${range.to.toISOString()}`;
}

/** A playlist read twice within one signing hour, with the ETags of both answers. */
export interface PlaylistReads {
  text: string;
  again: string;
  etags: [string | null, string | null];
}

/**
 * The HLS playlist of `range` on the "front" camera, read with the owner's token as an app would,
 * once it lists `count` segments (the indexer is asynchronous), then read again within the same
 * hour (a pair that straddles an hour is read again).
 */
export async function directPlaylist(
  serverUrl: string,
  vehicle: VehicleOnServer,
  range: { from: Date; to: Date },
  count: number,
): Promise<PlaylistReads> {
  const url = playlistUrl(serverUrl, vehicle, range);
  const read = async () => {
    const response = await fetch(url, {
      headers: { authorization: `Bearer ${vehicle.ownerToken}` },
    });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`GET ${url}: ${response.status} ${text}`);
    return { text, etag: response.headers.get("etag") };
  };
  for (let attempt = 0; attempt < 100; attempt++) {
    const { text } = await read();
    if ((text.match(/#EXTINF/g) ?? []).length === count) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  for (let attempt = 0;; attempt++) {
    const startedAt = Date.now();
    const first = await read();
    const second = await read();
    if (signingHour(startedAt) === signingHour(Date.now()) || attempt === 2) {
      return { text: first.text, again: second.text, etags: [first.etag, second.etag] };
    }
  }
}

/** The URIs a playlist lists: EXT-X-MAP's and every segment's, in order. */
export function uris(playlist: string): string[] {
  return playlist.split("\n").flatMap((line) => {
    if (line.startsWith("#EXT-X-MAP:")) return [/URI="([^"]+)"/.exec(line)![1]];
    return line && !line.startsWith("#") ? [line] : [];
  });
}

/** Seconds of media ffmpeg copies out of `playlist` (a local file, absolute URLs inside). */
export async function playedSeconds(playlist: string): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "motorcade-delivery-" });
  try {
    await Deno.writeTextFile(`${dir}/index.m3u8`, playlist);
    const copy = await new Deno.Command("ffmpeg", {
      args: [
        ...["-v", "error", "-y", "-protocol_whitelist", "file,http,https,tcp,tls"],
        ...["-i", `${dir}/index.m3u8`, "-c", "copy", `${dir}/out.mp4`],
      ],
      stderr: "piped",
    }).output();
    if (!copy.success) throw new Error(new TextDecoder().decode(copy.stderr));
    const probe = await new Deno.Command("ffprobe", {
      args: ["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", `${dir}/out.mp4`],
      stdout: "piped",
    }).output();
    return Number(new TextDecoder().decode(probe.stdout));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Requests the server's media route has answered so far (its Prometheus counter). */
export async function mediaRequests(serverUrl: string): Promise<number> {
  const text = await (await fetch(`${serverUrl}/metrics`)).text();
  let total = 0;
  for (const line of text.split("\n")) {
    const match = /^motorcade_http_requests_total\{[^}]*route="\/media[^"]*"[^}]*\} (\d+)/.exec(
      line,
    );
    if (match) total += Number(match[1]);
  }
  return total;
}
