import { useCallback, useState } from "react";
import { errorText } from "../api";

/**
 * The one busy/error pattern of the UI's forms and buttons: `run(work)` marks the action busy
 * and clears the last error, and a failure's own words (the server's, see errorText) become
 * `error`. It answers whether the work succeeded.
 */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = useCallback(async (work: () => Promise<unknown>): Promise<boolean> => {
    setBusy(true);
    setError(null);
    try {
      await work();
      return true;
    } catch (failure) {
      setError(errorText(failure));
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, setError, run };
}
