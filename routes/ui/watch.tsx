/**
 * `GET /admin/watch?hls=…`: a shared recording, played without signing in. `hls` is a signed
 * playlist URL the links API made (`POST …/cameras/{cameraId}/links`); its signature, not a
 * session, grants access, so this page only accepts a signed playback URL of this server.
 */
import SharedPlayer from "../../islands/SharedPlayer.tsx";
import { Island } from "../../lib/ui/mod.ts";
import { definePage } from "./page.tsx";
import { PageTitle } from "./layout.tsx";
import { patterns } from "./paths.ts";

const PLAYLIST = /^\/api\/v1\/fleets\/[^/]+\/vehicles\/[^/]+\/cameras\/[^/]+\/index\.m3u8$/;

/** The shared-link player: public, plays one signed playlist. */
export const watchPage = definePage({
  pattern: patterns.watch,
  access: { kind: "public" },
  load({ query, deps }) {
    const hls = query.get("hls") ?? "";
    let url: URL | undefined;
    try {
      url = new URL(hls, deps.config.publicUrl);
    } catch { /* refused below */ }
    const ours = url && url.origin === new URL(deps.config.publicUrl).origin &&
      PLAYLIST.test(url.pathname) && url.searchParams.has("sig");
    const from = url?.searchParams.get("from");
    const to = url?.searchParams.get("to");
    const title = "Shared recording";
    return {
      title,
      bare: true,
      status: ours ? 200 : 400,
      body: (
        <main class="page watch-page" id="main">
          <PageTitle title={title} />
          {ours
            ? (
              <>
                {from && (
                  <p class="muted">
                    {from}
                    {to ? ` – ${to}` : ""} (UTC)
                  </p>
                )}
                <Island
                  name="SharedPlayer"
                  component={SharedPlayer}
                  props={{ url: url!.pathname + url!.search }}
                />
              </>
            )
            : (
              <p class="problem" role="alert">
                Cannot play this link: "hls" must be a signed playlist link of this server.
              </p>
            )}
        </main>
      ),
    };
  },
});
