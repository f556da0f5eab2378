ALTER TABLE `devices` ADD `projects` text DEFAULT '[]' NOT NULL;--> statement-breakpoint
ALTER TABLE `tasks` ADD `project_id` text;--> statement-breakpoint
ALTER TABLE `tasks` ADD `project_name` text;--> statement-breakpoint
ALTER TABLE `tasks` ADD `branch` text;