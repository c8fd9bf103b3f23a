/**
 * deploy/ judged by tools nobody here wrote: kubeconform -strict with Kubernetes' own JSON schemas
 * (fetched once, offline after that: scripts/install-engines.sh deploy) on deploy/kubernetes,
 * compose-go's loader — what `docker compose config` runs — on deploy/compose.yaml, and nginx
 * itself routing by path with deploy/nginx-roles.conf. Beside them, what no schema sees: every role
 * is probed on /healthz and /readyz, every reference resolves, and each process's environment is a
 * configuration Motorcade accepts. Each checker is also shown a broken copy, which it must refuse.
 */
import assert from "node:assert/strict";
import { parse as parseYaml, parseAllDocuments } from "yaml";
import { CONFIG_VARIABLES, parseConfig } from "../../lib/config/mod.ts";
import { roleOfPath } from "../../routes/roles.ts";
import { sidecarJanusConfig } from "../../scripts/janus_config.ts";
import { freePort } from "../support/ports.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const DEPLOY = `${ROOT}deploy`;
const KUBERNETES_VERSION = "1.35.0";
const SCHEMAS = `${ROOT}.cache/kubernetes-schemas`;
const ROLES = ["ingest", "api", "indexer", "live"] as const;
/** Read by the SDK and the driver from the environment, beside the server's own variables. */
const ENGINE_VARIABLES = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "PGPASSWORD"];
const KNOWN_VARIABLES = new Set([...CONFIG_VARIABLES.map((v) => v.name), ...ENGINE_VARIABLES]);

// deno-lint-ignore no-explicit-any
type Doc = Record<string, any>;

/** A checker built by scripts/install-engines.sh deploy into .cache/bin. */
function tool(name: string): string {
  const path = `${ROOT}.cache/bin/${name}`;
  try {
    Deno.statSync(path);
  } catch {
    throw new Error(`Cannot find ${path}: run "bash scripts/install-engines.sh deploy" first`);
  }
  return path;
}

async function run(command: string, args: string[], env?: Record<string, string>) {
  const output = await new Deno.Command(command, {
    args,
    stdout: "piped",
    stderr: "piped",
    clearEnv: env !== undefined,
    env,
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

function kubeconform(path: string) {
  try {
    Deno.statSync(`${SCHEMAS}/v${KUBERNETES_VERSION}-standalone-strict/.complete`);
  } catch {
    throw new Error(
      `Cannot find Kubernetes' schemas: run "bash scripts/install-engines.sh deploy"`,
    );
  }
  return run(tool("kubeconform"), [
    "-strict",
    "-summary",
    "-kubernetes-version",
    KUBERNETES_VERSION,
    "-schema-location",
    `${SCHEMAS}/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json`,
    path,
  ]);
}

/** `docker compose config`'s loader on `file`, interpolated from `envFile` alone (not this env). */
function composeConfig(file: string, envFile = `${DEPLOY}/compose.env.example`) {
  return run(tool("compose-config"), ["-env-file", envFile, file], {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: Deno.env.get("HOME") ?? "/tmp",
  });
}

/** The documents of every .yaml file in `dir` (not its sub-folders), by file. */
function manifests(dir: string): Doc[] {
  const docs: Doc[] = [];
  for (const entry of [...Deno.readDirSync(dir)].sort((a, b) => a.name.localeCompare(b.name))) {
    if (!entry.isFile || !entry.name.endsWith(".yaml")) continue;
    for (const doc of parseAllDocuments(Deno.readTextFileSync(`${dir}/${entry.name}`))) {
      assert.equal(doc.errors.length, 0, `${dir}/${entry.name}: ${doc.errors.join("; ")}`);
      const value = doc.toJS();
      if (value) docs.push({ ...value, file: entry.name });
    }
  }
  return docs;
}

/** Copies deploy/kubernetes to a temporary folder, edits one file there, returns the folder. */
async function brokenKubernetesCopy(file: string, from: string, to: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "motorcade-deploy-" });
  await Deno.mkdir(`${dir}/kubernetes`);
  for (const entry of Deno.readDirSync(`${DEPLOY}/kubernetes`)) {
    if (entry.isFile) {
      await Deno.copyFile(`${DEPLOY}/kubernetes/${entry.name}`, `${dir}/kubernetes/${entry.name}`);
    }
  }
  const text = await Deno.readTextFile(`${dir}/kubernetes/${file}`);
  assert.ok(text.includes(from), `${file} no longer holds "${from}"`);
  await Deno.writeTextFile(`${dir}/kubernetes/${file}`, text.replace(from, to));
  return dir;
}

async function brokenComposeCopy(from: string, to: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "motorcade-compose-" });
  const text = await Deno.readTextFile(`${DEPLOY}/compose.yaml`);
  assert.ok(text.includes(from), `compose.yaml no longer holds "${from}"`);
  await Deno.writeTextFile(`${dir}/compose.yaml`, text.replace(from, to));
  return dir;
}

