import assert from "node:assert/strict";
import { renderToString } from "preact-render-to-string";
import {
  compressedAsset,
  immutableResponse,
  Island,
  IslandBundle,
  matchesEtag,
  renderPage,
  staticAsset,
} from "../../lib/ui/mod.ts";

function Greeting({ name }: { name: string }) {
  return <p>Hello {name}</p>;
}

Deno.test("island renders its component inside a marker carrying its props as JSON", () => {
  const props = { name: `"Bob" <b>&'` };
  const html = renderToString(<Island name="Greeting" component={Greeting} props={props} />);
  const marker =
    /^<motorcade-island data-name="Greeting" data-props="([^"]*)">(.*)<\/motorcade-island>$/
      .exec(html);
  assert.ok(marker, html);
  const attribute = marker[1].replaceAll("&quot;", '"').replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">").replaceAll("&amp;", "&");
  assert.deepEqual(JSON.parse(attribute), props);
  assert.match(marker[2], /^<p>Hello .*Bob.*<\/p>$/, "the component is server-rendered inside");
  assert.ok(!marker[2].includes("<b>"), "the props are escaped in the HTML too");
});

Deno.test("island refuses a name that is not a PascalCase file name", () => {
  assert.throws(
    () => renderToString(<Island name="../evil" component={Greeting} props={{ name: "x" }} />),
    TypeError,
  );
});

Deno.test("ETags match strongly, weakly, in lists and as a wildcard", async () => {
  const { etag } = await staticAsset("body", "text/plain");
  assert.match(etag, /^"[0-9a-f]{32}"$/);
  assert.ok(matchesEtag(etag, etag));
  assert.ok(matchesEtag(`W/${etag}`, etag));
  assert.ok(matchesEtag(`"other", ${etag}`, etag));
  assert.ok(matchesEtag("*", etag));
  assert.ok(!matchesEtag('"other"', etag));
  assert.ok(!matchesEtag(undefined, etag));
});

const FIXTURES = decodeURIComponent(new URL("./fixture_islands/", import.meta.url).pathname);

Deno.test("island bundle gives each island an entry and shares Preact in a preloaded chunk", async () => {
  const bundle = new IslandBundle({ islandsDir: FIXTURES, publicPath: "/ui/" });
  await bundle.build();
  const counter = await bundle.scripts(["Counter"]);
  assert.equal(counter.modules.length, 1);
  assert.match(counter.modules[0], /^\/ui\/Counter-[A-Z0-9]{8}\.js$/);
  assert.ok(counter.preloads.length >= 1, "the shared chunk is preloaded");
  assert.ok(counter.preloads.every((url) => /^\/ui\/chunk-[A-Z0-9]{8}\.js$/.test(url)));
  const both = await bundle.scripts(["Counter", "Greeter"]);
  assert.equal(both.modules.length, 2);
  assert.deepEqual(both.preloads, counter.preloads, "both islands share the same chunk");
  const chunk = await bundle.file(counter.preloads[0].slice("/ui/".length));
  assert.ok(chunk?.gzip && chunk.gzip.byteLength < chunk.body.byteLength, "gzipped at build");
  const entry = await bundle.file(counter.modules[0].slice("/ui/".length));
  const js = new TextDecoder().decode(entry!.body);
  assert.ok(js.includes('"Counter"'), "the entry hydrates its own island");
  assert.ok(!js.includes("Goodbye"), "the entry holds no other island");
  const sizes = await bundle.sizes();
  assert.deepEqual(sizes.map((s) => s.island), ["Counter", "Greeter"]);
  assert.ok(sizes.every((s) => s.gzipBytes > 0 && s.gzipBytes < s.bytes));
  await assert.rejects(() => bundle.scripts(["Nope"]), /islands\/Nope\.tsx is not in the bundle/);
});

Deno.test("a page loads only the islands it renders", async () => {
  const bundle = new IslandBundle({ islandsDir: FIXTURES, publicPath: "/ui/" });
  await bundle.build();
  const { default: Counter } = await import("./fixture_islands/Counter.tsx");
  const response = await renderPage({
    title: "Counter",
    body: (
      <main>
        <Island name="Counter" component={Counter} props={{ start: 2 }} />
      </main>
    ),
    bundle,
    stylesheet: "/ui/styles.css",
  });
  const html = await response.text();
  assert.match(html, /<script type="module" src="\/ui\/Counter-[A-Z0-9]{8}\.js"><\/script>/);
  assert.doesNotMatch(html, /Greeter/);
  assert.match(html, /<link rel="modulepreload" href="\/ui\/chunk-/);
  assert.match(html, /<button type="button">Count 2<\/button>/);
  assert.match(response.headers.get("content-security-policy")!, /script-src 'self'/);
});

Deno.test("immutable assets are served brotli, gzip or plain as accepted", async () => {
  const asset = await compressedAsset("x".repeat(4096), "text/plain");
  const br = immutableResponse(asset, { acceptEncoding: "gzip, deflate, br" });
  assert.equal(br.headers.get("content-encoding"), "br");
  assert.equal(br.headers.get("cache-control"), "public, max-age=31536000, immutable");
  const gzip = immutableResponse(asset, { acceptEncoding: "br;q=0, gzip" });
  assert.equal(gzip.headers.get("content-encoding"), "gzip");
  const plain = immutableResponse(asset, {});
  assert.equal(plain.headers.get("content-encoding"), null);
  assert.equal((await plain.text()).length, 4096);
  await br.body?.cancel();
  await gzip.body?.cancel();
  const cached = immutableResponse(asset, { ifNoneMatch: asset.etag });
  assert.equal(cached.status, 304);
});
