CREATE TABLE `account_audit` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`owner_id` text NOT NULL,
	`via` text NOT NULL,
	`via_id` text NOT NULL,
	`action` text NOT NULL,
	`target` text,
	`detail` text,
	`outcome` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	FOREIGN KEY (`owner_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `account_audit_owner` ON `account_audit` (`owner_id`,`id`);--> statement-breakpoint
ALTER TABLE `devices` ADD `capabilities_policy` text;