/** Loopback ports for benchmark servers. */

export { freePort } from "../../tests/support/ports.ts";

/** Resolves once 127.0.0.1:`port` accepts connections; rejects after `timeoutMs` or on `exited`. */
export async function waitForPort(
  port: number,
  timeoutMs: number,
  exited?: Promise<Deno.CommandStatus>,
): Promise<void> {
  let gone: Deno.CommandStatus | undefined;
  exited?.then((status) => gone = status);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (gone) throw new Error(`Process exited with ${gone.code} before listening on ${port}`);
    try {
      const connection = await Deno.connect({ hostname: "127.0.0.1", port });
      connection.close();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  throw new Error(`Nothing listened on 127.0.0.1:${port} within ${timeoutMs} ms`);
}
