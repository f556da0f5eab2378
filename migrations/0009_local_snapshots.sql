ALTER TABLE `devices` ADD `cloud_backup` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `task_workspaces` ADD `snapshot_at` text;