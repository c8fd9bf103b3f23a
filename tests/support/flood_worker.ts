/**
 * A signaling client that floods, in a Worker so that its sends are not slowed by whatever the
 * test's own event loop is busy with. Posts back the error codes it received and the close code.
 */
/// <reference lib="deno.worker" />

self.onmessage = (event: MessageEvent<{ url: string; token: string; count: number }>) => {
  const { url, token, count } = event.data;
  const socket = new WebSocket(url);
  const errors: Array<{ code: string; message: string }> = [];
  socket.onopen = () => socket.send(JSON.stringify({ type: "auth", token }));
  socket.onmessage = (message) => {
    const data = JSON.parse(String(message.data));
    if (data.type === "ready") {
      // Bursts of 100 with a turn of the event loop between, so replies are read as they come
      // (a close after unread data arrives as a reset that would drop them).
      let sent = 0;
      const burst = () => {
        for (let i = 0; i < 100 && sent < count; i++, sent++) {
          if (socket.readyState !== WebSocket.OPEN) return;
          socket.send(JSON.stringify({ type: "ping" }));
        }
        if (sent < count) setTimeout(burst, 0);
      };
      burst();
    } else if (data.type === "error") errors.push({ code: data.code, message: data.message });
  };
  socket.onclose = (close) => self.postMessage({ errors, closeCode: close.code });
};
