/**
 * ICE servers handed to vehicles and viewers: STUN, and TURN (coturn in deployments) with
 * short-lived credentials from the TURN REST API scheme — the username is `<expiry>:<subject>` and
 * the password the base64 HMAC-SHA1 of the username under the secret coturn shares
 * (`use-auth-secret` / `static-auth-secret`).
 */

/** An ICE server as `RTCPeerConnection` takes it. */
export interface IceServer {
  urls: string[];
  username?: string;
  credential?: string;
}

/** How to build ICE servers. */
export interface IceSettings {
  stunUrls: string[];
  turnUrls: string[];
  /** Shared secret of the TURN server; required with `turnUrls`. */
  turnSecret?: string;
  /** Lifetime of a TURN credential. */
  turnTtlMs: number;
}

/** The ICE servers for `subject` (a user or vehicle id), TURN credentials valid `turnTtlMs`. */
export async function iceServersFor(
  settings: IceSettings,
  subject: string,
  now = Date.now(),
): Promise<IceServer[]> {
  const servers: IceServer[] = [];
  if (settings.stunUrls.length) servers.push({ urls: settings.stunUrls });
  if (settings.turnUrls.length && settings.turnSecret) {
    const expiry = Math.floor((now + settings.turnTtlMs) / 1000);
    const username = `${expiry}:${subject}`;
    const key = await crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(settings.turnSecret),
      { name: "HMAC", hash: "SHA-1" },
      false,
      ["sign"],
    );
    const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(username));
    servers.push({
      urls: settings.turnUrls,
      username,
      credential: btoa(String.fromCharCode(...new Uint8Array(mac))),
    });
  }
  return servers;
}
