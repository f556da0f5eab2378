ALTER TABLE `tasks` ADD `runtime` text DEFAULT 'claude-code' NOT NULL;--> statement-breakpoint
ALTER TABLE `user_settings` ADD `default_runtime` text;