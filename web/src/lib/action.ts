import { useCallback, useState } from "react";
import { errorText } from "../api";

/**
 * The one busy/error pattern of the UI's forms and buttons: `run(work)` marks the action busy
 * and clears the last error, and a failure's own words (the server's, see errorText) become
 * `error`. It answers whether the work succeeded.
 *
 * `doneWhenSucceeded`: the form is finished by a success (it is about to go away, e.g. an
 * answered request or a signed-in screen), so it stays busy and cannot be sent twice.
 * `initialError`: a message to show before any run (e.g. why the user was signed out).
 */
export function useAction(
  options: { doneWhenSucceeded?: boolean; initialError?: string | null } = {},
) {
  const { doneWhenSucceeded = false } = options;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(options.initialError ?? null);
  const run = useCallback(
    async (work: () => Promise<unknown>): Promise<boolean> => {
      setBusy(true);
      setError(null);
      try {
        await work();
        if (!doneWhenSucceeded) setBusy(false);
        return true;
      } catch (failure) {
        setError(errorText(failure));
        setBusy(false);
        return false;
      }
    },
    [doneWhenSucceeded],
  );
  return { busy, error, setError, run };
}
