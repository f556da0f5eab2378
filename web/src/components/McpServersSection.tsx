import { useState, type FormEvent } from "react";
import { type McpServer, McpServerBody, McpServersBody, Ok } from "@wegent/protocol";
import { api } from "../api";
import { useManagedList } from "../lib/managed-list";
import { ListSection } from "./ListSection";

const words = (text: string) => text.split(/[\s,]+/).filter((w) => w !== "");

/** `Header=ENV_NAME` pairs, one per line. */
function headerPairs(text: string) {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .map((line) => {
      const [name = "", env = ""] = line.split("=").map((part) => part.trim());
      return { name, env };
    });
}

function describe(server: McpServer): string {
  if (server.transport === "stdio") {
    const env = server.env.length > 0 ? ` · env ${server.env.join(", ")}` : "";
    return `${[server.command, ...server.args].join(" ")}${env}`;
  }
  const headers = server.headers.map((h) => `${h.name} from $${h.env}`).join(", ");
  return `${server.url}${headers ? ` · ${headers}` : ""}`;
}

const fetchServers = async () => (await api("GET", "/api/mcp-servers", McpServersBody)).mcpServers;

export function McpServersSection() {
  const { items: servers, error, busy, run } = useManagedList(fetchServers);
  const [form, setForm] = useState({
    name: "",
    transport: "stdio" as "stdio" | "http",
    command: "",
    args: "",
    env: "",
    url: "",
    headers: "",
  });

  async function submit(event: FormEvent) {
    event.preventDefault();
    const body =
      form.transport === "stdio"
        ? {
            name: form.name.trim(),
            transport: "stdio",
            command: form.command.trim(),
            args: words(form.args),
            env: words(form.env),
          }
        : {
            name: form.name.trim(),
            transport: "http",
            url: form.url.trim(),
            headers: headerPairs(form.headers),
          };
    const ok = await run(() => api("POST", "/api/mcp-servers", McpServerBody, body));
    if (ok) setForm({ ...form, name: "", command: "", args: "", env: "", url: "", headers: "" });
  }

  const set = (key: keyof typeof form) => (e: { target: { value: string } }) =>
    setForm({ ...form, [key]: e.target.value });

  return (
    <ListSection
      title="MCP servers"
      testId="mcp-servers"
      intro={
        <>
          Secrets never come here: name the device&apos;s environment variables that hold them, and
          each device passes its own values.
        </>
      }
      error={error}
      errorTestId="mcp-error"
      items={servers}
      keyOf={(server) => server.id}
      itemTestId={(server) => `mcp-${server.name}`}
      renderItem={(server) => (
        <>
          <div className="token-head">
            <strong>{server.name}</strong>
            <span className="badge">{server.transport}</span>
            <span className="badge">{server.enabled ? "on" : "off"}</span>
          </div>
          <p className="muted command">{describe(server)}</p>
          <div className="row">
            <label>
              <input
                type="checkbox"
                checked={server.enabled}
                disabled={busy}
                onChange={(e) =>
                  void run(() =>
                    api("PATCH", `/api/mcp-servers/${server.id}`, McpServerBody, {
                      enabled: e.target.checked,
                    }),
                  )
                }
              />{" "}
              Enabled
            </label>
            <button
              type="button"
              className="danger"
              disabled={busy}
              onClick={() => void run(() => api("DELETE", `/api/mcp-servers/${server.id}`, Ok))}
            >
              Delete
            </button>
          </div>
        </>
      )}
    >
      {({ id }) => (
        <form className="stack" onSubmit={submit} data-testid="mcp-form">
          <label htmlFor={`${id}-name`}>Name</label>
          <input
            id={`${id}-name`}
            required
            maxLength={64}
            value={form.name}
            onChange={set("name")}
            data-testid="mcp-name"
          />
          <label htmlFor={`${id}-transport`}>Transport</label>
          <select
            id={`${id}-transport`}
            value={form.transport}
            onChange={set("transport")}
            data-testid="mcp-transport"
          >
            <option value="stdio">stdio (a program on the device)</option>
            <option value="http">HTTP</option>
          </select>
          {form.transport === "stdio" ? (
            <>
              <label htmlFor={`${id}-command`}>Command</label>
              <input
                id={`${id}-command`}
                required
                value={form.command}
                onChange={set("command")}
                data-testid="mcp-command"
              />
              <label htmlFor={`${id}-args`}>Arguments (space separated)</label>
              <input
                id={`${id}-args`}
                value={form.args}
                onChange={set("args")}
                data-testid="mcp-args"
              />
              <label htmlFor={`${id}-env`}>Environment variables to pass (names)</label>
              <input
                id={`${id}-env`}
                value={form.env}
                onChange={set("env")}
                placeholder="e.g. GITHUB_TOKEN"
                data-testid="mcp-env"
              />
            </>
          ) : (
            <>
              <label htmlFor={`${id}-url`}>URL</label>
              <input
                id={`${id}-url`}
                type="url"
                required
                value={form.url}
                onChange={set("url")}
                data-testid="mcp-url"
              />
              <label htmlFor={`${id}-headers`}>Headers, one per line: Header-Name=ENV_NAME</label>
              <textarea
                id={`${id}-headers`}
                rows={2}
                value={form.headers}
                onChange={set("headers")}
                data-testid="mcp-headers"
              />
            </>
          )}
          <button
            type="submit"
            className="primary"
            disabled={busy || !form.name.trim()}
            data-testid="mcp-add"
          >
            Add MCP server
          </button>
        </form>
      )}
    </ListSection>
  );
}
