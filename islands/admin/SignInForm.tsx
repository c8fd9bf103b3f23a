/// <reference lib="dom" />
import { Session } from "../../lib/ui/browser.ts";
import { ErrorMessage } from "./ErrorMessage.tsx";
import { formValues, useAction } from "./hooks.ts";

/** Props of {@linkcode SignInForm}. */
export interface SignInFormProps {
  /** False until the page is hydrated: submitting before would post the form as a page. */
  ready: boolean;
  /** Why the user is asked to sign in again, if they were signed out. */
  notice?: string | null;
  onSignedIn(session: Session): void;
}

/** Email and password, exchanged for a session. */
export function SignInForm({ ready, notice, onSignedIn }: SignInFormProps) {
  const action = useAction();
  const submit = (event: Event) => {
    event.preventDefault();
    const { email, password } = formValues(event);
    action.run(async () => onSignedIn(await Session.signIn(email, password)));
  };
  return (
    <main class="container">
      <form class="card signin" method="post" onSubmit={submit}>
        <h1>Sign in</h1>
        <p class="muted">Manage your fleets, vehicles, cameras and people.</p>
        <ErrorMessage error={action.error ?? notice} />
        <div class="field">
          <label for="email">Email</label>
          <input id="email" name="email" type="email" autocomplete="username" required />
        </div>
        <div class="field">
          <label for="password">Password</label>
          <input
            id="password"
            name="password"
            type="password"
            autocomplete="current-password"
            required
          />
        </div>
        <button type="submit" class="primary wide" disabled={!ready || action.busy}>
          {action.busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
