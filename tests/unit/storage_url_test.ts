import assert from "node:assert/strict";
import { ConfigError, parseConfig, parseStorageUrl } from "../../lib/config/mod.ts";
import { openObjectStore } from "../../lib/storage/mod.ts";

Deno.test("STORAGE_URL names a folder by default and an S3 bucket with its options", () => {
  assert.equal(parseConfig({ DATA_DIR: "/srv/m" }).storageUrl, "file:/srv/m/objects");
  assert.deepEqual(parseStorageUrl("file:/srv/objects"), { kind: "file", dir: "/srv/objects" });
  assert.deepEqual(
    parseStorageUrl(
      "s3://fleet-video?endpoint=http://127.0.0.1:7070/&region=eu-west-3&forcePathStyle=1&prefix=motorcade/&timeout=10s&attempts=5",
    ),
    {
      kind: "s3",
      bucket: "fleet-video",
      endpoint: "http://127.0.0.1:7070",
      region: "eu-west-3",
      forcePathStyle: true,
      prefix: "motorcade/",
      timeoutMs: 10_000,
      attempts: 5,
    },
  );
  assert.deepEqual(parseStorageUrl("s3://fleet-video"), {
    kind: "s3",
    bucket: "fleet-video",
    endpoint: undefined,
    region: undefined,
    forcePathStyle: false,
    prefix: "",
    timeoutMs: 30_000,
    attempts: 3,
  });
  const store = openObjectStore("s3://fleet-video?region=eu-west-3");
  assert.equal(store.kind, "s3");
  store.close();
});

Deno.test("a bad STORAGE_URL fails at start naming the variable, and credentials in it are never echoed", () => {
  const problems = (url: string) => {
    try {
      parseConfig({ STORAGE_URL: url });
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      return error.problems.join("\n");
    }
    assert.fail(`${url} was accepted`);
  };
  assert.match(problems("/srv/objects"), /STORAGE_URL must be "file:<dir>" or "s3:\/\/<bucket>/);
  assert.match(problems("gs://bucket"), /STORAGE_URL must be "file:<dir>" or "s3:/);
  assert.match(problems("s3://B_ad"), /STORAGE_URL names an invalid bucket "B_ad"/);
  assert.match(problems("s3://bucket/videos"), /STORAGE_URL must not have a path/);
  assert.match(problems("s3://bucket?regoin=x"), /STORAGE_URL has unknown parameter "regoin"/);
  assert.match(
    problems("s3://bucket?endpoint=minio:9000"),
    /STORAGE_URL has endpoint "minio:9000"/,
  );
  assert.match(problems("s3://bucket?forcePathStyle=yes"), /STORAGE_URL has forcePathStyle "yes"/);
  assert.match(problems("s3://bucket?prefix=/abs"), /STORAGE_URL has prefix "\/abs"/);
  assert.match(problems("s3://bucket?timeout=soon"), /STORAGE_URL has timeout "soon"/);
  assert.match(problems("s3://bucket?attempts=0"), /STORAGE_URL has attempts "0"/);
  const secret = problems("s3://AKIAEXAMPLE:wJalrXUtnFEMI@bucket?region=us-east-1");
  assert.match(secret, /STORAGE_URL must not hold credentials: set AWS_ACCESS_KEY_ID/);
  assert.doesNotMatch(secret, /wJalrXUtnFEMI|AKIAEXAMPLE/);
  assert.throws(() => openObjectStore("gs://bucket"), /Cannot open the object store: STORAGE_URL/);
});
