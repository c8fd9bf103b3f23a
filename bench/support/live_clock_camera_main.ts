/**
 * The camera of `bench/live_latency.ts`: an HTTP server whose every GET of `/camera.y4m` is a
 * live Y4M stream (raw yuv420p at 25 fps, testsrc2 pictures so the encoder has real work) with
 * the capture time painted into each frame as 32 black/white blocks — 24 bits of milliseconds
 * since `epoch` and an 8-bit check (see {@linkcode stampBits}) — in an 8x4 grid at the top left.
 * A camera source `http://…/camera.y4m` makes the vehicle's live encoder read it. Argument:
 * `WxH`. Prints `{url, epoch}`; exits when stdin ends.
 */
import { reply } from "./live_worker.ts";
import { GRID, gridGeometry, stampBits } from "./live_clock_stamp.ts";

const [WIDTH, HEIGHT] = (Deno.args[0] ?? "1280x720").split("x").map(Number);
const FPS = 25;
const FRAME_BYTES = (WIDTH * HEIGHT * 3) / 2;
const LOOP_FRAMES = 50;

const epoch = Date.now();
const template = await new Deno.Command("ffmpeg", {
  args: [
    ...["-hide_banner", "-loglevel", "error", "-f", "lavfi"],
    ...["-i", `testsrc2=size=${WIDTH}x${HEIGHT}:rate=${FPS}`, "-frames:v", String(LOOP_FRAMES)],
    ...["-f", "rawvideo", "-pix_fmt", "yuv420p", "-"],
  ],
  stdout: "piped",
}).output();
const header = new TextEncoder().encode(
  `YUV4MPEG2 W${WIDTH} H${HEIGHT} F${FPS}:1 Ip A1:1 C420jpeg\n`,
);
const frameTag = new TextEncoder().encode("FRAME\n");
const { origin, block } = gridGeometry(HEIGHT);

/** Frame `n` of the loop with `ms` painted in, preceded by its Y4M frame tag. */
function frame(n: number, ms: number): Uint8Array {
  const out = new Uint8Array(frameTag.length + FRAME_BYTES);
  out.set(frameTag);
  const at = frameTag.length;
  out.set(
    template.stdout.subarray((n % LOOP_FRAMES) * FRAME_BYTES, (n % LOOP_FRAMES + 1) * FRAME_BYTES),
    at,
  );
  const bits = stampBits(ms);
  const chroma = at + WIDTH * HEIGHT;
  for (let bit = 0; bit < GRID.columns * GRID.rows; bit++) {
    const x0 = origin + (bit % GRID.columns) * block;
    const y0 = origin + Math.floor(bit / GRID.columns) * block;
    const luma = bits[bit] ? 235 : 16;
    for (let y = y0; y < y0 + block; y++) {
      out.fill(luma, at + y * WIDTH + x0, at + y * WIDTH + x0 + block);
    }
    for (let y = y0 >> 1; y < (y0 + block) >> 1; y++) { // neutral chroma: pure black and white
      out.fill(
        128,
        chroma + y * (WIDTH >> 1) + (x0 >> 1),
        chroma + y * (WIDTH >> 1) + ((x0 + block) >> 1),
      );
      const v = chroma + (WIDTH * HEIGHT) / 4;
      out.fill(128, v + y * (WIDTH >> 1) + (x0 >> 1), v + y * (WIDTH >> 1) + ((x0 + block) >> 1));
    }
  }
  return out;
}

/** A live stream: one frame every 1/25 s on the wall clock, stamped when it is handed over. */
function liveStream(): ReadableStream<Uint8Array> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return new ReadableStream({
    start(controller) {
      controller.enqueue(header);
      const started = performance.now();
      let n = 0;
      const tick = () => {
        try {
          controller.enqueue(frame(n, Date.now() - epoch));
        } catch {
          return; // the reader went away (an encoder restarted): this stream is over
        }
        n++;
        timer = setTimeout(tick, Math.max(0, started + (n * 1000) / FPS - performance.now()));
      };
      tick();
    },
    cancel() {
      clearTimeout(timer);
    },
  });
}

const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
  if (new URL(request.url).pathname !== "/camera.y4m") return new Response(null, { status: 404 });
  return new Response(liveStream(), { headers: { "content-type": "video/x-yuv4mpeg" } });
});
reply({ url: `http://127.0.0.1:${server.addr.port}/camera.y4m`, epoch });
for await (const _ of Deno.stdin.readable) { /* the parent holds stdin open while it needs us */ }
Deno.exit(0);
