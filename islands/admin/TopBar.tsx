import type { User } from "./api_types.ts";

/** The bar across the top: the product's name, who is signed in, and signing out. */
export function TopBar({ user, onSignOut }: { user?: User | null; onSignOut?: () => void }) {
  return (
    <header class="topbar">
      <div class="brand">
        Motorcade<span>Admin</span>
      </div>
      {user && (
        <>
          <div class="who">
            {user.email} <span class={`badge ${user.role}`}>{user.role}</span>
          </div>
          <button type="button" class="small" onClick={onSignOut}>Sign out</button>
        </>
      )}
    </header>
  );
}
