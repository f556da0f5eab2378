import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { AuthScreen } from "../src/components/AuthScreen";
import { mockFetch } from "./helpers";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

function fillAndSubmit(username: string, password: string) {
  fireEvent.change(screen.getByLabelText("Username"), { target: { value: username } });
  fireEvent.change(screen.getByLabelText("Password"), { target: { value: password } });
  fireEvent.click(screen.getByTestId("auth-submit"));
}

describe("sign in", () => {
  it("shows the server's message when the credentials are wrong", async () => {
    mockFetch(() => ({
      status: 401,
      body: { error: { code: "invalid_credentials", message: "Wrong username or password." } },
    }));
    const onSignedIn = vi.fn();
    render(<AuthScreen onSignedIn={onSignedIn} />);
    fillAndSubmit("alice", "not-the-password");
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toBe("Wrong username or password.");
    expect(onSignedIn).not.toHaveBeenCalled();
  });

  it("says how long to wait when sign-in is throttled", async () => {
    mockFetch(() => ({
      status: 429,
      headers: { "retry-after": "30" },
      body: { error: { code: "too_many_attempts", message: "Too many attempts." } },
    }));
    render(<AuthScreen onSignedIn={() => {}} />);
    fillAndSubmit("alice", "whatever-password");
    expect((await screen.findByRole("alert")).textContent).toBe(
      "Too many attempts. Try again in 30 s.",
    );
  });

  it("signs up and hands the user over", async () => {
    const calls = mockFetch((method, url) =>
      url === "/api/auth/signup"
        ? {
            status: 201,
            body: {
              user: { id: "u1", username: "alice", isAdmin: true, createdAt: "2030-01-01" },
            },
          }
        : undefined,
    );
    const onSignedIn = vi.fn();
    render(<AuthScreen onSignedIn={onSignedIn} />);
    fireEvent.click(screen.getByTestId("auth-tab-signup"));
    fillAndSubmit("alice", "short");
    expect((await screen.findByRole("alert")).textContent).toContain("at least 8 characters");
    expect(calls).toHaveLength(0);
    fillAndSubmit("alice", "long-enough-password");
    await vi.waitFor(() => expect(onSignedIn).toHaveBeenCalledOnce());
    expect(calls[0]).toMatchObject({
      method: "POST",
      url: "/api/auth/signup",
      body: { username: "alice", password: "long-enough-password" },
    });
  });
});
