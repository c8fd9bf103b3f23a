/// <reference lib="dom" />
/** A shared recording's player: hls.js on a signed playlist, no session needed. */
import { useEffect, useRef, useState } from "preact/hooks";
import { startHls } from "./dvr/hls_player.ts";

/** Props of {@linkcode SharedPlayer}. */
export interface SharedPlayerProps {
  /** The signed playlist (path and query on this server). */
  url: string;
}

/** Plays a signed playlist (see the module's doc). */
export default function SharedPlayer({ url }: SharedPlayerProps) {
  const video = useRef<HTMLVideoElement>(null);
  const [status, setStatus] = useState("Loading…");
  useEffect(() => {
    const player = startHls(video.current!, url, {
      seekMs: 0,
      onTime: () => {},
      onError: setStatus,
      onPlaying: () => setStatus("Playing"),
    });
    return () => player.destroy();
  }, [url]);
  return (
    <>
      <video ref={video} class="dvr-video" controls muted playsInline aria-label="Shared video" />
      <p role="status" aria-live="polite">{status}</p>
    </>
  );
}
