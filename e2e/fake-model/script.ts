// What a test scripts the fake model to answer: turns of content blocks (or an error), rules
// matching the latest prompt, and the helpers that build blocks.
import type { RecordedRequest } from "./recorded.ts";

/** One content block of a scripted model turn. Text and thinking arrive in the given deltas. */
export type FakeBlock =
  | { type: "text"; deltas: string[] }
  | { type: "thinking"; deltas: string[] }
  | { type: "tool_use"; name: string; input: Record<string, unknown>; id?: string };

export interface FakeUsage {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens?: number;
  cache_creation_input_tokens?: number;
}

/** One answer of the model to one request. */
export type FakeTurn =
  | {
      blocks: FakeBlock[];
      /** Pause before each streamed event (slow model, for cancel-mid-stream tests). */
      delayMs?: number;
      /**
       * Stream at a steady rate instead: event n is sent `n × paceMs` after the first, whatever
       * the timers' slack (a model producing 1000 / paceMs events per second).
       */
      paceMs?: number;
      /**
       * A stream that goes silent: after this many events nothing more is sent, and the
       * connection stays open until the client goes away (a hung model, for watchdog tests).
       */
      silentAfter?: number;
      usage?: FakeUsage;
    }
  | { error: { status: number; type: string; message: string } };

export interface FakeRule {
  /** Matched against the text of the latest user prompt (not tool results). */
  match: string | RegExp;
  /** turns[n] answers the n-th request made for that prompt (after n assistant messages). */
  turns: FakeTurn[];
}

export interface FakeModel {
  /** Base URL for ANTHROPIC_BASE_URL, e.g. http://127.0.0.1:40123 */
  readonly url: string;
  /** Every request received, in order. */
  readonly requests: RecordedRequest[];
  /** Adds a rule; earlier rules win when several match. */
  on(match: string | RegExp, turns: FakeTurn[]): void;
  /** Forgets all rules and recorded requests. */
  reset(): void;
  close(): Promise<void>;
}

/** In a scripted text delta, replaced by the text of the latest tool result Claude Code sent. */
export const TOOL_RESULT = "{{tool_result}}";
/** In a scripted turn, replaced by the plan file Claude Code named in plan mode's reminder. */
export const PLAN_FILE = "{{plan_file}}";

/** Scripting helpers: `text("Hel", "lo")` streams "Hello" in two deltas. */
export const text = (...deltas: string[]): FakeBlock => ({ type: "text", deltas });
export const thinking = (...deltas: string[]): FakeBlock => ({ type: "thinking", deltas });
export const toolUse = (name: string, input: Record<string, unknown>, id?: string): FakeBlock =>
  id === undefined ? { type: "tool_use", name, input } : { type: "tool_use", name, input, id };

/** The answer when no rule matches. */
export const DEFAULT_TURN: FakeTurn = { blocks: [text("OK.")] };
