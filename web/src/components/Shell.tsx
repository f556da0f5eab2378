import { useState } from "react";
import type { User } from "@wegent/protocol";
import { api, errorText } from "../api";
import { href, useRoute } from "../lib/route";
import { Ok } from "@wegent/protocol";
import { ChatPage } from "./ChatPage";
import { ConnectionIndicator } from "./ConnectionIndicator";
import { DevicesPage } from "./DevicesPage";
import { SkillsPage } from "./SkillsPage";
import { TokenBanner } from "./TokenBanner";
import { TokensPage } from "./TokensPage";
import { SettingsPage } from "./SettingsPage";
import { InboxPage, useMarkSeen } from "./InboxPage";

export function Shell(props: { user: User; onSignedOut: () => void }) {
  const route = useRoute();
  const [error, setError] = useState<string | null>(null);
  useMarkSeen(route.page === "chat" ? route.taskId : null);

  async function signOut() {
    try {
      await api("POST", "/api/auth/logout", Ok);
      props.onSignedOut();
    } catch (failure) {
      setError(errorText(failure));
    }
  }

  const links = [
    { to: href.newChat, label: "Chat", active: route.page === "chat" },
    { to: href.inbox, label: "Inbox", active: route.page === "inbox" },
    {
      to: href.devices,
      label: "Devices",
      active: route.page === "devices" || route.page === "skills",
    },
    { to: href.tokens, label: "API Tokens", active: route.page === "tokens" },
    { to: href.settings, label: "Settings", active: route.page === "settings" },
  ];
  return (
    <div className="shell">
      <header className="topbar">
        <a className="brand" href={href.newChat}>
          Wegent Edge
        </a>
        <nav aria-label="Main">
          {links.map((link) => (
            <a key={link.to} href={link.to} aria-current={link.active ? "page" : undefined}>
              {link.label}
            </a>
          ))}
        </nav>
        <div className="topbar-end">
          <ConnectionIndicator />
          <span className="muted user" data-testid="current-user">
            {props.user.username}
          </span>
          <button type="button" onClick={signOut} data-testid="sign-out">
            Sign out
          </button>
        </div>
      </header>
      <TokenBanner />
      {error && (
        <p className="error banner" role="alert">
          {error}
        </p>
      )}
      {route.page === "chat" && <ChatPage taskId={route.taskId} />}
      {route.page === "devices" && <DevicesPage />}
      {route.page === "skills" && <SkillsPage deviceId={route.deviceId} />}
      {route.page === "tokens" && <TokensPage />}
      {route.page === "settings" && <SettingsPage />}
      {route.page === "inbox" && <InboxPage />}
    </div>
  );
}
