/**
 * The fleet settings page's upload cards: the fleet's upload policy (mode, proxy height and
 * bitrate, the longest recall) and its event rules (an event kind recalled from `pre` seconds
 * before to `post` seconds after, on the cameras named). Each form posts to the settings action
 * with its `action` field; {@linkcode runUploadAction} applies it through UploadPolicies and
 * VehicleEvents, so the API's rules and messages apply.
 */
import type { EventRule, UploadMode } from "../../lib/catalog/mod.ts";
import { UPLOAD_MODES } from "../../lib/catalog/mod.ts";
import { MotorcadeError, ValidationError } from "../../lib/errors/mod.ts";
import { DEFAULT_PROXY, POLICY_LIMITS, type PolicyInput } from "../../lib/policy/mod.ts";
import type { RouteDeps } from "../deps.ts";
import { FieldProblem, fieldState, type FormProblem } from "./forms.tsx";

/** What the upload cards show: the fleet's policy and its event rules. */
export interface UploadSettings {
  mode: UploadMode;
  proxy: { height: number; bitrateKbps: number };
  recallMaxSeconds: number;
  /** True when the fleet set a policy (else the default, continuous, applies). */
  set: boolean;
  rules: EventRule[];
}

/** The notices of the upload actions, by code. */
export const UPLOAD_NOTICES: Record<string, string> = {
  policy: "Upload policy saved; vehicles get it with their next instructions (within seconds).",
  rule: "Event rule saved.",
  "rule-removed": "Event rule removed.",
};

/** What an operator reads for each mode. */
export const MODE_TEXT: Record<UploadMode, string> = {
  continuous: "Continuous: full quality uploaded as recorded",
  proxy: "Proxy: a low-bitrate copy uploaded, full quality kept on the vehicle",
  "on-request":
    "On request: nothing uploaded but what is recalled, full quality kept on the vehicle",
};

/** The fleet's upload policy and event rules. */
export async function loadUploadSettings(
  deps: RouteDeps,
  fleetId: string,
): Promise<UploadSettings> {
  const [policy, rules] = await Promise.all([
    deps.policies.fleet(fleetId),
    deps.events.rules(fleetId),
  ]);
  return {
    mode: policy.effective.mode,
    proxy: policy.effective.proxy,
    recallMaxSeconds: policy.recallMaxSeconds,
    set: policy.own !== null,
    rules,
  };
}

/** A whole-number field: empty is `undefined` (the default); anything else is its number. */
function numberField(value: string | undefined): number | undefined {
  const text = (value ?? "").trim();
  return text === "" ? undefined : Number(text);
}

/**
 * A policy from the fields `mode`, `proxy.height` and `proxy.bitrateKbps` of a posted form (a
 * proxy field left empty takes the default); UploadPolicies checks the values.
 */
export function policyOfForm(form: Record<string, string>): PolicyInput {
  const height = numberField(form["proxy.height"]);
  const bitrateKbps = numberField(form["proxy.bitrateKbps"]);
  const proxy = height === undefined && bitrateKbps === undefined ? undefined : {
    height: height ?? DEFAULT_PROXY.height,
    bitrateKbps: bitrateKbps ?? DEFAULT_PROXY.bitrateKbps,
  };
  return { mode: (form.mode ?? "") as UploadMode, proxy };
}

/** A rule from a posted form; the cameras field is names separated by commas (empty: all). */
function ruleOfForm(form: Record<string, string>): EventRule {
  const seconds = (field: "preSeconds" | "postSeconds") => {
    const value = Number((form[field] ?? "").trim() || "0");
    if (!Number.isInteger(value) || value < 0) {
      throw new ValidationError(
        `Cannot set event rule: "${field}" must be a whole number of seconds, 0 or more`,
        [{ path: field, message: "must be a whole number of seconds, 0 or more" }],
      );
    }
    return value;
  };
  const names = (form.cameras ?? "").split(",").map((name) => name.trim()).filter(Boolean);
  const all = names.length === 0 || (names.length === 1 && names[0].toLowerCase() === "all");
  if (!all && (names.length > 32 || names.some((name) => name.length > 32))) {
    throw new ValidationError(
      `Cannot set event rule: "cameras" names at most 32 cameras of at most 32 characters each`,
      [{ path: "cameras", message: "at most 32 camera names of at most 32 characters" }],
    );
  }
  return {
    kind: (form.kind ?? "").trim(),
    preSeconds: seconds("preSeconds"),
    postSeconds: seconds("postSeconds"),
    cameras: all ? "all" : names,
  };
}

