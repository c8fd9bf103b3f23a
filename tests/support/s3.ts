/**
 * A real S3 server for the tests: versitygw on its posix backend in a temporary folder, on a free
 * 127.0.0.1 port, with root keys made for it, and always stopped:
 * `await using s3 = await startS3()`. scripts/install-engines.sh builds it into .cache/bin; a
 * test that needs it and cannot find it fails saying how to install it (it never skips).
 */
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { S3ObjectStore } from "../../lib/storage/s3_store.ts";
import { freePort } from "./server.ts";

/** A running versitygw with one bucket. */
export interface TestS3 extends AsyncDisposable {
  /** `http://127.0.0.1:PORT` */
  endpoint: string;
  bucket: string;
  /** versitygw's posix folder: object `key` of the bucket is the file `${dir}/${bucket}/${key}`. */
  dir: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** `STORAGE_URL` naming the bucket on this server. */
  storageUrl: string;
  /** The environment a server process needs to use it (STORAGE_URL and AWS credentials). */
  env: Record<string, string>;
  /** Everything versitygw printed. */
  logs: string[];
  /** An object store on the bucket (closed with the server). */
  store(options?: { timeoutMs?: number; attempts?: number; prefix?: string }): S3ObjectStore;
  /** An SDK client on the server, as root. */
  client(): S3Client;
  /** Stops versitygw (SIGKILL: as a crash would), keeping its data. */
  kill(): Promise<void>;
  /** Starts versitygw again on the same port and data. */
  restart(): Promise<void>;
}

const REPO = new URL("../../", import.meta.url).pathname;

/** Where versitygw is: VERSITYGW, else what scripts/install-engines.sh built; fails clearly. */
export function versitygwPath(): string {
  const candidates = [Deno.env.get("VERSITYGW"), `${REPO}.cache/bin/versitygw`].filter(
    (path): path is string => !!path,
  );
  for (const path of candidates) {
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch { /* next */ }
  }
  throw new Error(
    `versitygw (the S3 server these tests run against) is not installed at ${
      candidates.join(" or ")
    }: ` +
      "run `bash scripts/install-engines.sh s3` (needs Go; `deno task test` does it)",
  );
}

/** Starts versitygw with a fresh bucket `bucket` (default "motorcade-test"). */
export async function startS3(options: { bucket?: string } = {}): Promise<TestS3> {
  const executable = versitygwPath();
  const dir = await Deno.makeTempDir({ prefix: "motorcade-s3-" });
  const port = freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const bucket = options.bucket ?? "motorcade-test";
  const accessKeyId = `test${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const secretAccessKey = crypto.randomUUID() + crypto.randomUUID();
  const logs: string[] = [];
  let child: Deno.ChildProcess | undefined;
  let pumps: Promise<unknown> = Promise.resolve();

  const launch = async () => {
    child = new Deno.Command(executable, {
      args: ["--port", `127.0.0.1:${port}`, "posix", dir],
      env: { ROOT_ACCESS_KEY: accessKeyId, ROOT_SECRET_KEY: secretAccessKey },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const running = child;
    pumps = Promise.all([running.stdout, running.stderr].map(async (stream) => {
      for await (const text of stream.pipeThrough(new TextDecoderStream())) {
        logs.push(...text.split("\n").filter(Boolean));
      }
    }));
    let exited = false;
    running.status.then(() => exited = true);
    const deadline = Date.now() + 15_000;
    while (true) {
      if (exited) {
        throw new Error(`versitygw exited before listening on ${endpoint}:\n${logs.join("\n")}`);
      }
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port })).close();
        return;
      } catch { /* not yet */ }
      if (Date.now() > deadline) {
        throw new Error(`versitygw did not listen on ${endpoint} in 15 s:\n${logs.join("\n")}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const kill = async (signal: Deno.Signal = "SIGKILL") => {
    if (!child) return;
    const running = child;
    child = undefined;
    try {
      running.kill(signal);
    } catch { /* gone already */ }
    await running.status;
    await pumps;
  };

  const clients: S3Client[] = [];
  const stores: S3ObjectStore[] = [];
  const client = () => {
    const made = new S3Client({
      endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId, secretAccessKey },
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
    clients.push(made);
    return made;
  };
  const storageUrl = `s3://${bucket}?endpoint=${endpoint}&region=us-east-1&forcePathStyle=1`;
  try {
    await launch();
    await client().send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    await kill();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw error;
  }
  return {
    endpoint,
    bucket,
    dir,
    accessKeyId,
    secretAccessKey,
    storageUrl,
    env: {
      STORAGE_URL: storageUrl,
      AWS_ACCESS_KEY_ID: accessKeyId,
      AWS_SECRET_ACCESS_KEY: secretAccessKey,
    },
    logs,
    store(options = {}) {
      const store = new S3ObjectStore({
        bucket,
        endpoint,
        region: "us-east-1",
        forcePathStyle: true,
        prefix: options.prefix ?? "",
        timeoutMs: options.timeoutMs ?? 10_000,
        attempts: options.attempts ?? 3,
        credentials: { accessKeyId, secretAccessKey },
      });
      stores.push(store);
      return store;
    },
    client,
    kill: () => kill(),
    restart: launch,
    async [Symbol.asyncDispose]() {
      for (const made of clients) made.destroy();
      for (const store of stores) await store.close();
      await kill("SIGTERM");
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
