// Hostile skill zips against the real platform: every one refused with a 4xx, nothing stored,
// and a skill's device download never opens without its own token (nor another user's skill).
import { MAX_SKILL_ZIP_BYTES } from "@wegent/protocol";
import { api } from "../../e2e/harness";
import { makeZip, skillMd } from "../../worker/test/zip-writer";
import { expectThat, type Scenario } from "./context";

export const hostileSkills: Scenario = {
  name: "hostile skill zips refused, downloads need their own token",
  async run(ctx) {
    const origin = ctx.platform.origin;
    const user = await ctx.newUser();
    const cookie = user.session.cookie;
    const upload = async (body: Uint8Array) => {
      const res = await fetch(`${origin}/api/skills`, {
        method: "POST",
        headers: { Cookie: cookie, "Content-Type": "application/zip", Origin: origin },
        body: Buffer.from(body),
      });
      return { status: res.status, body: (await res.json()) as { error?: { code: string } } };
    };
    const md = { path: "SKILL.md", data: skillMd("evil", "Looks harmless.") };
    const attacks: [string, Uint8Array, string][] = [
      [
        "climbs out with ..",
        await makeZip([md, { path: "../../.ssh/authorized_keys", data: "k" }]),
        "zip_path",
      ],
      ["absolute path", await makeZip([md, { path: "/etc/cron.d/x", data: "x" }]), "zip_path"],
      [
        "symlink to a secret",
        await makeZip([md, { path: "key", data: "/root/.ssh/id_rsa", mode: 0o120777 }]),
        "zip_link",
      ],
      [
        "lying size (bomb)",
        await makeZip([md, { path: "b", data: "z".repeat(100_000), deflate: true, lieSize: 100 }]),
        "zip_bomb",
      ],
      [
        "4 MiB unpacked cap",
        await makeZip([md, { path: "b", data: "z".repeat(4 * 1024 * 1024 + 1), deflate: true }]),
        "too_large",
      ],
      ["over 1 MiB", new Uint8Array(MAX_SKILL_ZIP_BYTES + 1), "too_large"],
      ["not a zip", new TextEncoder().encode("PK but not really"), "bad_zip"],
    ];
    const wrong: string[] = [];
    for (const [what, zip, code] of attacks) {
      const res = await upload(zip);
      if (res.status < 400 || res.status >= 500 || res.body.error?.code !== code) {
        wrong.push(`${what}: ${res.status} ${res.body.error?.code ?? "no error"}`);
      }
    }
    expectThat(wrong.length === 0, `accepted or mis-answered: ${wrong.join("; ")}`);
    const list = await api<{ skills: unknown[] }>(origin, "GET", "/api/skills", { cookie });
    expectThat(list.body.skills.length === 0, `${list.body.skills.length} skills stored`);

    const ok = await upload(await makeZip([{ path: "SKILL.md", data: skillMd("fine", "Fine.") }]));
    expectThat(ok.status === 201, `a valid skill answered ${ok.status}`);
    const id = (ok.body as unknown as { skill: { id: string } }).skill.id;
    const other = await ctx.newUser();
    const probes = [
      await api(origin, "GET", `/api/skills/${id}/bundle`),
      await api(origin, "GET", `/api/skills/${id}/bundle`, { token: other.token }),
      await api(origin, "GET", `/api/skills/${id}/bundle`, {
        token: `9999999999.${"f".repeat(64)}`,
      }),
      await api(origin, "PATCH", `/api/skills/${id}`, {
        cookie: other.session.cookie,
        body: { enabled: false },
      }),
    ];
    const statuses = probes.map((p) => p.status);
    expectThat(
      statuses.join(",") === "403,403,403,404",
      `download/patch without the right token or owner answered ${statuses.join(",")}`,
    );
    return `${attacks.length} hostile zips refused (4xx), nothing stored; downloads without the token 403, other user 404`;
  },
};
