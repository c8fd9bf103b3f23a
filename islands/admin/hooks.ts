/// <reference lib="dom" />
import { useCallback, useEffect, useState } from "preact/hooks";
import { ApiError, type Session } from "../../lib/ui/browser.ts";

/** The message to show the user for a failed call. */
export function messageOf(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  return error instanceof Error ? error.message : String(error);
}

/** A resource read from the API with the session: reloaded when `path` changes or on demand. */
export interface Resource<T> {
  data?: T;
  error?: string;
  loading: boolean;
  reload(): void;
}

/** Reads `path` with `session`; `reload()` reads it again. */
export function useResource<T>(session: Session, path: string): Resource<T> {
  const [state, setState] = useState<{ data?: T; error?: string; loading: boolean }>({
    loading: true,
  });
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    let current = true;
    setState((s) => ({ ...s, loading: true }));
    session.request<T>("GET", path).then(
      (data) => current && setState({ data, loading: false }),
      (error) => current && setState((s) => ({ ...s, error: messageOf(error), loading: false })),
    );
    return () => {
      current = false;
    };
  }, [session, path, generation]);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { ...state, reload };
}

/** An action started by the user: whether it runs, and the error it ended with. */
export interface Action {
  busy: boolean;
  error: string | null;
  /** Runs `work`, keeping `busy` and `error` up to date; resolves to whether it succeeded. */
  run(work: () => Promise<unknown>): Promise<boolean>;
  clear(): void;
}

/** State of one user action, such as a form submission. */
export function useAction(): Action {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = useCallback(async (work: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await work();
      return true;
    } catch (caught) {
      setError(messageOf(caught));
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run, clear: useCallback(() => setError(null), []) };
}

/** The values of a submitted form, trimmed, by field name. */
export function formValues(event: Event): Record<string, string> {
  const form = event.currentTarget as HTMLFormElement;
  const values: Record<string, string> = {};
  for (const [name, value] of new FormData(form)) {
    if (typeof value === "string") values[name] = name === "password" ? value : value.trim();
  }
  return values;
}
