"""An RTSP IP camera for tests: serves an H.264 MP4 file's video at rtsp://127.0.0.1:PORT/cam in
real time, its packets untouched (gst-rtsp-server: qtdemux ! h264parse ! rtph264pay).

Usage: rtsp_camera.py FILE PORT [DELAY_MS]
Prints "ready PORT" once listening and "play EPOCH_MS" when a client starts playing; DELAY_MS
holds every DESCRIBE answer that long, as a camera slow to answer does.
"""
import sys
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

Gst.init(None)
path, port = sys.argv[1], sys.argv[2]
delay_ms = int(sys.argv[3]) if len(sys.argv) > 3 else 0

server = GstRtspServer.RTSPServer()
server.set_address("127.0.0.1")
server.set_service(port)
factory = GstRtspServer.RTSPMediaFactory()
factory.set_launch(
    f'( filesrc location="{path}" ! qtdemux ! h264parse ! rtph264pay name=pay0 pt=96 )'
)
factory.set_shared(False)
server.get_mount_points().add_factory("/cam", factory)


def on_client(_server, client):
    def on_describe(_client, _context):
        if delay_ms:
            time.sleep(delay_ms / 1000)

    def on_play(_client, _context):
        print("play", int(time.time() * 1000), flush=True)

    client.connect("describe-request", on_describe)
    client.connect("play-request", on_play)


server.connect("client-connected", on_client)
server.attach(None)
print("ready", server.get_bound_port(), flush=True)
GLib.MainLoop().run()
