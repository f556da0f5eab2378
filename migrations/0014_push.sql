CREATE TABLE `push_preferences` (
	`user_id` text PRIMARY KEY NOT NULL,
	`needs_input` integer NOT NULL,
	`finished` integer NOT NULL,
	`failed` integer NOT NULL,
	`device_offline` integer NOT NULL,
	`updated_at` text NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `push_sends` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`owner_id` text NOT NULL,
	`event_key` text NOT NULL,
	`task_id` text NOT NULL,
	`subscription_id` text NOT NULL,
	`status` integer NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	FOREIGN KEY (`owner_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `push_sends_event` ON `push_sends` (`owner_id`,`event_key`,`subscription_id`);--> statement-breakpoint
CREATE INDEX `push_sends_task` ON `push_sends` (`owner_id`,`task_id`);--> statement-breakpoint
CREATE TABLE `push_subscriptions` (
	`id` text PRIMARY KEY NOT NULL,
	`owner_id` text NOT NULL,
	`endpoint` text NOT NULL,
	`p256dh` text NOT NULL,
	`auth` text NOT NULL,
	`label` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`last_sent_at` text,
	`last_status` integer,
	`retry_after` text,
	FOREIGN KEY (`owner_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `push_subscriptions_owner_endpoint` ON `push_subscriptions` (`owner_id`,`endpoint`);--> statement-breakpoint
CREATE TABLE `task_seen` (
	`owner_id` text NOT NULL,
	`task_id` text NOT NULL,
	`seen_at` text NOT NULL,
	PRIMARY KEY(`owner_id`, `task_id`),
	FOREIGN KEY (`owner_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`task_id`) REFERENCES `tasks`(`id`) ON UPDATE no action ON DELETE cascade
);
