/**
 * `GET /admin/fleets/{fleetId}/users` (its admins): the fleet's people with role and state, and
 * forms (no script needed) to add one, change a role, disable or enable, set a new password and
 * remove, under the API's rules (FleetRegistry: the last enabled admin stays, nobody removes
 * themselves, the password policy). Owners are platform users, never listed in a fleet.
 */
import type { User } from "../../lib/catalog/mod.ts";
import { CSRF_FIELD } from "../../lib/auth/mod.ts";
import { ForbiddenError } from "../../lib/errors/mod.ts";
import { PASSWORD_MIN_LENGTH } from "../../lib/fleet/mod.ts";
import type { ApiApp } from "../../lib/http/mod.ts";
import type { RouteDeps } from "../deps.ts";
import {
  actionContext,
  FieldProblem,
  fieldState,
  formOf,
  type FormProblem,
  Notice,
  problemOf,
  withNotice,
} from "./forms.tsx";
import { PageTitle } from "./layout.tsx";
import {
  definePage,
  type PageContext,
  type PageView,
  renderView,
  type UiContext,
} from "./page.tsx";
import { paths, patterns } from "./paths.ts";

const ROLES = ["admin", "operator", "viewer"] as const;

const NOTICES: Record<string, string> = {
  added: "User added. They can sign in with the email and password you gave.",
  role: "Role changed; the user was signed out.",
  disabled: "User disabled and signed out: they cannot sign in until enabled.",
  enabled: "User enabled: they can sign in again.",
  password: "Password set; the user was signed out.",
  removed: "User removed.",
};

const POLICY = `At least ${PASSWORD_MIN_LENGTH} characters, and not a common password.`;

/** What a re-rendered form keeps: the refused change and what was typed (never passwords). */
interface UsersState {
  problem?: FormProblem;
  values?: Record<string, string>;
}

function usersView(context: PageContext, users: User[], state: UsersState = {}): PageView {
  const { fleet, csrf, query, user: me } = context;
  const { problem, values = {} } = state;
  const action = paths.users(fleet!.id);
  return {
    title: `Users · ${fleet!.name}`,
    section: "users",
    body: (
      <>
        <PageTitle title="Users" />
        <Notice query={query} notices={NOTICES} />
        {users.length === 0
          ? <p class="empty">No user in this fleet yet.</p>
          : (
            <table class="responsive users">
              <caption class="muted">People of {fleet!.name}</caption>
              <thead>
                <tr>
                  <th scope="col">Email</th>
                  <th scope="col">Role</th>
                  <th scope="col">State</th>
                  <th scope="col">Manage</th>
                </tr>
              </thead>
              <tbody>
                {users.map((user) => (
                  <UserRow
                    key={user.id}
                    user={user}
                    self={user.id === me.id}
                    action={action}
                    csrf={csrf}
                    problem={problem}
                  />
                ))}
              </tbody>
            </table>
          )}
        <section class="card add-user" aria-labelledby="add-user">
          <h2 id="add-user">Add a user</h2>
          <form method="post" action={action}>
            <input type="hidden" name={CSRF_FIELD} value={csrf} />
            <input type="hidden" name="action" value="add" />
            <FieldProblem problem={problem} form="add" id="add" />
            <div class="field">
              <label for="add-email">Email</label>
              <input
                id="add-email"
                name="email"
                type="email"
                autocomplete="off"
                required
                value={values.email}
                {...fieldState(problem, "add", "email", "add-email")}
              />
              <FieldProblem problem={problem} form="add" field="email" id="add-email" />
            </div>
            <div class="field">
              <label for="add-role">Role</label>
              <select id="add-role" name="role" {...fieldState(problem, "add", "role", "add-role")}>
                {ROLES.map((role) => (
                  <option key={role} value={role} selected={(values.role ?? "viewer") === role}>
                    {role}
                  </option>
                ))}
              </select>
              <FieldProblem problem={problem} form="add" field="role" id="add-role" />
            </div>
            <div class="field">
              <label for="add-password">Initial password</label>
              <input
                id="add-password"
                name="password"
                type="password"
                autocomplete="new-password"
                required
                aria-describedby={fieldState(problem, "add", "password", "add-password")[
                  "aria-describedby"
                ] ?? "password-policy"}
                aria-invalid={fieldState(problem, "add", "password", "add-password")[
                  "aria-invalid"
                ]}
              />
              <p class="muted" id="password-policy">{POLICY}</p>
              <FieldProblem problem={problem} form="add" field="password" id="add-password" />
            </div>
            <button type="submit" class="primary">Add user</button>
          </form>
          <p class="muted">
            Admins manage users, vehicles and settings; operators work with vehicles and video;
            viewers watch live and recorded video.
          </p>
        </section>
      </>
    ),
  };
}

