CREATE TABLE `task_workspaces` (
	`task_id` text PRIMARY KEY NOT NULL,
	`owner_id` text NOT NULL,
	`device_owner_id` text,
	`device_id` text,
	`on_device` integer DEFAULT true NOT NULL,
	`archive_key` text,
	`archive_size` integer,
	`archive_sha256` text,
	`archive_files` integer,
	`archived_at` text,
	`archived_from` text,
	`archive_error` text,
	`updated_at` text NOT NULL,
	FOREIGN KEY (`task_id`) REFERENCES `tasks`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`owner_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `task_workspaces_owner` ON `task_workspaces` (`owner_id`);