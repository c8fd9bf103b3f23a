/**
 * Apache Kafka for the tests: one broker in KRaft mode (broker and controller in one JVM) from the
 * Maven Central jars `scripts/install-engines.sh kafka` puts in `.cache/kafka`, on free loopback
 * ports with a temporary log folder, always stopped: `await using kafka = await startKafka()`.
 * A test that needs Kafka and cannot get one fails with the reason; it is never skipped.
 */
import { join } from "node:path";
import { followChild, type StopChild } from "./child.ts";
import { freePort } from "./ports.ts";

/** Version of the broker the tests run (the jars `scripts/install-engines.sh kafka` fetches). */
export const KAFKA_VERSION = "4.4.0";

const REPO = new URL("../../", import.meta.url).pathname;
const LIBS = join(REPO, ".cache", "kafka", KAFKA_VERSION, "libs");
const START_TIMEOUT_MS = 60_000;

/** A running single-node Kafka cluster. */
export interface KafkaBroker extends AsyncDisposable {
  /** `host:port` of the broker's client listener. */
  bootstrap: string;
  /** `kafka://…` naming this broker, for BUS_URL. */
  busUrl: string;
  /** Every line the broker wrote so far. */
  logs: string[];
  /** Stops the broker (SIGTERM, then SIGKILL), keeping its data and ports. */
  halt(): Promise<void>;
  /** Starts the broker again on the same ports and data (halting it first if it runs). */
  restart(): Promise<void>;
  /** Stops the broker and deletes its data. */
  stop(): Promise<void>;
}

/** Starts a broker and waits until it accepts connections. */
export async function startKafka(): Promise<KafkaBroker> {
  try {
    await Deno.stat(join(LIBS, ".complete"));
  } catch {
    throw new Error(
      `Kafka ${KAFKA_VERSION} is not installed in ${LIBS}: run "bash scripts/install-engines.sh kafka" ` +
        "(needs Java 17+ and Maven, and Maven Central once)",
    );
  }
  const dir = await Deno.makeTempDir({ prefix: "motorcade-kafka-" });
  const port = freePort();
  const controllerPort = freePort();
  const properties = join(dir, "server.properties");
  await Deno.writeTextFile(
    properties,
    [
      "process.roles=broker,controller",
      "node.id=1",
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      "controller.listener.names=CONTROLLER",
      "inter.broker.listener.name=PLAINTEXT",
      "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
      `log.dirs=${join(dir, "data")}`,
      "num.partitions=1",
      "auto.create.topics.enable=false",
      "offsets.topic.replication.factor=1",
      "offsets.topic.num.partitions=4",
      "transaction.state.log.replication.factor=1",
      "transaction.state.log.min.isr=1",
      "share.coordinator.state.topic.replication.factor=1",
      "share.coordinator.state.topic.min.isr=1",
      "group.initial.rebalance.delay.ms=0",
      // Fast tests: leave a consumer that stopped without leaving after 6 s, not 45 s.
      "group.consumer.session.timeout.ms=6000",
      "group.consumer.min.session.timeout.ms=1000",
      "group.min.session.timeout.ms=1000",
      "log.flush.interval.messages=9223372036854775807",
      "",
    ].join("\n"),
  );
  const logs: string[] = [];
  const java = (args: string[]) =>
    new Deno.Command("java", {
      args: [
        "-Xmx512m",
        "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1",
        "-cp",
        `${LIBS}/*`,
        ...args,
      ],
      env: { LOG_DIR: dir },
      stdout: "piped",
      stderr: "piped",
    });
  const format = await java([
    "kafka.tools.StorageTool",
    "format",
    // One form: an id that starts with "-" (1 in 64 of them) would otherwise be read as an option.
    `--cluster-id=${clusterId()}`,
    "-c",
    properties,
  ]).output();
  if (!format.success) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    const text = new TextDecoder().decode(format.stdout) + new TextDecoder().decode(format.stderr);
    throw new Error(
      `Cannot format Kafka's log folder (StorageTool exited ${format.code}):\n${text}`,
    );
  }

  let child: Deno.ChildProcess | undefined;
  let stopChild: StopChild | undefined;
  const launch = async () => {
    child = java(["kafka.Kafka", properties]).spawn();
    stopChild = followChild(child, (line) => logs.push(line));
    await waitForPort(port, child.status, logs);
  };
  /** SIGTERM (a clean shutdown takes about a second), SIGKILL after 10 s. */
  const halt = async () => {
    if (!child || !stopChild) return;
    const [running, stop] = [child, stopChild];
    child = stopChild = undefined;
    const killer = setTimeout(() => {
      try {
        running.kill("SIGKILL");
      } catch { /* gone */ }
    }, 10_000);
    try {
      await stop("SIGTERM");
    } finally {
      clearTimeout(killer);
    }
  };
  try {
    await launch();
  } catch (error) {
    await halt().catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw error;
  }
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await halt();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  return {
    bootstrap: `127.0.0.1:${port}`,
    busUrl: `kafka://127.0.0.1:${port}`,
    logs,
    halt,
    restart: async () => {
      await halt();
      await launch();
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** Waits until the broker's port accepts a connection; fails if it exits or takes too long. */
async function waitForPort(
  port: number,
  exited: Promise<Deno.CommandStatus>,
  logs: string[],
): Promise<void> {
  let done: Deno.CommandStatus | undefined;
  exited.then((status) => done = status);
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (done) {
      throw new Error(`Kafka exited with ${done.code} before listening:\n${logs.join("\n")}`);
    }
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(
    `Kafka did not listen on 127.0.0.1:${port} within ${START_TIMEOUT_MS} ms:\n${logs.join("\n")}`,
  );
}

/** A random cluster id as Kafka writes them: 16 bytes in URL-safe base64 without padding. */
function clusterId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}
