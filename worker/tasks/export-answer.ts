import { type AnswerBlock, answerVerdict } from "@wegent/protocol";

// An answered request in the Markdown export: what was asked, what was chosen, by whom, when.

const inline = (text: string) => `\`${text.replace(/`/g, "'")}\``;

export function answerMarkdown(block: AnswerBlock): string {
  const who = block.by ? `by ${block.by}` : "nobody answered";
  const lines = [
    `**${answerVerdict(block)}** · ${block.tool} ${inline(block.subject)} · ${who} · ${block.at}`,
  ];
  for (const [question, answer] of Object.entries(block.answers ?? {})) {
    lines.push(`- ${question.replace(/\n/g, " ")} → ${answer.replace(/\n/g, " ")}`);
  }
  if (block.note) lines.push(`> ${block.note.replace(/\n/g, "\n> ")}`);
  return lines.join("\n");
}
