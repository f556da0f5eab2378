CREATE TABLE `command_audit` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`owner_id` text NOT NULL,
	`device_id` text NOT NULL,
	`user_id` text NOT NULL,
	`key` text NOT NULL,
	`task_id` text,
	`args_digest` text NOT NULL,
	`outcome` text NOT NULL,
	`exit_code` integer,
	`duration_ms` integer,
	`bytes` integer,
	`expires_at` integer NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	FOREIGN KEY (`owner_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `command_audit_device` ON `command_audit` (`owner_id`,`device_id`,`id`);--> statement-breakpoint
ALTER TABLE `devices` ADD `commands` text;