CREATE TABLE `device_credentials` (
	`id` text PRIMARY KEY NOT NULL,
	`owner_id` text NOT NULL,
	`device_id` text NOT NULL,
	`device_type` text NOT NULL,
	`family_id` text NOT NULL,
	`generation` integer NOT NULL,
	`secret_hash` text NOT NULL,
	`state` text NOT NULL,
	`source_token_id` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	FOREIGN KEY (`owner_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `device_credentials_device` ON `device_credentials` (`owner_id`,`device_id`);--> statement-breakpoint
CREATE INDEX `device_credentials_family` ON `device_credentials` (`family_id`,`state`);--> statement-breakpoint
CREATE INDEX `device_credentials_token` ON `device_credentials` (`source_token_id`);--> statement-breakpoint
CREATE TABLE `pairings` (
	`id` text PRIMARY KEY NOT NULL,
	`code` text NOT NULL,
	`poll_secret_hash` text NOT NULL,
	`device_id` text NOT NULL,
	`name` text NOT NULL,
	`platform` text NOT NULL,
	`device_type` text NOT NULL,
	`expires_at` integer NOT NULL,
	`approved_by` text,
	`approved_at` text,
	`consumed_at` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	FOREIGN KEY (`approved_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `pairings_code_unique` ON `pairings` (`code`);--> statement-breakpoint
ALTER TABLE `api_tokens` ADD `bound_device_id` text;--> statement-breakpoint
ALTER TABLE `devices` ADD `security_event` text;