/** A rule list refusal names the field of the rule's form (`0.kind` → `kind`). */
function ruleProblem(error: unknown): never {
  if (error instanceof MotorcadeError && Array.isArray(error.details?.issues)) {
    const issues = (error.details.issues as { path: string; message: string }[])
      .map((issue) => ({ ...issue, path: issue.path.replace(/^\d+\./, "") }));
    throw new ValidationError(error.message, issues);
  }
  throw error;
}

/**
 * Runs an upload action of the settings page (`policy`, `rule`, `rule-remove`) and returns its
 * notice code, or undefined when `action` is not one of them.
 */
export async function runUploadAction(
  deps: RouteDeps,
  fleetId: string,
  action: string,
  form: Record<string, string>,
): Promise<string | undefined> {
  switch (action) {
    case "policy":
      await deps.policies.setFleet(fleetId, {
        ...policyOfForm(form),
        recallMaxSeconds: numberField(form.recallMaxSeconds),
      });
      return "policy";
    case "rule": {
      const rule = ruleOfForm(form);
      const rules = await deps.events.rules(fleetId);
      const was = form.was ?? "";
      const at = rules.findIndex((r) => r.kind === was);
      const next = at >= 0 ? rules.with(at, rule) : [...rules, rule];
      await deps.events.setRules(fleetId, next).catch(ruleProblem);
      return "rule";
    }
    case "rule-remove": {
      const rules = await deps.events.rules(fleetId);
      await deps.events.setRules(fleetId, rules.filter((r) => r.kind !== form.kind));
      return "rule-removed";
    }
    default:
      return undefined;
  }
}

/** The form name a refused upload action's problem belongs to. */
export function uploadFormOf(action: string, form: Record<string, string>): string {
  if (action.startsWith("webhook")) return "webhook";
  return action === "rule" ? `rule:${form.was ?? ""}` : action;
}

function Hidden({ csrf, action }: { csrf: string; action: string }) {
  return (
    <>
      <input type="hidden" name="_csrf" value={csrf} />
      <input type="hidden" name="action" value={action} />
    </>
  );
}

/** The element id suffix of a policy field (ids without dots, so CSS selectors need no escape). */
const FIELD_IDS: Record<string, string> = {
  "proxy.height": "proxy-height",
  "proxy.bitrateKbps": "proxy-bitrate",
};

