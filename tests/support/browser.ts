/** Headless Chromium (Debian's) driven by playwright-core, started and always closed by tests. */
import type { Browser } from "playwright-core";

/** Where Debian installs Chromium; `scripts/install-deps.sh test` installs it. */
export const CHROMIUM = "/usr/bin/chromium";

/** Whether Chromium is installed, for `ignore:` on browser tests. */
export const hasChromium = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();

/** Launches headless Chromium with the flags this machine needs; `await using` closes it. */
export async function launchChromium(): Promise<Browser & AsyncDisposable> {
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
      "--autoplay-policy=no-user-gesture-required",
    ],
  });
  return Object.assign(browser, { [Symbol.asyncDispose]: () => browser.close() });
}
