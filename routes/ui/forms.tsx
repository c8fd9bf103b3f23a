/**
 * What the pages' form actions share: who may post (the page's rules: other fleets 404, wrong
 * roles 403), the refused change shown next to its field, and the notice after a redirect.
 */
import type { Context } from "hono";
import type { VNode } from "preact";
import type { Role } from "../../lib/catalog/mod.ts";
import { ForbiddenError, MotorcadeError, NotFoundError } from "../../lib/errors/mod.ts";
import type { AppEnv } from "../../lib/http/mod.ts";
import type { RouteDeps } from "../deps.ts";
import { PageTitle } from "./layout.tsx";
import { type PageContext, type PageView, renderView, type UiContext } from "./page.tsx";
import { paths } from "./paths.ts";

/** A refused change: which form, which field (when the refusal names one), and why. */
export interface FormProblem {
  /** The form the problem belongs to (`add`, `role:usr_…`, …). */
  form: string;
  field?: string;
  message: string;
}

/** The string fields of a posted form (files and repeated names are ignored). */
export async function formOf(c: Context<AppEnv>): Promise<Record<string, string>> {
  const body = await c.req.parseBody();
  const form: Record<string, string> = {};
  for (const [name, value] of Object.entries(body)) {
    if (typeof value === "string") form[name] = value;
  }
  return form;
}

/**
 * The context of a form action, checked as the page is: signed in (else a redirect to sign-in),
 * the fleet of the path visible to the user (404), the role one of `roles` (403; owners pass).
 */
export async function actionContext(
  c: Context<AppEnv>,
  deps: RouteDeps,
  ui: UiContext,
  roles?: readonly Role[],
): Promise<PageContext | Response> {
  const session = c.get("browserSession");
  const url = new URL(c.req.url);
  if (!session) return c.redirect(paths.signIn(url.pathname), 303);
  const context = {
    c,
    deps,
    ui,
    params: c.req.param() as Record<string, string>,
    query: url.searchParams,
    user: session.user,
    session,
    csrf: c.get("csrfToken") ?? "",
  } as PageContext;
  const { user, params } = context;
  try {
    if (user.role !== "owner" && roles && !roles.includes(user.role)) {
      throw new ForbiddenError(
        `Role "${user.role}" cannot do this; it needs one of: ${roles.join(", ")}`,
      );
    }
    if (params.fleetId !== undefined) {
      if (user.role !== "owner" && user.fleetId !== params.fleetId) {
        throw new NotFoundError(`Fleet "${params.fleetId}" not found`);
      }
      context.fleet = await deps.registry.fleet(params.fleetId);
    }
  } catch (error) {
    return await errorPage(context, error);
  }
  return context;
}

/** An HTML page for a refused request (4xx MotorcadeError); anything else is rethrown. */
export async function errorPage(context: PageContext, error: unknown): Promise<Response> {
  if (!(error instanceof MotorcadeError) || error.status >= 500) throw error;
  const title = error.status === 404 ? "Not found" : "Cannot do this";
  const view: PageView = {
    title,
    status: error.status,
    body: (
      <>
        <PageTitle title={title} />
        <p class="problem" role="alert">{error.message}</p>
      </>
    ),
  };
  return await renderView(context, view);
}

/**
 * A refused change as a {@linkcode FormProblem} of `form`: a validation error names its field
 * (the API's field name) and says why in the policy's words; other 4xx errors say their message.
 * Anything else (5xx, bugs) is rethrown.
 */
export function problemOf(form: string, error: unknown): FormProblem & { status: number } {
  if (!(error instanceof MotorcadeError) || error.status >= 500) throw error;
  const issues = (error.details?.issues ?? []) as { path: string; message: string }[];
  const issue = issues.find((i) => i.path !== "");
  return issue
    ? { form, field: issue.path, message: issue.message, status: error.status }
    : { form, message: error.message, status: error.status };
}

/** Props describing a field's problem: `aria-invalid` and `aria-describedby` when it has one. */
export function fieldState(
  problem: FormProblem | undefined,
  form: string,
  field: string,
  id: string,
): { "aria-invalid"?: "true"; "aria-describedby"?: string } {
  return problem?.form === form && problem.field === field
    ? { "aria-invalid": "true", "aria-describedby": `${id}-problem` }
    : {};
}

/** The problem of `form`'s `field` (or of the whole form when `field` is omitted), if any. */
export function FieldProblem(
  { problem, form, field, id }: {
    problem?: FormProblem;
    form: string;
    field?: string;
    id: string;
  },
): VNode | null {
  if (!problem || problem.form !== form) return null;
  if (field !== undefined ? problem.field !== field : problem.field !== undefined) return null;
  return (
    <p class="field-problem" id={`${id}-problem`} role="alert">
      {problem.message}
    </p>
  );
}

/** The notice of a finished action, read from `?notice=` (only known codes are shown). */
export function Notice(
  { query, notices }: { query: URLSearchParams; notices: Record<string, string> },
): VNode | null {
  const code = query.get("notice");
  const text = code ? notices[code] : undefined;
  return text ? <p class="notice" role="status">{text}</p> : null;
}

/** `path` with `?notice=code` (and `#anchor`), where an action redirects after success. */
export function withNotice(path: string, code: string): string {
  return `${path}?notice=${encodeURIComponent(code)}`;
}