function UserRow(
  { user, self, action, csrf, problem }: {
    user: User;
    self: boolean;
    action: string;
    csrf: string;
    problem?: FormProblem;
  },
) {
  const id = user.id;
  const open = problem?.form.endsWith(`:${id}`);
  const hidden = (name: string) => (
    <>
      <input type="hidden" name={CSRF_FIELD} value={csrf} />
      <input type="hidden" name="action" value={name} />
      <input type="hidden" name="userId" value={id} />
    </>
  );
  return (
    <tr>
      <td data-label="Email" class="email">
        {user.email}
        {self && <span class="muted">(you)</span>}
      </td>
      <td data-label="Role">{user.role}</td>
      <td data-label="State">
        {user.disabled
          ? <span class="badge state-disabled">Disabled</span>
          : <span class="badge state-enabled">Active</span>}
      </td>
      <td data-label="Manage">
        <details class="manage" open={open}>
          <summary>Manage {user.email}</summary>
          <div class="manage-forms">
            <form method="post" action={action} class="inline-form">
              {hidden("role")}
              <div class="field">
                <label for={`role-${id}`}>Role of {user.email}</label>
                <select id={`role-${id}`} name="role">
                  {ROLES.map((role) => (
                    <option key={role} value={role} selected={user.role === role}>{role}</option>
                  ))}
                </select>
              </div>
              <button type="submit">Change role</button>
            </form>
            <FieldProblem problem={problem} form={`role:${id}`} id={`role-${id}`} />
            <FieldProblem problem={problem} form={`role:${id}`} field="role" id={`role-${id}`} />
            <form method="post" action={action} class="inline-form">
              {hidden("password")}
              <div class="field">
                <label for={`password-${id}`}>New password for {user.email}</label>
                <input
                  id={`password-${id}`}
                  name="password"
                  type="password"
                  autocomplete="new-password"
                  required
                  {...fieldState(problem, `password:${id}`, "password", `password-${id}`)}
                />
              </div>
              <button type="submit">Set password</button>
            </form>
            <FieldProblem
              problem={problem}
              form={`password:${id}`}
              field="password"
              id={`password-${id}`}
            />
            <FieldProblem problem={problem} form={`password:${id}`} id={`password-${id}`} />
            <form method="post" action={action} class="inline-form">
              {hidden(user.disabled ? "enable" : "disable")}
              <button type="submit">{user.disabled ? "Enable" : "Disable"} {user.email}</button>
            </form>
            <FieldProblem
              problem={problem}
              form={`${user.disabled ? "enable" : "disable"}:${id}`}
              id={`state-${id}`}
            />
            {!self && (
              <form method="post" action={action} class="inline-form">
                {hidden("remove")}
                <button type="submit" class="danger">Remove {user.email}</button>
              </form>
            )}
            <FieldProblem problem={problem} form={`remove:${id}`} id={`remove-${id}`} />
          </div>
        </details>
      </td>
    </tr>
  );
}

/** The fleet's users and the forms that manage them. */
export const usersPage = definePage({
  pattern: patterns.users,
  access: { kind: "user", roles: ["admin"] },
  async load(context) {
    return usersView(context, await context.deps.registry.listUsers(context.fleet!.id));
  },
});

/** Registers the users page's form action (`action`: add, role, disable, enable, password, remove). */
export function registerUserActions(app: ApiApp, deps: RouteDeps, ui: UiContext): void {
  app.post(patterns.users, async (c) => {
    const context = await actionContext(c, deps, ui, ["admin"]);
    if (context instanceof Response) return context;
    const fleetId = context.fleet!.id;
    const form = await formOf(c);
    const action = form.action ?? "";
    const userId = form.userId ?? "";
    const formName = action === "add" ? "add" : `${action}:${userId}`;
    const { registry } = deps;
    const seesAllFleets = context.user.role === "owner";
    let notice: string;
    try {
      switch (action) {
        case "add":
          await registry.createUser(
            {
              fleetId,
              email: form.email ?? "",
              role: (form.role ?? "") as User["role"],
              password: form.password ?? "",
            },
            { seesAllFleets },
          );
          notice = "added";
          break;
        case "role":
          await registry.updateUser(fleetId, userId, { role: (form.role ?? "") as User["role"] });
          notice = "role";
          break;
        case "disable":
        case "enable":
          await registry.updateUser(fleetId, userId, { disabled: action === "disable" });
          notice = action === "disable" ? "disabled" : "enabled";
          break;
        case "password":
          await registry.updateUser(fleetId, userId, { password: form.password ?? "" });
          notice = "password";
          break;
        case "remove":
          if (userId === context.user.id) throw new ForbiddenError("You cannot remove yourself");
          await registry.deleteUser(fleetId, userId);
          notice = "removed";
          break;
        default:
          return c.text(`Unknown action "${action}"`, 400);
      }
    } catch (error) {
      const { status, ...problem } = problemOf(formName, error);
      const values: Record<string, string> = action === "add"
        ? { email: form.email ?? "", role: form.role ?? "" }
        : {};
      const users = await registry.listUsers(fleetId);
      return await renderView(context, {
        ...usersView(context, users, { problem, values }),
        status,
      });
    }
    return c.redirect(withNotice(paths.users(fleetId), notice), 303);
  });
}
