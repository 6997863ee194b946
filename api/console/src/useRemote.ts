import { useCallback, useEffect, useRef, useState } from "preact/hooks";

export type Remote<T> = { data?: T; error?: Error; loading: boolean; reload(): void; set(data: T): void };

/** Loads `load()` whenever `deps` change; stale replies (from earlier deps) are dropped. */
export function useRemote<T>(load: () => Promise<T>, deps: unknown[]): Remote<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true });
  const generation = useRef(0);
  const run = useCallback(() => {
    const g = ++generation.current;
    setState((s) => ({ data: s.data, loading: true }));
    load().then(
      (data) => g === generation.current && setState({ data, loading: false }),
      (error: unknown) => g === generation.current && setState({ error: error instanceof Error ? error : new Error(String(error)), loading: false }),
    );
  }, deps);
  useEffect(run, [run]);
  return { ...state, reload: run, set: (data: T) => setState({ data, loading: false }) };
}
