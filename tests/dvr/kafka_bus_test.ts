/**
 * The server with its event bus on Kafka (`BUS_URL=kafka://…`, a real broker): segments uploaded
 * through ingest are published there, consumed by the indexer's group and listed in playlists,
 * also across a broker restart in the middle of the uploads (each refused upload is retried, as the
 * vehicle does, and none is lost), and with the broker down: 503 with Retry-After, and the
 * retry lands once it is back.
 */
import assert from "node:assert/strict";
import { Kafka, logLevel } from "kafkajs";
import { setUpVehicle, signedLinks } from "../support/fleet_api.ts";
import { startKafka } from "../support/kafka.ts";
import { makeCmaf } from "../support/media.ts";
import { recordingUpload } from "../support/recording_upload.ts";
import { startServer } from "../support/server.ts";

Deno.test("a server on Kafka indexes what ingest stored, across a broker restart and stop", async () => {
  const cmaf = await makeCmaf({ seconds: 8 });
  await using kafka = await startKafka();
  await using server = await startServer({
    BUS_URL: `${kafka.busUrl}?topicPrefix=server.&partitions=3&replication=1&timeout=3s`,
  });
  const vehicle = await setUpVehicle(server.url);
  const token = await vehicle.tokens!.token();
  const { start, refusals, put, segment } = recordingUpload(
    server.url,
    vehicle.vehicleId,
    token,
    cmaf,
  );

  assert.equal((await put("init", cmaf.init)).status, 201);
  const count = cmaf.segments.length;
  const half = Math.floor(count / 2);
  for (let i = 0; i < half - 1; i++) assert.equal((await segment(i)).status, 201);

  // Broker down: the upload is stored but its event cannot be published; 503 says retry.
  await kafka.halt();
  const refused = await segment(half - 1, 1);
  assert.equal(refused.status, 503, refused.text);
  assert.equal(refused.retryAfter, "5");
  assert.match(refused.text, /could not be published; retry the upload/);
  const ready = await fetch(`${server.url}/readyz`);
  assert.equal(ready.status, 503);
  assert.match(await ready.text(), /bus/);
  await kafka.restart();
  const retried = await segment(half - 1);
  assert.equal(retried.status, 200, `the bytes were stored: ${retried.text}`);

  // Broker restarted while uploads go on.
  const restarting = kafka.restart();
  for (let i = half; i < count; i++) {
    const stored = await segment(i);
    // 201, or 200 for a retry of an upload stored before its event could be published.
    assert.ok([200, 201].includes(stored.status), `${stored.status} ${stored.text}`);
  }
  await restarting;
  for (const text of refusals) assert.match(text, /retry/i);

  const to = new Date(start + cmaf.segments.reduce((ms, s) => ms + s.durationMs, 0));
  const links = await signedLinks(server.url, vehicle, "front", { from: new Date(start), to });
  let playlist = "";
  for (let attempt = 0; attempt < 300; attempt++) { // the indexer is asynchronous
    const response = await fetch(links.hls);
    assert.equal(response.status, 200);
    playlist = await response.text();
    if ((playlist.match(/#EXTINF/g) ?? []).length === count) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal((playlist.match(/#EXTINF/g) ?? []).length, count, playlist);

  // The events went through Kafka: the server made its topics there.
  const admin = new Kafka({ brokers: [kafka.bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const topics = await admin.listTopics().finally(() => admin.disconnect());
  assert.ok(topics.includes("server.segments"), topics.join(", "));
  assert.ok(topics.includes("server.segments.dead-letter"), topics.join(", "));
  console.log(`uploads refused during the restart: ${refusals.length}`);

  const readyAgain = await fetch(`${server.url}/readyz`);
  assert.equal(readyAgain.status, 200, await readyAgain.text());
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  assert.doesNotMatch(metrics, /motorcade_bus_dead_letters_total\{[^}]*\} [1-9]/);
  assert.ok(!server.logs.some((line) => /password/i.test(line) && /kafka/i.test(line)));
  await Deno.remove(vehicle.stateDir, { recursive: true });
});
