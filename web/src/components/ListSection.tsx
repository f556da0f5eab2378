import { useId, type ReactNode } from "react";

/**
 * One settings section of things the user manages (skills, MCP servers): a titled card, what it
 * is for, the add form (`children`), the last error, then the list, or what to say while it
 * loads or when it is empty (nothing when those are left out).
 */
export function ListSection<T>(props: {
  title: string;
  testId: string;
  intro: ReactNode;
  error: string | null;
  errorTestId: string;
  items: T[] | null;
  loading?: ReactNode;
  empty?: ReactNode;
  keyOf: (item: T) => string;
  itemTestId: (item: T) => string;
  renderItem: (item: T) => ReactNode;
  children: (ids: { id: string }) => ReactNode;
}) {
  const id = useId();
  const { items } = props;
  return (
    <section className="card stack" aria-labelledby={`${id}-title`} data-testid={props.testId}>
      <h2 id={`${id}-title`}>{props.title}</h2>
      <p className="muted">{props.intro}</p>
      {props.children({ id })}
      {props.error && (
        <p className="error" role="alert" data-testid={props.errorTestId}>
          {props.error}
        </p>
      )}
      {items === null ? (
        (props.loading ?? null)
      ) : items.length === 0 ? (
        (props.empty ?? null)
      ) : (
        <ul className="token-list">
          {items.map((item) => (
            <li key={props.keyOf(item)} className="card" data-testid={props.itemTestId(item)}>
              {props.renderItem(item)}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