/** The mode select and proxy fields shared by the fleet, vehicle and camera policy forms. */
export function PolicyFields(
  { id, mode, proxy, problem, form, values }: {
    id: string;
    mode: UploadMode;
    proxy: { height: number; bitrateKbps: number };
    problem?: FormProblem;
    form: string;
    values?: Record<string, string>;
  },
) {
  const mine = problem?.form === form ? values : undefined;
  const field = (name: string) =>
    fieldState(problem, form, name, `${id}-${FIELD_IDS[name] ?? name}`);
  return (
    <>
      <div class="field">
        <label for={`${id}-mode`}>Upload</label>
        <select id={`${id}-mode`} name="mode" {...field("mode")}>
          {UPLOAD_MODES.map((m) => (
            <option key={m} value={m} selected={(mine?.mode ?? mode) === m}>{MODE_TEXT[m]}</option>
          ))}
        </select>
        <FieldProblem problem={problem} form={form} field="mode" id={`${id}-mode`} />
      </div>
      <div class="field-row">
        <div class="field">
          <label for={`${id}-proxy-height`}>Proxy height (lines)</label>
          <input
            id={`${id}-proxy-height`}
            name="proxy.height"
            type="number"
            inputMode="numeric"
            min={POLICY_LIMITS.height.min}
            max={POLICY_LIMITS.height.max}
            step={1}
            value={mine?.["proxy.height"] ?? String(proxy.height)}
            {...field("proxy.height")}
          />
          <FieldProblem
            problem={problem}
            form={form}
            field="proxy.height"
            id={`${id}-proxy-height`}
          />
        </div>
        <div class="field">
          <label for={`${id}-proxy-bitrate`}>Proxy bitrate (kbit/s)</label>
          <input
            id={`${id}-proxy-bitrate`}
            name="proxy.bitrateKbps"
            type="number"
            inputMode="numeric"
            min={POLICY_LIMITS.bitrateKbps.min}
            max={POLICY_LIMITS.bitrateKbps.max}
            step={1}
            value={mine?.["proxy.bitrateKbps"] ?? String(proxy.bitrateKbps)}
            {...field("proxy.bitrateKbps")}
          />
          <FieldProblem
            problem={problem}
            form={form}
            field="proxy.bitrateKbps"
            id={`${id}-proxy-bitrate`}
          />
        </div>
      </div>
    </>
  );
}

/** The fleet's upload policy card. */
export function UploadPolicyCard(
  { action, csrf, settings, problem, values }: {
    action: string;
    csrf: string;
    settings: UploadSettings;
    problem?: FormProblem;
    values?: Record<string, string>;
  },
) {
  const mine = problem?.form === "policy" ? values : undefined;
  return (
    <section class="card" aria-labelledby="upload-heading">
      <h2 id="upload-heading">Upload policy</h2>
      <p id="upload-now">
        {settings.set ? "This fleet's vehicles: " : "None set, so today's behaviour: "}
        <strong data-testid="fleet-policy">{MODE_TEXT[settings.mode]}</strong>
        {settings.mode !== "continuous" &&
          ` (proxy ${settings.proxy.height} lines at ${settings.proxy.bitrateKbps} kbit/s)`}. A
        vehicle or camera can override it on its vehicle's page. Recalls may span at most{" "}
        {settings.recallMaxSeconds.toLocaleString("en")} s.
      </p>
      <form method="post" action={action}>
        <Hidden csrf={csrf} action="policy" />
        <PolicyFields
          id="fleet-policy"
          mode={settings.mode}
          proxy={settings.proxy}
          problem={problem}
          form="policy"
          values={values}
        />
        <div class="field">
          <label for="recall-max">Longest recall (seconds)</label>
          <input
            id="recall-max"
            name="recallMaxSeconds"
            type="number"
            inputMode="numeric"
            min={POLICY_LIMITS.recallMaxSeconds.min}
            max={POLICY_LIMITS.recallMaxSeconds.max}
            step={1}
            value={mine?.recallMaxSeconds ?? String(settings.recallMaxSeconds)}
            {...fieldState(problem, "policy", "recallMaxSeconds", "recall-max")}
          />
          <FieldProblem problem={problem} form="policy" field="recallMaxSeconds" id="recall-max" />
        </div>
        <button type="submit" aria-describedby="upload-now">Save upload policy</button>
        <FieldProblem problem={problem} form="policy" id="policy-form" />
      </form>
    </section>
  );
}

