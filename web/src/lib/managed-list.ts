import { useCallback, useEffect, useState } from "react";
import { errorText } from "../api";

/**
 * A list the user manages on a settings page: loaded once, reloaded after each change, with
 * the last error and whether a change is on its way. `run` answers whether the change worked.
 */
export function useManagedList<T>(fetchList: () => Promise<T[]>) {
  const [items, setItems] = useState<T[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    try {
      setItems(await fetchList());
    } catch (failure) {
      setError(errorText(failure));
    }
  }, [fetchList]);
  useEffect(() => {
    void load();
  }, [load]);

  async function run(work: () => Promise<unknown>): Promise<boolean> {
    setBusy(true);
    setError(null);
    try {
      await work();
      await load();
      return true;
    } catch (failure) {
      setError(errorText(failure));
      return false;
    } finally {
      setBusy(false);
    }
  }

  return { items, error, busy, run };
}
