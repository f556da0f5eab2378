import { useId, useState, type FormEvent } from "react";
import { Credentials, type User } from "@wegent/protocol";
import { api } from "../api";
import { useAction } from "../lib/action";
import { UserBody } from "@wegent/protocol";

type Mode = "login" | "signup";

export function AuthScreen(props: { notice?: string | null; onSignedIn: (user: User) => void }) {
  const [mode, setMode] = useState<Mode>("login");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  // Signed in: this screen goes away; it stays busy until then.
  const { busy, error, setError, run } = useAction({
    doneWhenSucceeded: true,
    initialError: props.notice ?? null,
  });
  const id = useId();

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    // Sign-up rules are checked here too so a mistake is explained before a round trip.
    if (mode === "signup") {
      const checked = Credentials.safeParse({ username, password });
      if (!checked.success) {
        const issue = checked.error.issues[0];
        setError(`${String(issue?.path[0] ?? "input")}: ${issue?.message ?? "invalid"}`);
        return;
      }
    }
    await run(async () => {
      const body = await api("POST", `/api/auth/${mode}`, UserBody, { username, password });
      props.onSignedIn(body.user);
    });
  }

  const title = mode === "login" ? "Sign in" : "Create an account";
  return (
    <main className="auth">
      <h1 className="brand">Wegent Edge</h1>
      <p className="muted">Run coding agents on your own computers, from anywhere.</p>
      <div className="tabs" role="group" aria-label="Account">
        {(["login", "signup"] as const).map((tab) => (
          <button
            key={tab}
            type="button"
            aria-pressed={mode === tab}
            data-testid={`auth-tab-${tab}`}
            onClick={() => {
              setMode(tab);
              setError(null);
            }}
          >
            {tab === "login" ? "Sign in" : "Sign up"}
          </button>
        ))}
      </div>
      <form
        className="card stack"
        onSubmit={submit}
        aria-label={title}
        data-testid={mode === "login" ? "login-form" : "signup-form"}
      >
        <h2>{title}</h2>
        <label htmlFor={`${id}-user`}>Username</label>
        <input
          id={`${id}-user`}
          name="username"
          autoComplete="username"
          required
          value={username}
          onChange={(e) => setUsername(e.target.value)}
          data-testid="auth-username"
        />
        <label htmlFor={`${id}-pass`}>Password</label>
        <input
          id={`${id}-pass`}
          name="password"
          type="password"
          autoComplete={mode === "login" ? "current-password" : "new-password"}
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          data-testid="auth-password"
        />
        {mode === "signup" && <p className="hint">At least 8 characters.</p>}
        {error && (
          <p className="error" role="alert" data-testid="auth-error">
            {error}
          </p>
        )}
        <button className="primary" type="submit" disabled={busy} data-testid="auth-submit">
          {busy ? "Please wait…" : title}
        </button>
      </form>
    </main>
  );
}
