/// <reference lib="dom" />
import type { Session } from "../../lib/ui/browser.ts";
import type { Fleet, User } from "./api_types.ts";
import { ErrorMessage } from "./ErrorMessage.tsx";
import { formValues, useAction, useResource } from "./hooks.ts";

/** A fleet's people, and adding one; for the fleet's admins and owners. */
export function UserList({ session, fleet }: { session: Session; fleet: Fleet }) {
  const path = `/api/v1/fleets/${fleet.id}/users`;
  const users = useResource<{ users: User[] }>(session, path);
  const add = useAction();
  const submit = (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const { email, role, password } = formValues(event);
    add.run(async () => {
      await session.request("POST", path, { email, role, password });
      form.reset();
      users.reload();
    });
  };
  const list = users.data?.users ?? [];
  return (
    <section class="card">
      <div class="card-header">
        <h2>Users</h2>
        {users.data && <span class="muted">{list.length} in this fleet</span>}
      </div>
      <ErrorMessage error={users.error} />
      {users.data && (list.length
        ? (
          <table>
            <thead>
              <tr>
                <th>Email</th>
                <th>Role</th>
                <th>Status</th>
              </tr>
            </thead>
            <tbody>
              {list.map((user) => (
                <tr key={user.id}>
                  <td>{user.email}</td>
                  <td>
                    <span class={`badge ${user.role}`}>{user.role}</span>
                  </td>
                  <td>
                    {user.disabled
                      ? <span class="badge disabled">disabled</span>
                      : <span class="muted">active</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )
        : <p class="empty">No users yet.</p>)}
      <form class="inline-form" onSubmit={submit}>
        <div class="field">
          <label for="user-email">Email</label>
          <input id="user-email" name="email" type="email" autocomplete="off" required />
        </div>
        <div class="field">
          <label for="user-role">Role</label>
          <select id="user-role" name="role">
            <option value="viewer">viewer</option>
            <option value="operator">operator</option>
            <option value="admin">admin</option>
          </select>
        </div>
        <div class="field">
          <label for="user-password">Initial password</label>
          <input
            id="user-password"
            name="password"
            type="password"
            autocomplete="new-password"
            minLength={8}
            required
          />
        </div>
        <button type="submit" disabled={add.busy}>Add user</button>
      </form>
      <ErrorMessage error={add.error} onDismiss={add.clear} />
    </section>
  );
}
