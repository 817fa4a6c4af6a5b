import type { ComponentChildren } from "preact";
import { useCallback, useState } from "preact/hooks";
import { describe } from "./api";

/** Runs an async action and keeps its error as a readable message. */
export function useAction() {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = useCallback(async <T,>(fn: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    setError(null);
    try {
      return await fn();
    } catch (e) {
      setError(describe(e));
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { error, setError, busy, run };
}

export function ErrorText({ error }: { error: string | null }) {
  return error ? <p class="error" role="alert">{error}</p> : null;
}

export function Section({ title, children }: { title: string; children: ComponentChildren }) {
  const id = `h-${title.toLowerCase().replace(/\W+/g, "-")}`;
  return (
    <section aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  );
}

export function when(iso: string | null | undefined) {
  return iso ? new Date(iso).toLocaleString() : "—";
}
