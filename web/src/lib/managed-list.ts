import { useCallback, useEffect, useState } from "react";
import { errorText } from "../api";
import { useAction } from "./action";

/**
 * A list the user manages on a settings page: loaded once, reloaded after each change, with
 * the last error and whether a change is on its way. `run` answers whether the change worked.
 */
export function useManagedList<T>(fetchList: () => Promise<T[]>) {
  const [items, setItems] = useState<T[] | null>(null);
  const action = useAction();
  const { setError } = action;

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

  const run = (work: () => Promise<unknown>): Promise<boolean> =>
    action.run(async () => {
      await work();
      await load();
    });

  return { items, error: action.error, busy: action.busy, run };
}
