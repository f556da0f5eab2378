import { Hono } from "hono";
import { and, asc, count, eq } from "drizzle-orm";
import { z } from "zod";
import {
  CreateMcpServer,
  MAX_MCP_SERVERS,
  type McpServer,
  type McpServerBody,
  McpServerDefinition,
  type McpServersBody,
  SetEnabled,
} from "@wegent/protocol";
import { database, schema } from "../../edge/db";
import { type AppEnv, requireUser } from "../auth/identity";
import { ApiError } from "../lib/errors";
import { ownRow } from "../lib/own-row";
import { nowIso } from "../../edge/time";
import { readBody, readParams } from "../lib/validate";
import { capabilitiesChanged } from "../capabilities/push";
import { auditNote, personOnly } from "../auth/person";

type McpRow = typeof schema.mcpServers.$inferSelect;

function toMcpServer(row: McpRow): McpServer {
  const definition = McpServerDefinition.parse(row.definition);
  return {
    id: row.id,
    name: row.name,
    enabled: row.enabled,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    ...definition,
  };
}

const McpPath = z.object({ id: z.string().uuid("MCP server id must be a UUID") });

export const mcpServerRoutes = new Hono<AppEnv>();
mcpServerRoutes.use("*", requireUser());

mcpServerRoutes.get("/", async (c) => {
  const rows = await database(c.env.DB)
    .select()
    .from(schema.mcpServers)
    .where(eq(schema.mcpServers.ownerId, c.get("user").id))
    .orderBy(asc(schema.mcpServers.name))
    .all();
  return c.json({ mcpServers: rows.map(toMcpServer) } satisfies McpServersBody);
});

/** What the audit keeps of a definition: no argument or URL path/query (they may hold secrets). */
function describeDefinition(definition: McpServerDefinition): string {
  if (definition.transport === "stdio") {
    const env = definition.env.length > 0 ? `; env ${definition.env.join(", ")}` : "";
    return `stdio ${definition.command.slice(0, 200)} (${definition.args.length} args${env})`;
  }
  const headers = definition.headers.map((h) => `${h.name} from ${h.env}`).join(", ");
  return `http ${new URL(definition.url).origin}${headers ? ` (headers ${headers})` : ""}`;
}

// Defining, switching or removing one is a person's act (it runs code on every device).
mcpServerRoutes.post("/", personOnly("mcp_server.create"), async (c) => {
  const body = await readBody(c, CreateMcpServer);
  const user = c.get("user");
  const db = database(c.env.DB);
  const [total] = await db
    .select({ n: count() })
    .from(schema.mcpServers)
    .where(eq(schema.mcpServers.ownerId, user.id))
    .all();
  if ((total?.n ?? 0) >= MAX_MCP_SERVERS) {
    throw new ApiError(
      409,
      "too_many_mcp_servers",
      `You can keep at most ${MAX_MCP_SERVERS} MCP servers.`,
    );
  }
  const taken = await db
    .select({ id: schema.mcpServers.id })
    .from(schema.mcpServers)
    .where(and(eq(schema.mcpServers.ownerId, user.id), eq(schema.mcpServers.name, body.name)))
    .get();
  if (taken)
    throw new ApiError(409, "name_taken", `You already have an MCP server named ${body.name}.`);
  const { name, enabled, ...rest } = body;
  const definition = McpServerDefinition.parse(rest);
  auditNote(c, name, describeDefinition(definition));
  const id = crypto.randomUUID();
  await db
    .insert(schema.mcpServers)
    .values({ id, ownerId: user.id, name, enabled, definition, updatedAt: nowIso() })
    .run();
  await capabilitiesChanged(c.env, user.id);
  const row = await ownServer(c.env, user.id, id);
  return c.json({ mcpServer: toMcpServer(row) } satisfies McpServerBody, 201);
});

function ownServer(env: AppEnv["Bindings"], ownerId: string, id: string) {
  return ownRow(env.DB, "MCP server", schema.mcpServers, {
    key: schema.mcpServers.id,
    id,
    owner: schema.mcpServers.ownerId,
    ownerId,
  });
}

mcpServerRoutes.patch("/:id", personOnly("mcp_server.update"), async (c) => {
  const { id } = readParams(c, McpPath);
  const { enabled } = await readBody(c, SetEnabled);
  const user = c.get("user");
  auditNote(c, id, `enabled ${enabled}`);
  const before = await ownServer(c.env, user.id, id);
  auditNote(c, before.name, `enabled ${enabled}`);
  await database(c.env.DB)
    .update(schema.mcpServers)
    .set({ enabled, updatedAt: nowIso() })
    .where(and(eq(schema.mcpServers.id, id), eq(schema.mcpServers.ownerId, user.id)))
    .run();
  await capabilitiesChanged(c.env, user.id);
  return c.json({
    mcpServer: toMcpServer(await ownServer(c.env, user.id, id)),
  } satisfies McpServerBody);
});

mcpServerRoutes.delete("/:id", personOnly("mcp_server.delete"), async (c) => {
  const { id } = readParams(c, McpPath);
  const user = c.get("user");
  auditNote(c, id);
  auditNote(c, (await ownServer(c.env, user.id, id)).name);
  await database(c.env.DB)
    .delete(schema.mcpServers)
    .where(and(eq(schema.mcpServers.id, id), eq(schema.mcpServers.ownerId, user.id)))
    .run();
  await capabilitiesChanged(c.env, user.id);
  return c.json({ ok: true });
});