Deno.test("kubeconform -strict accepts every Kubernetes manifest in deploy/", async () => {
  const result = await kubeconform(`${DEPLOY}/kubernetes`);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  const documents = [
    ...manifests(`${DEPLOY}/kubernetes`),
    ...manifests(`${DEPLOY}/kubernetes/engines`),
    ...manifests(`${DEPLOY}/kubernetes/engines-external`),
  ];
  const summary =
    /(\d+) resources found in \d+ files - Valid: (\d+), Invalid: (\d+), Errors: (\d+), Skipped: (\d+)/
      .exec(result.stdout);
  assert.ok(summary, result.stdout);
  // Every document was validated against a schema: none skipped, none unknown.
  assert.deepEqual(summary.slice(1).map(Number), [
    documents.length,
    documents.length,
    0,
    0,
    0,
  ]);
});

Deno.test("kubeconform -strict rejects a manifest with an unknown field or a wrong type", async () => {
  const misspelt = await brokenKubernetesCopy(
    "ingest.yaml",
    "readinessProbe:",
    "readynessProbe:",
  );
  const wrongType = await brokenKubernetesCopy("indexer.yaml", "replicas: 2", 'replicas: "two"');
  try {
    const unknown = await kubeconform(`${misspelt}/kubernetes`);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stdout, /ingest\.yaml - Deployment ingest is invalid.*readynessProbe/);
    const typed = await kubeconform(`${wrongType}/kubernetes`);
    assert.notEqual(typed.code, 0);
    assert.match(typed.stdout, /indexer\.yaml - Deployment indexer is invalid.*\/spec\/replicas/);
  } finally {
    await Deno.remove(misspelt, { recursive: true });
    await Deno.remove(wrongType, { recursive: true });
  }
});

