/**
 * The fleet settings page's webhook card: where the fleet's finished recalls are posted, and the
 * signing secret, which the server makes and the page shows once (when the webhook is first set,
 * or when a new secret is made). Its forms post to the settings action
 * (`webhook`, `webhook-rotate`, `webhook-remove`), applied through FleetWebhooks.
 */
import type { FleetWebhook } from "../../lib/catalog/mod.ts";
import { NotFoundError } from "../../lib/errors/mod.ts";
import type { RouteDeps } from "../deps.ts";
import { FieldProblem, fieldState, type FormProblem } from "./forms.tsx";

/** The notices of the webhook actions, by code. */
export const WEBHOOK_NOTICES: Record<string, string> = {
  webhook: "Webhook saved; its secret is unchanged.",
  "webhook-removed": "Webhook removed.",
};

/** The fleet's own webhook, or null when it has none. */
export async function loadWebhook(deps: RouteDeps, fleetId: string): Promise<FleetWebhook | null> {
  try {
    return await deps.fleetWebhooks.get(fleetId);
  } catch (error) {
    if (error instanceof NotFoundError) return null;
    throw error;
  }
}

/**
 * Runs a webhook action of the settings page: a notice code to redirect with, the new secret to
 * show once (`secret`), or undefined when `action` is not a webhook action.
 */
export async function runWebhookAction(
  deps: RouteDeps,
  fleetId: string,
  action: string,
  form: Record<string, string>,
): Promise<{ notice: string } | { secret: string } | undefined> {
  switch (action) {
    case "webhook":
    case "webhook-rotate": {
      const before = await loadWebhook(deps, fleetId);
      const url = action === "webhook" ? (form.url ?? "").trim() : before?.url ?? "";
      const { secret } = await deps.fleetWebhooks.set(fleetId, url, {
        rotateSecret: action === "webhook-rotate",
      });
      return secret ? { secret } : { notice: "webhook" };
    }
    case "webhook-remove":
      await deps.fleetWebhooks.remove(fleetId);
      return { notice: "webhook-removed" };
    default:
      return undefined;
  }
}

function Hidden({ csrf, action }: { csrf: string; action: string }) {
  return (
    <>
      <input type="hidden" name="_csrf" value={csrf} />
      <input type="hidden" name="action" value={action} />
    </>
  );
}

/** The fleet's webhook card; `secret` is a secret just made, shown this once. */
export function WebhookCard(
  { action, csrf, webhook, secret, problem, values }: {
    action: string;
    csrf: string;
    webhook: FleetWebhook | null;
    secret?: string;
    problem?: FormProblem;
    values?: Record<string, string>;
  },
) {
  const url = problem?.form === "webhook" ? values?.url : webhook?.url;
  return (
    <section class="card" aria-labelledby="webhook-heading">
      <h2 id="webhook-heading">Recall webhook</h2>
      <p id="webhook-what">
        Each finished recall (complete, partial, expired or cancelled) is posted as JSON to this
        URL, signed: <code>Motorcade-Signature: t=…,v1=…</code>, the HMAC-SHA256 of{" "}
        <code>t.body</code> with the fleet's secret. A refused post is retried.{" "}
        {webhook ? "" : "None set: the server's own webhook, if it has one, gets them."}
      </p>
      {secret && (
        <div class="notice enrolment" role="status">
          <p>
            The signing secret, shown only now: keep it where your receiver checks signatures.
          </p>
          <p>
            <code class="code" data-testid="webhook-secret">{secret}</code>
          </p>
        </div>
      )}
      <form method="post" action={action} class="inline-form">
        <Hidden csrf={csrf} action="webhook" />
        <div class="field">
          <label for="webhook-url">Webhook URL</label>
          <input
            id="webhook-url"
            name="url"
            type="url"
            required
            maxLength={2048}
            placeholder="https://ops.example.com/motorcade"
            value={url ?? ""}
            {...fieldState(problem, "webhook", "url", "webhook-url")}
          />
        </div>
        <button type="submit" aria-describedby="webhook-what">Save webhook</button>
      </form>
      <FieldProblem problem={problem} form="webhook" field="url" id="webhook-url" />
      <FieldProblem problem={problem} form="webhook" id="webhook-form" />
      {webhook && (
        <div class="webhook-tools">
          <form method="post" action={action}>
            <Hidden csrf={csrf} action="webhook-rotate" />
            <button type="submit">Make a new secret (the old one stops at once)</button>
          </form>
          <form method="post" action={action}>
            <Hidden csrf={csrf} action="webhook-remove" />
            <button type="submit" class="danger">Remove webhook</button>
          </form>
        </div>
      )}
    </section>
  );
}
