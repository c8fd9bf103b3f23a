import assert from "node:assert/strict";
import { renderToString } from "preact-render-to-string";
import { Island, matchesEtag, staticAsset } from "../../lib/ui/mod.ts";

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
