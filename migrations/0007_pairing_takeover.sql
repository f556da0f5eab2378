ALTER TABLE `api_tokens` ADD `exchanged_at` text;--> statement-breakpoint
ALTER TABLE `pairings` ADD `version` text;--> statement-breakpoint
ALTER TABLE `pairings` ADD `request_address` text;--> statement-breakpoint
ALTER TABLE `pairings` ADD `replace_device` integer DEFAULT false NOT NULL;