/**
 * The receiving end of `bench/live_latency.ts`: a headless Chromium page that answers a WebRTC
 * offer (from Janus, or straight from the vehicle's publisher), plays the video, and for every
 * frame (`requestVideoFrameCallback`) draws it to a canvas, reads the time stamp blocks of
 * `live_clock_stamp.ts` and records, on the wall clock: when the frame was captured (the stamp),
 * when its last packet arrived (`receiveTime`) and when it is expected on the glass
 * (`expectedDisplayTime`). Same machine, same clock: `performance.timeOrigin` + page time.
 */
import type { Page } from "playwright-core";
import { GRID, gridGeometry } from "./live_clock_stamp.ts";

/** One decoded frame, wall-clock milliseconds. */
export interface FrameSample {
  captured: number;
  received: number | null;
  displayed: number;
}

/** What the page counted. */
export interface ReceiverReport {
  samples: FrameSample[];
  /** Frames whose blocks did not pass the check (misread). */
  misread: number;
  width: number;
  height: number;
}

interface PageOptions {
  offer: string;
  epoch: number;
  sourceWidth: number;
  columns: number;
  rows: number;
  origin: number;
  block: number;
}

/** Runs in the page (serialized by Playwright: self-contained, no outer names). */
async function receiverInPage(o: PageOptions): Promise<string> {
  const state = { samples: [] as FrameSample[], misread: 0, width: 0, height: 0 };
  (globalThis as unknown as { receiver: typeof state }).receiver = state;
  const pc = new RTCPeerConnection();
  const video = document.createElement("video");
  video.muted = true;
  video.autoplay = true;
  video.playsInline = true;
  document.body.append(video);
  pc.ontrack = (event) => {
    video.srcObject = event.streams[0] ?? new MediaStream([event.track]);
    video.play().catch(() => {});
  };
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true })!;
  const check = (v: number) =>
    (((v & 0xff) + ((v >> 8) & 0xff) * 3 + ((v >> 16) & 0xff) * 7) & 0xff) ^ 0x5a;
  const onFrame = (_now: number, meta: VideoFrameCallbackMetadata) => {
    const wall = performance.timeOrigin;
    if (canvas.width !== meta.width || canvas.height !== meta.height) {
      canvas.width = state.width = meta.width;
      canvas.height = state.height = meta.height;
    }
    context.drawImage(video, 0, 0, meta.width, meta.height);
    const scale = meta.width / o.sourceWidth;
    const size = Math.ceil((o.origin + o.block * o.columns) * scale);
    const pixels = context.getImageData(0, 0, size, size).data;
    let word = 0;
    for (let bit = 0; bit < o.columns * o.rows; bit++) {
      const cx = Math.round((o.origin + (bit % o.columns) * o.block + o.block / 2) * scale);
      const cy = Math.round(
        (o.origin + Math.floor(bit / o.columns) * o.block + o.block / 2) * scale,
      );
      let sum = 0;
      for (let dy = -2; dy <= 2; dy++) {
        for (let dx = -2; dx <= 2; dx++) sum += pixels[((cy + dy) * size + cx + dx) * 4 + 1];
      }
      word = (word * 2 + (sum / 25 > 128 ? 1 : 0)) >>> 0;
    }
    const value = word >>> 8;
    if (check(value) === (word & 0xff)) {
      const receive = (meta as { receiveTime?: number }).receiveTime;
      state.samples.push({
        captured: o.epoch + value,
        received: receive ? wall + receive : null,
        displayed: wall + meta.expectedDisplayTime,
      });
    } else state.misread++;
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
  await pc.setRemoteDescription({ type: "offer", sdp: o.offer });
  await pc.setLocalDescription(await pc.createAnswer());
  await new Promise<void>((resolve) => {
    if (pc.iceGatheringState === "complete") return resolve();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && resolve();
    setTimeout(resolve, 3_000);
  });
  return pc.localDescription!.sdp;
}

/** Starts the receiver in `page` for `offer`; returns the answer to send back. */
export async function startReceiver(
  page: Page,
  offer: string,
  source: { epoch: number; width: number; height: number },
): Promise<string> {
  const { origin, block } = gridGeometry(source.height);
  return await page.evaluate(receiverInPage, {
    offer,
    epoch: source.epoch,
    sourceWidth: source.width,
    columns: GRID.columns,
    rows: GRID.rows,
    origin,
    block,
  });
}

/** Takes what the page recorded so far (and clears its samples). */
export async function takeReport(page: Page): Promise<ReceiverReport> {
  return await page.evaluate(() => {
    const state = (globalThis as unknown as { receiver: ReceiverReport }).receiver;
    const report = { ...state, samples: state.samples.splice(0) };
    state.misread = 0;
    return report;
  });
}
