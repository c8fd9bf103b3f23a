import assert from "node:assert/strict";
import { ConfigError, parseCatalogUrl, parseConfig, redactUrl } from "../../lib/config/mod.ts";

Deno.test("parseCatalogUrl reads sqlite: files and postgres:// databases", () => {
  assert.deepEqual(parseCatalogUrl("sqlite:./data/catalog.db"), {
    kind: "sqlite",
    file: "./data/catalog.db",
  });
  for (
    const url of [
      "postgres://motorcade@db.internal:5432/motorcade",
      "postgresql://u:p%40ss@10.0.0.5/catalog?sslmode=require",
      "postgres:///motorcade",
    ]
  ) {
    assert.deepEqual(parseCatalogUrl(url), { kind: "postgres", url });
  }
  const config = parseConfig({ CATALOG_URL: "postgres://motorcade@127.0.0.1:5432/motorcade" });
  assert.equal(config.catalogUrl, "postgres://motorcade@127.0.0.1:5432/motorcade");
});

Deno.test("a bad CATALOG_URL fails at start naming the variable, never its password", () => {
  for (
    const [url, problem] of [
      ["mysql://u:hunter2@db/x", 'CATALOG_URL must be "sqlite:<file>" or "postgres://'],
      ["postgres://u:hunter2@db:99999/x", "CATALOG_URL is not a valid postgres:// URL"],
      ["postgres://u:hunter2@db/x#frag", "CATALOG_URL must not have a #fragment"],
      ["sqlite:", 'CATALOG_URL must be "sqlite:<file>"'],
    ]
  ) {
    const error = (() => {
      try {
        parseConfig({ CATALOG_URL: url });
      } catch (e) {
        return e;
      }
    })();
    assert.ok(error instanceof ConfigError, url);
    const said = error.problems.join("\n");
    assert.ok(said.startsWith(problem), said);
    assert.doesNotMatch(said, /hunter2/);
  }
  assert.equal(redactUrl("postgres://u:hunter2@db/x"), "postgres://u:********@db/x");
  assert.equal(redactUrl("postgres://u:p@ss@db/x"), "postgres://u:********@db/x");
  assert.equal(redactUrl("postgres://u@db/x"), "postgres://u@db/x");
  assert.equal(redactUrl("sqlite:./a:b@c"), "sqlite:./a:b@c");
});