Deno.test("Kubernetes roles each run in a Deployment probed on /healthz and /readyz with a valid configuration", async () => {
  const docs = [...manifests(`${DEPLOY}/kubernetes`), ...manifests(`${DEPLOY}/kubernetes/engines`)];
  const find = (kind: string, name: string) => {
    const found = docs.filter((d) => d.kind === kind && d.metadata?.name === name);
    assert.equal(found.length, 1, `one ${kind} named ${name}, found ${found.length}`);
    return found[0];
  };
  const config = find("ConfigMap", "motorcade-config").data as Record<string, string>;
  const secrets = find("Secret", "motorcade-secrets").stringData as Record<string, string>;
  for (const name of [...Object.keys(config), ...Object.keys(secrets)]) {
    assert.ok(KNOWN_VARIABLES.has(name), `${name} is not a variable Motorcade reads`);
  }
  for (const role of ROLES) {
    const pod = find("Deployment", role).spec.template.spec;
    const server = pod.containers.find((c: Doc) => c.name === "motorcade");
    assert.ok(server, `${role}: a container named motorcade`);
    const env: Record<string, string> = Object.fromEntries(
      server.env.map((e: Doc) => [e.name, e.value]),
    );
    assert.equal(env.ROLES, role);
    assert.deepEqual(server.envFrom, [
      { configMapRef: { name: "motorcade-config" } },
      { secretRef: { name: "motorcade-secrets" } },
    ]);
    assert.equal(server.livenessProbe.httpGet.path, "/healthz", `${role} liveness`);
    assert.equal(server.readinessProbe.httpGet.path, "/readyz", `${role} readiness`);
    assert.equal(server.startupProbe.httpGet.path, "/healthz", `${role} start-up`);
    // What each process sees is a configuration the server accepts (URLs, secrets, Janus).
    const source = { ...config, ...secrets, ...env };
    const parsed = parseConfig(source);
    assert.deepEqual([...parsed.roles], [role]);
    assert.equal(parsed.port, 8080);
    // Only the live role runs live video, through the sidecar on the pod's loopback.
    assert.equal(parsed.live?.janusUrl, role === "live" ? "ws://127.0.0.1:8188" : undefined);
    for (const name of Object.keys(env)) assert.ok(KNOWN_VARIABLES.has(name), name);
    if (role === "live") {
      assert.equal(pod.hostNetwork, true, "Janus's UDP range on the node's network");
      assert.equal(pod.dnsPolicy, "ClusterFirstWithHostNet");
      const janus = pod.initContainers.find((c: Doc) => c.name === "janus");
      assert.equal(janus.restartPolicy, "Always", "Janus is a native sidecar");
      assert.deepEqual(janus.command.slice(0, 3), ["janus", "-F", "/run/janus"]);
      const renderer = pod.initContainers.find((c: Doc) => c.name === "janus-config");
      assert.ok(renderer.command.includes("scripts/janus_config.ts"));
      const files = sidecarJanusConfig(source, "/run/janus", "/usr/lib/x86_64-linux-gnu/janus");
      assert.match(files["janus.jcfg"], /api_secret = "change-me-janus-api"/);
      assert.match(files["janus.jcfg"], /nat_1_1_mapping = "203\.0\.113\.10"/);
      // Its media statistics (viewers' REMB) go to the live server's loopback listener.
      assert.match(files["janus.jcfg"], /broadcast = true/);
      const events = files["janus.eventhandler.sampleevh.jcfg"];
      assert.match(events, /enabled = true/);
      assert.match(events, /backend = "http:\/\/127\.0\.0\.1:8191\/"/);
      assert.match(events, /backend_pwd = "change-me-janus-events"/);
    }
  }
  // Engines by the names the URLs use, each a Service in front of a StatefulSet.
  const catalog = new URL(config.CATALOG_URL);
  const storage = new URL(new URL(config.STORAGE_URL).searchParams.get("endpoint")!);
  const broker = config.BUS_URL.slice("kafka://".length).split(/[,?]/)[0].split(":")[0];
  for (const host of [catalog.hostname, storage.hostname, broker]) {
    find("Service", host);
    find("StatefulSet", host);
  }
  const external = manifests(`${DEPLOY}/kubernetes/engines-external`);
  for (const host of [catalog.hostname, broker]) {
    assert.ok(
      external.some((d) =>
        d.kind === "Service" && d.metadata.name === host &&
        d.spec.type === "ExternalName"
      ),
      `engines-external has an ExternalName service ${host}`,
    );
  }
  // Every Service selects a pod that has its target port; every reference resolves; every
  // container asks for CPU and memory.
  const workloads = docs.filter((d) => ["Deployment", "StatefulSet", "Job"].includes(d.kind));
  for (const service of docs.filter((d) => d.kind === "Service")) {
    const selected = workloads.filter((w) =>
      Object.entries(service.spec.selector).every(([k, v]) =>
        w.spec.template.metadata.labels[k] === v
      )
    );
    assert.ok(selected.length > 0, `Service ${service.metadata.name} selects no pod`);
    for (const port of service.spec.ports) {
      const names = selected.flatMap((w: Doc) =>
        w.spec.template.spec.containers.flatMap((c: Doc) => (c.ports ?? []).map((p: Doc) => p.name))
      );
      assert.ok(names.includes(port.targetPort), `${service.metadata.name}: ${port.targetPort}`);
    }
  }
  for (const workload of workloads) {
    const pod = workload.spec.template.spec;
    const where = `${workload.kind} ${workload.metadata.name}`;
    assert.equal(workload.metadata.namespace, "motorcade", where);
    for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
      assert.ok(container.resources?.requests?.cpu, `${where} ${container.name}: CPU request`);
      assert.ok(container.resources?.requests?.memory, `${where} ${container.name}: memory`);
      for (const from of container.envFrom ?? []) {
        if (from.configMapRef) find("ConfigMap", from.configMapRef.name);
        if (from.secretRef) find("Secret", from.secretRef.name);
      }
      for (const variable of container.env ?? []) {
        const ref = variable.valueFrom?.secretKeyRef;
        if (ref) assert.ok(find("Secret", ref.name).stringData[ref.key], `${where}: ${ref.key}`);
      }
    }
    for (const volume of pod.volumes ?? []) {
      if (volume.configMap) find("ConfigMap", volume.configMap.name);
    }
  }
  // The gateway runs deploy/nginx-roles.conf word for word, and its upstreams are role Services.
  const routes = await Deno.readTextFile(`${DEPLOY}/nginx-roles.conf`);
  assert.equal(find("ConfigMap", "gateway").data["default.conf"], routes);
  for (const [, host, port] of routes.matchAll(/^\s*server ([a-z-]+):(\d+);/gm)) {
    assert.equal(find("Service", host).spec.ports[0].port, Number(port));
  }
});

