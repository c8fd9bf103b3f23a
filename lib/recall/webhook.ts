import type { BusMessage, Consumer, EventBus } from "../bus/mod.ts";
import type { Catalog, Recall } from "../catalog/mod.ts";
import { checkPublicTarget, type Resolver } from "../http/public_target.ts";
import type { Logger } from "../log/mod.ts";
import { RECALLS_TOPIC } from "./recalls.ts";
import { recallView } from "./view.ts";

/** The header carrying a webhook delivery's signature: `t=<unix seconds>,v1=<hex HMAC>`. */
export const WEBHOOK_SIGNATURE_HEADER = "Motorcade-Signature";

/**
 * Where recall webhooks go and the secret that signs them: a fleet's own webhook (set through
 * the API, kept in the catalog) or else the server's (RECALL_WEBHOOK_URL); neither: not posted.
 */
export interface RecallWebhookOptions {
  url?: string;
  secret?: string;
  /** Where each fleet's own webhook is read. */
  catalog?: Pick<Catalog, "webhooks">;
  logger: Logger;
  /** How long one delivery may take; default 10 s. */
  timeoutMs?: number;
  /**
   * Whether a fleet's webhook may reach non-public addresses (WEBHOOK_ALLOW_PRIVATE); when not,
   * its host is resolved and checked before each post. The server's own URL is trusted.
   */
  allowPrivate?: boolean;
  /** The DNS lookup for that check (tests). */
  resolve?: Resolver;
}

/**
 * The signature of a webhook body sent at `timestamp` (unix seconds): HMAC-SHA256 of
 * `<timestamp>.<body>` with the secret, hex. A receiver recomputes it and refuses old timestamps.
 */
export async function webhookSignature(
  secret: string,
  timestamp: number,
  body: string,
): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign(
    "HMAC",
    key,
    new TextEncoder().encode(`${timestamp}.${body}`),
  );
  return Array.from(new Uint8Array(mac)).map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Posts every finished recall (`recall.finished` on the bus) to the operator's webhook, signed.
 * Delivery is at least once: a failed post is retried by the bus and, when it keeps failing,
 * set aside on `recalls.dead-letter`; `Motorcade-Delivery` (the recall id) tells repeats apart.
 */
export class RecallWebhook {
  #consumer?: Consumer;

  constructor(private readonly options: RecallWebhookOptions) {}

  /** Starts following the bus. */
  start(bus: EventBus): void {
    this.#consumer ??= bus.subscribe<{ type: string; recall: Recall }>(
      RECALLS_TOPIC,
      "recall-webhook",
      (batch) => this.#deliver(batch),
    );
  }

  async #deliver(batch: BusMessage<{ type: string; recall: Recall }>[]): Promise<void> {
    for (const { value } of batch) {
      if (value.type !== "recall.finished") continue;
      // Dates crossed the bus as JSON strings: rebuild them before the view.
      const recall = reviveRecall(value.recall);
      const target = await this.#target(recall.fleetId);
      if (!target) continue;
      if (target.tenant && !this.options.allowPrivate) {
        // Checked again here: a name may resolve elsewhere than when the fleet set it.
        await checkPublicTarget(new URL(target.url), { resolve: this.options.resolve }).catch(
          (error: Error) => {
            throw new Error(
              `Cannot deliver recall "${recall.id}" to the webhook: ${error.message}`,
            );
          },
        );
      }
      const body = JSON.stringify({ type: value.type, recall: recallView(recall) });
      const timestamp = Math.floor(Date.now() / 1000);
      const signature = await webhookSignature(target.secret, timestamp, body);
      const response = await fetch(target.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "motorcade-event": value.type,
          "motorcade-delivery": recall.id,
          [WEBHOOK_SIGNATURE_HEADER]: `t=${timestamp},v1=${signature}`,
        },
        body,
        // A redirect is a failed delivery, never followed (it could lead anywhere).
        redirect: "manual",
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
      await response.body?.cancel();
      if (!response.ok) {
        throw new Error(
          `Cannot deliver recall "${recall.id}" to the webhook: it answered ${response.status}`,
        );
      }
      this.options.logger.info("recall webhook delivered", { recallId: recall.id });
    }
  }

  /** The fleet's own webhook, else the server's, else none. */
  async #target(
    fleetId: string,
  ): Promise<{ url: string; secret: string; tenant: boolean } | undefined> {
    const own = await this.options.catalog?.webhooks.get(fleetId);
    if (own) return { url: own.url, secret: own.secret, tenant: true };
    const { url, secret } = this.options;
    return url && secret ? { url, secret, tenant: false } : undefined;
  }

  /** Stops after the delivery in hand. */
  async close(): Promise<void> {
    await this.#consumer?.close();
    this.#consumer = undefined;
  }
}

function reviveRecall(raw: Recall): Recall {
  const date = (value: unknown) => value === null ? null : new Date(value as string);
  return {
    ...raw,
    createdAt: date(raw.createdAt)!,
    updatedAt: date(raw.updatedAt)!,
    finishedAt: date(raw.finishedAt),
  };
}
