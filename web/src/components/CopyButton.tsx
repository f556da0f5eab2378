import { useState } from "react";

export function CopyButton(props: { text: string; label?: string; testId?: string }) {
  const [copied, setCopied] = useState<"idle" | "done" | "failed">("idle");
  async function copy() {
    try {
      await navigator.clipboard.writeText(props.text);
      setCopied("done");
    } catch {
      // Clipboard access needs a secure context; the text stays selectable by hand.
      setCopied("failed");
    }
  }
  const label = props.label ?? "Copy";
  return (
    <button type="button" onClick={copy} data-testid={props.testId} aria-live="polite">
      {copied === "done" ? "Copied" : copied === "failed" ? "Select and copy" : label}
    </button>
  );
}