Deno.test("compose-go's loader accepts deploy/compose.yaml like docker compose config", async () => {
  const result = await composeConfig(`${DEPLOY}/compose.yaml`);
  assert.equal(result.code, 0, result.stderr);
  const project = parseYaml(result.stdout);
  const services = project.services as Record<string, Doc>;
  assert.deepEqual(Object.keys(services).sort(), [
    "api",
    "gateway",
    "indexer",
    "ingest",
    "janus",
    "kafka",
    "live",
    "postgres",
    "s3",
    "s3-bucket",
  ]);
  for (const role of ROLES) {
    const service = services[role];
    assert.equal(service.environment.ROLES, role);
    assert.deepEqual(service.healthcheck.test.slice(-1), ["http://127.0.0.1:8080/readyz"]);
    const config = parseConfig(service.environment);
    assert.equal(new URL(config.catalogUrl).hostname, "postgres");
    for (const name of Object.keys(service.environment)) {
      assert.ok(KNOWN_VARIABLES.has(name), `${role}: ${name} is not a variable Motorcade reads`);
    }
    for (const engine of ["postgres", "kafka", "s3-bucket"]) assert.ok(service.depends_on[engine]);
  }
  assert.equal(services.ingest.deploy.replicas, 2);
  // The Janus sidecar shares the live server's network namespace and renders its configuration
  // from the same variables.
  assert.equal(services.janus.network_mode, "service:live");
  assert.match(services.janus.command.join(" "), /scripts\/janus_config\.ts \/run\/janus/);
  const files = sidecarJanusConfig(services.janus.environment, "/run/janus", "/usr/lib/janus");
  assert.match(files["janus.jcfg"], /rtp_port_range = "20000-20749"/);
  // Janus's whole UDP range is published, port for port, from the live service.
  const udp = services.live.ports.filter((p: Doc) => p.protocol === "udp");
  assert.equal(udp.length, 1000);
  assert.ok(
    udp.every((p: Doc, i: number) => p.target === 20000 + i && p.published === `${p.target}`),
  );
  assert.equal(services.gateway.volumes[0].source, `${DEPLOY}/nginx-roles.conf`);
});