function RuleForm(
  { action, csrf, rule, index, problem, values }: {
    action: string;
    csrf: string;
    rule?: EventRule;
    index: string;
    problem?: FormProblem;
    values?: Record<string, string>;
  },
) {
  const form = `rule:${rule?.kind ?? ""}`;
  const mine = problem?.form === form ? values : undefined;
  const id = (name: string) => `rule-${index}-${name}`;
  const field = (name: string) => fieldState(problem, form, name, id(name));
  const cameras = rule ? (rule.cameras === "all" ? "all" : rule.cameras.join(", ")) : "";
  const what = rule ? `rule ${rule.kind}` : "new rule";
  return (
    <form
      method="post"
      action={action}
      class="rule-form"
      aria-label={rule ? `Rule ${rule.kind}` : "New rule"}
    >
      <Hidden csrf={csrf} action="rule" />
      <input type="hidden" name="was" value={rule?.kind ?? ""} />
      <div class="field-row">
        <div class="field">
          <label for={id("kind")}>Event kind</label>
          <input
            id={id("kind")}
            name="kind"
            required
            maxLength={64}
            placeholder="panic"
            value={mine?.kind ?? rule?.kind ?? ""}
            {...field("kind")}
          />
          <FieldProblem problem={problem} form={form} field="kind" id={id("kind")} />
        </div>
        <div class="field">
          <label for={id("preSeconds")}>Before (s)</label>
          <input
            id={id("preSeconds")}
            name="preSeconds"
            type="number"
            inputMode="numeric"
            min={0}
            step={1}
            value={mine?.preSeconds ?? String(rule?.preSeconds ?? 30)}
            {...field("preSeconds")}
          />
          <FieldProblem problem={problem} form={form} field="preSeconds" id={id("preSeconds")} />
        </div>
        <div class="field">
          <label for={id("postSeconds")}>After (s)</label>
          <input
            id={id("postSeconds")}
            name="postSeconds"
            type="number"
            inputMode="numeric"
            min={0}
            step={1}
            value={mine?.postSeconds ?? String(rule?.postSeconds ?? 30)}
            {...field("postSeconds")}
          />
          <FieldProblem problem={problem} form={form} field="postSeconds" id={id("postSeconds")} />
        </div>
      </div>
      <div class="field">
        <label for={id("cameras")}>
          Cameras (names separated by commas; empty or "all": every camera)
        </label>
        <input
          id={id("cameras")}
          name="cameras"
          placeholder="all"
          value={mine?.cameras ?? cameras}
          {...field("cameras")}
        />
        <FieldProblem problem={problem} form={form} field="cameras" id={id("cameras")} />
      </div>
      <button type="submit">
        {rule ? "Save" : "Add rule"} <span class="visually-hidden">{what}</span>
      </button>
      <FieldProblem problem={problem} form={form} id={id("form")} />
    </form>
  );
}

/** The fleet's event rules card: one form per rule (save, remove) and one to add a rule. */
export function EventRulesCard(
  { action, csrf, settings, problem, values }: {
    action: string;
    csrf: string;
    settings: UploadSettings;
    problem?: FormProblem;
    values?: Record<string, string>;
  },
) {
  return (
    <section class="card" aria-labelledby="rules-heading">
      <h2 id="rules-heading">Event rules</h2>
      <p class="muted">
        An event of a rule's kind (a vehicle's panic button or telematics, or an operator's report)
        recalls full quality from "before" seconds before it to "after" seconds after it on the
        cameras named, each within the longest recall above.
      </p>
      {settings.rules.length === 0
        ? <p class="empty">No rule: events are recorded but recall nothing.</p>
        : (
          <ul class="rule-list" aria-label="Event rules">
            {settings.rules.map((rule, i) => (
              <li key={rule.kind} data-rule={rule.kind}>
                <RuleForm
                  action={action}
                  csrf={csrf}
                  rule={rule}
                  index={String(i)}
                  problem={problem}
                  values={values}
                />
                <form method="post" action={action}>
                  <Hidden csrf={csrf} action="rule-remove" />
                  <input type="hidden" name="kind" value={rule.kind} />
                  <button type="submit" class="danger">Remove rule {rule.kind}</button>
                </form>
              </li>
            ))}
          </ul>
        )}
      <h3>Add a rule</h3>
      <RuleForm action={action} csrf={csrf} index="new" problem={problem} values={values} />
    </section>
  );
}
