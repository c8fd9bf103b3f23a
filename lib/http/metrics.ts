import client from "prom-client";

/** The server's Prometheus metrics; other parts register their own on `registry`. */
export class Metrics {
  readonly registry = new client.Registry();
  readonly requests: client.Counter<"method" | "route" | "status">;
  readonly latency: client.Histogram<"method" | "route">;

  constructor() {
    this.requests = new client.Counter({
      name: "motorcade_http_requests_total",
      help: "HTTP requests answered, by method, route pattern and status",
      labelNames: ["method", "route", "status"],
      registers: [this.registry],
    });
    this.latency = new client.Histogram({
      name: "motorcade_http_request_duration_seconds",
      help: "Time from request to response headers, by method and route pattern",
      labelNames: ["method", "route"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [this.registry],
    });
    new client.Gauge({
      name: "motorcade_process_resident_memory_bytes",
      help: "Resident memory of the server process",
      registers: [this.registry],
      collect() {
        this.set(Deno.memoryUsage().rss);
      },
    });
  }

  /** The exposition text for `/metrics`. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** Content type of {@linkcode render}'s output. */
  get contentType(): string {
    return this.registry.contentType;
  }
}