Deno.test("compose-go's loader rejects a Compose file with an unknown key, an undefined service or a missing secret", async () => {
  const misspelt = await brokenComposeCopy("    shm_size: 1g", "    shm_sise: 1g");
  const undefinedService = await brokenComposeCopy(
    'network_mode: "service:live"',
    'network_mode: "service:lve"',
  );
  const noSecret = await Deno.makeTempFile({ suffix: ".env" });
  try {
    const unknown = await composeConfig(`${misspelt}/compose.yaml`);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /services\.postgres\.shm_sise/);
    const dangling = await composeConfig(`${undefinedService}/compose.yaml`);
    assert.equal(dangling.code, 1);
    assert.match(dangling.stderr, /depends on undefined service "lve"/);
    const env = await Deno.readTextFile(`${DEPLOY}/compose.env.example`);
    await Deno.writeTextFile(noSecret, env.replace(/^POSTGRES_PASSWORD=.*$/m, ""));
    const unset = await composeConfig(`${DEPLOY}/compose.yaml`, noSecret);
    assert.equal(unset.code, 1);
    assert.match(unset.stderr, /required variable POSTGRES_PASSWORD is missing a value/);
  } finally {
    await Deno.remove(misspelt, { recursive: true });
    await Deno.remove(undefinedService, { recursive: true });
    await Deno.remove(noSecret);
  }
});

/** A stand-in for one role's processes: answers every request with its role and what it saw. */
function roleStub(role: string, port: number): Deno.HttpServer {
  return Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, async (request) => {
    if (request.headers.get("upgrade") === "websocket") {
      const { socket, response } = Deno.upgradeWebSocket(request);
      socket.onmessage = (event) => socket.send(`${role}:${event.data}`);
      return response;
    }
    const body = request.body ? (await request.arrayBuffer()).byteLength : 0;
    return Response.json({
      role,
      path: new URL(request.url).pathname,
      body,
      forwardedFor: request.headers.get("x-forwarded-for"),
      forwardedProto: request.headers.get("x-forwarded-proto"),
      requestId: request.headers.get("x-request-id"),
    });
  });
}

