import { AccountAudit } from "./AccountAudit";
import { DefaultAgentSection } from "./DefaultAgentSection";
import { NotificationsSection } from "./NotificationsSection";
import { McpServersSection } from "./McpServersSection";
import { PresetsSection } from "./PresetsSection";
import { RuntimeSettingsSection } from "./RuntimeSettingsSection";
import { SkillsSection } from "./SkillsSection";

/**
 * What follows the user to every device (runtime settings with the default permission mode,
 * skills, MCP servers) and their saved prompts (presets).
 */
export function SettingsPage() {
  return (
    <main className="page settings" aria-labelledby="settings-title">
      <h1 id="settings-title">Settings</h1>
      <p className="muted">
        Skills, MCP servers and runtime settings reach every one of your devices — in a folder of
        the executor's own, next to (never over) what you set up by hand. A device that is offline
        catches up when it comes back; the Devices page shows whether each one is in sync.
      </p>
      <NotificationsSection />
      <RuntimeSettingsSection />
      <DefaultAgentSection />
      <SkillsSection />
      <McpServersSection />
      <PresetsSection />
      <AccountAudit />
    </main>
  );
}
