import assert from "node:assert/strict";
import { JanusAdmin, JanusConnection } from "../../lib/janus/mod.ts";
import { createMountpoint } from "../../lib/live/janus_plugins.ts";
import { Ladder } from "../../lib/live/ladder.ts";
import { silentLogger } from "../../lib/log/mod.ts";
import { startJanus } from "../support/live.ts";
import { WebrtcViewer } from "../support/webrtc_viewer.ts";

const RUNGS = [
  { height: 120, bitrate: 150_000 },
  { height: 180, bitrate: 300_000 },
  { height: 240, bitrate: 500_000 },
];

Deno.test({
  name: "janus serves a simulcast mountpoint fed by the ladder and switches a viewer's layer",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using janus = await startJanus();
    const connection = await JanusConnection.connect(janus.wsUrl, janus.apiSecret);
    const session = await connection.createSession();
    const control = await session.attach("janus.plugin.streaming");
    const { ports } = await createMountpoint(control, {
      id: "cam-1",
      layers: 3,
      adminKey: janus.adminSecret,
    });
    assert.equal(ports.length, 3);
    const ladder = Ladder.start(
      ["-re", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10"],
      { rungs: RUNGS, ports, fps: 10, ffmpeg: "ffmpeg", logger: silentLogger },
    );
    const viewer = new WebrtcViewer();
    try {
      const handle = await session.attach("janus.plugin.streaming");
      const watched = await handle.send({ request: "watch", id: "cam-1", substream: 0 });
      assert.ok(watched.jsep, "Janus offers");
      const answer = await viewer.answer(watched.jsep.sdp);
      await handle.send({ request: "start" }, { type: "answer", sdp: answer });
      await viewer.waitFor((c) => c.keyframes >= 1 && c.frames >= 10);
      const before = viewer.counters.bytes;
      await handle.send({ request: "configure", substream: 2 });
      const admin = new JanusAdmin(janus.adminUrl, janus.adminSecret);
      const stats = await admin.outboundVideo(session.id, handle.id);
      assert.ok(stats && stats.packetsSent > 0, JSON.stringify(stats));
      await viewer.waitFor((c) => c.bytes > before + 20_000);
    } finally {
      await viewer.close();
      await ladder.close();
      connection.close();
    }
  },
});

Deno.test({
  name: "janus supervisor restarts a killed janus and the old connection closes",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using janus = await startJanus();
    const connection = await JanusConnection.connect(janus.wsUrl, janus.apiSecret);
    const closed = new Promise<void>((resolve) => connection.onClose(resolve));
    const restarted = new Promise<number>((resolve) => janus.supervisor.onReady(resolve));
    Deno.kill(janus.supervisor.pid!, "SIGKILL");
    await closed;
    assert.equal(await restarted, 2);
    const again = await JanusConnection.connect(janus.wsUrl, janus.apiSecret);
    const session = await again.createSession();
    assert.ok(session.id > 0);
    again.close();
  },
});
