/** Where a user's new password comes from: one line of stdin, or generated and shown once. */

const ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789";

/** A random password people can read and type: `xxxxx-xxxxx-xxxxx-xxxxx` (100 bits). */
export function generatePassword(): string {
  const chars = Array.from(crypto.getRandomValues(new Uint8Array(20)), (b) => ALPHABET[b & 31]);
  return [0, 5, 10, 15].map((i) => chars.slice(i, i + 5).join("")).join("-");
}

/** Reads the first line of `stdin` (without its line ending); undefined when stdin is empty. */
export async function readLine(
  stdin: ReadableStream<Uint8Array> | undefined,
): Promise<string | undefined> {
  if (!stdin) return undefined;
  const reader = stdin.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let received = false;
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      received = true;
      text += decoder.decode(value, { stream: true });
      const newline = text.indexOf("\n");
      if (newline >= 0) return text.slice(0, newline).replace(/\r$/, "");
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  text += decoder.decode();
  return received ? text.replace(/\r$/, "") : undefined;
}
