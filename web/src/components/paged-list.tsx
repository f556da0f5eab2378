import { useCallback, useEffect, useState } from "react";
import type { z } from "zod";
import { api, errorText } from "../api";

/** A list the API serves newest first, a page at a time (`?cursor=`, `nextCursor`). */
export function usePagedList<E>(
  base: string,
  schema: z.ZodType<{ entries: E[]; nextCursor: string | null }>,
) {
  const [entries, setEntries] = useState<E[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(
    async (after: string | null) => {
      setError(null);
      try {
        const page = await api("GET", after ? `${base}&cursor=${after}` : base, schema);
        setEntries((held) => (after ? [...held, ...page.entries] : page.entries));
        setCursor(page.nextCursor);
        setLoaded(true);
      } catch (failure) {
        setError(errorText(failure));
      }
    },
    [base, schema],
  );

  useEffect(() => {
    void load(null);
  }, [load]);

  return { entries, cursor, loaded, error, load };
}

/** Refresh, and Older while there is more. */
export function PageButtons(props: {
  cursor: string | null;
  load: (after: string | null) => Promise<void>;
}) {
  const { cursor, load } = props;
  return (
    <div className="row">
      <button type="button" className="quiet" onClick={() => void load(null)}>
        Refresh
      </button>
      {cursor && (
        <button type="button" className="quiet" onClick={() => void load(cursor)}>
          Older
        </button>
      )}
    </div>
  );
}