Deno.test("nginx with deploy/nginx-roles.conf routes each path to the role that answers it", async () => {
  const nginx = "/usr/sbin/nginx";
  try {
    Deno.statSync(nginx);
  } catch {
    throw new Error(`Cannot find ${nginx}: run "bash scripts/install-deps.sh test"`);
  }
  const ports = { api: freePort(), ingest: freePort(), live: freePort(), gateway: freePort() };
  const stubs = (["api", "ingest", "live"] as const).map((role) => roleStub(role, ports[role]));
  const dir = await Deno.makeTempDir({ prefix: "motorcade-gateway-" });
  // The shipped file with only its addresses changed: upstream names to this test's stand-ins.
  let routes = await Deno.readTextFile(`${DEPLOY}/nginx-roles.conf`);
  const swap = (from: string, to: string) => {
    assert.equal(routes.split(from).length, 2, `nginx-roles.conf has "${from}" once`);
    routes = routes.replace(from, to);
  };
  for (const role of ["api", "ingest", "live"] as const) {
    swap(`server ${role}:8080;`, `server 127.0.0.1:${ports[role]};`);
  }
  swap("listen 80;", `listen 127.0.0.1:${ports.gateway};`);
  const temporary = ["body", "proxy", "fastcgi", "uwsgi", "scgi"];
  for (const sub of temporary) await Deno.mkdir(`${dir}/${sub}`);
  await Deno.writeTextFile(
    `${dir}/nginx.conf`,
    `user root;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
${
      temporary.map((sub) => `  ${sub === "body" ? "client_body" : sub}_temp_path ${dir}/${sub};`)
        .join("\n")
    }
${routes}
}
`,
  );
  const test = await run(nginx, ["-t", "-p", dir, "-c", `${dir}/nginx.conf`]);
  assert.equal(test.code, 0, test.stderr);
  const child = new Deno.Command(nginx, {
    args: ["-p", dir, "-c", `${dir}/nginx.conf`, "-g", "daemon off;"],
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  const gateway = `http://127.0.0.1:${ports.gateway}`;
  try {
    for (let attempt = 0;; attempt++) {
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port: ports.gateway })).close();
        break;
      } catch (error) {
        if (attempt >= 100) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    const camera = "/api/v1/fleets/flt_1/vehicles/veh_1/cameras/front";
    const expected: Array<[method: string, path: string, role: string]> = [
      ["GET", "/", "api"],
      ["GET", "/admin/sign-in", "api"],
      ["POST", "/api/v1/auth/login", "api"],
      ["GET", "/api/v1/openapi.json", "api"],
      ["GET", "/.well-known/jwks.json", "api"],
      ["POST", "/api/v1/device/heartbeat", "api"],
      ["GET", `${camera}/recordings`, "api"],
      ["GET", `${camera}/index.m3u8`, "api"],
      ["GET", "/media/fleets/flt_1/vehicles/veh_1/cameras/front/rec_1/7.m4s", "api"],
      ["PUT", "/api/v1/ingest/vehicles/veh_1/cameras/front/recordings/rec_1/init", "ingest"],
      ["PUT", "/api/v1/ingest/vehicles/veh_1/cameras/front/recordings/rec_1/segments/7", "ingest"],
      ["POST", "/api/v1/ingest/vehicles/veh_1/cameras/front/recordings/rec_1/end", "ingest"],
      ["POST", `${camera}/whep`, "live"],
      ["POST", `${camera}/whip`, "live"],
      ["POST", `${camera}/live-links`, "live"],
      ["PATCH", "/api/v1/live/whep/res_1", "live"],
      ["DELETE", "/api/v1/live/whip/res_1", "live"],
      ["GET", `${camera}/whep/extra`, "api"],
    ];
    for (const [method, path, role] of expected) {
      // The processes themselves agree (a path of another role's gets 421 there).
      assert.equal(roleOfPath(path) ?? "api", role, `routes/roles.ts on ${path}`);
      const response = await fetch(`${gateway}${path}`, { method });
      assert.equal(response.status, 200, `${method} ${path}`);
      const seen = await response.json();
      assert.deepEqual([seen.role, seen.path], [role, path], `${method} ${path}`);
      assert.equal(seen.forwardedFor, "127.0.0.1", `${method} ${path}`);
      assert.equal(seen.forwardedProto, "http");
      assert.match(seen.requestId, /^[0-9a-f]{32}$/);
    }
    // A TLS proxy in front keeps its scheme.
    const behindTls = await fetch(`${gateway}/admin/sign-in`, {
      headers: { "x-forwarded-proto": "https" },
    });
    assert.equal((await behindTls.json()).forwardedProto, "https");
    // Segments stream through to ingest; the API takes small bodies only.
    const segment = new Uint8Array(3 * 1024 * 1024);
    const upload = await fetch(
      `${gateway}/api/v1/ingest/vehicles/veh_1/cameras/front/recordings/rec_1/segments/8`,
      { method: "PUT", body: segment },
    );
    assert.equal((await upload.json()).body, segment.byteLength);
    const tooLarge = await fetch(`${gateway}/api/v1/auth/login`, { method: "POST", body: segment });
    assert.equal(tooLarge.status, 413);
    await tooLarge.body?.cancel();
    // The gateway's own probe, and no metrics from outside.
    assert.equal(await (await fetch(`${gateway}/gateway-healthz`)).text(), "ok\n");
    const metrics = await fetch(`${gateway}/metrics`);
    assert.equal(metrics.status, 404);
    await metrics.body?.cancel();
    // The signaling WebSocket upgrades through to the live role.
    const socket = new WebSocket(`ws://127.0.0.1:${ports.gateway}/api/v1/live/ws`);
    const reply = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no WebSocket reply in 5 s")), 5_000);
      socket.onopen = () => socket.send("hello");
      socket.onmessage = (event) => {
        clearTimeout(timer);
        resolve(String(event.data));
      };
      socket.onerror = () => {
        clearTimeout(timer);
        reject(new Error("WebSocket through the gateway failed"));
      };
    });
    const closed = new Promise((resolve) => socket.onclose = resolve);
    socket.close();
    await closed;
    assert.equal(reply, "live:hello");
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await Promise.all(stubs.map((stub) => stub.shutdown()));
    await Deno.remove(dir, { recursive: true });
  }
});
