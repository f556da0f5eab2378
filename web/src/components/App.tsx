import { useCallback, useEffect, useState } from "react";
import type { User } from "@wegent/protocol";
import { api, ApiFailure, setSignedOutHandler } from "../api";
import { UserBody } from "@wegent/protocol";
import { StoreProvider } from "../state/store";
import { AuthScreen } from "./AuthScreen";
import { Shell } from "./Shell";

const OFFLINE_TEXT =
  "You are offline: Wegent Edge opened from this device's copy. Your tasks and sign-in need the connection; reload when you are back online.";

type Session = { kind: "checking" } | { kind: "signedOut" } | { kind: "signedIn"; user: User };

export function App() {
  const [session, setSession] = useState<Session>({ kind: "checking" });
  const [bootError, setBootError] = useState<string | null>(null);
  const signedOut = useCallback(() => setSession({ kind: "signedOut" }), []);

  useEffect(() => {
    setSignedOutHandler(signedOut);
    api("GET", "/api/auth/me", UserBody)
      .then((body) => setSession({ kind: "signedIn", user: body.user }))
      .catch((error: unknown) => {
        if (error instanceof ApiFailure && error.status === 0) {
          // Opened from the service worker's copy of the app shell with no connection.
          setBootError(OFFLINE_TEXT);
        } else if (!(error instanceof ApiFailure) || error.status !== 401) {
          setBootError(error instanceof Error ? error.message : String(error));
        }
        setSession({ kind: "signedOut" });
      });
    return () => setSignedOutHandler(null);
  }, [signedOut]);

  if (session.kind === "checking") {
    return (
      <p className="boot" role="status">
        Loading…
      </p>
    );
  }
  if (session.kind === "signedOut") {
    return (
      <AuthScreen
        notice={bootError}
        onSignedIn={(user) => {
          setBootError(null);
          setSession({ kind: "signedIn", user });
        }}
      />
    );
  }
  return (
    <StoreProvider onSignedOut={signedOut}>
      <Shell user={session.user} onSignedOut={signedOut} />
    </StoreProvider>
  );
}
