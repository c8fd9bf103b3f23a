/// <reference lib="dom" />
/**
 * The admin interface: signing in, then fleets, vehicles with their enrolment codes, cameras and
 * users, all through the JSON API with the session's bearer token.
 */
import { useEffect, useState } from "preact/hooks";
import { Session } from "../lib/ui/browser.ts";
import type { User } from "./admin/api_types.ts";
import { Console } from "./admin/Console.tsx";
import { ErrorMessage } from "./admin/ErrorMessage.tsx";
import { messageOf } from "./admin/hooks.ts";
import { SignInForm } from "./admin/SignInForm.tsx";
import { TopBar } from "./admin/TopBar.tsx";

/** The admin interface's one island; the server renders it signed out. */
export default function AdminApp() {
  const [hydrated, setHydrated] = useState(false);
  const [session, setSession] = useState<Session | null>(null);
  const [user, setUser] = useState<User | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    setSession(Session.restore());
    setHydrated(true);
  }, []);

  useEffect(() => {
    if (!session) return;
    const stop = session.onEnd((reason) => {
      setSession(null);
      setUser(null);
      setNotice(reason || null);
    });
    session.request<User>("GET", "/api/v1/me").then(
      setUser,
      (error) => setNotice(messageOf(error)),
    );
    return stop;
  }, [session]);

  const signOut = () => session?.signOut();

  if (!session) {
    return (
      <>
        <TopBar />
        <SignInForm
          ready={hydrated}
          notice={notice}
          onSignedIn={(signedIn) => {
            setNotice(null);
            setSession(signedIn);
          }}
        />
      </>
    );
  }
  return (
    <>
      <TopBar user={user} onSignOut={signOut} />
      {user ? <Console session={session} user={user} /> : (
        <main class="container">
          <ErrorMessage error={notice} />
          {notice
            ? <button type="button" onClick={signOut}>Sign out</button>
            : <p class="muted">Loading…</p>}
        </main>
      )}
    </>
  );
}
