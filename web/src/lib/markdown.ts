import { Marked } from "marked";
import { escapeHtml, highlight } from "./highlight";

const SAFE_URL = /^(https?:|mailto:|#|\/(?!\/))/i;

// Agent output is untrusted: raw HTML is shown as text and links keep only safe schemes, so a
// reply can never run script in the page.
const marked = new Marked({
  gfm: true,
  breaks: false,
  renderer: {
    html({ text }) {
      return escapeHtml(text);
    },
    code({ text, lang }) {
      const language = (lang ?? "").split(/\s/)[0] ?? "";
      const label = language ? ` data-lang="${escapeHtml(language)}"` : "";
      return `<pre class="code"${label}><code>${highlight(text, language)}</code></pre>\n`;
    },
    link({ href, tokens, raw }) {
      const text = this.parser.parseInline(tokens);
      if (!SAFE_URL.test(href)) return text;
      // A bare `name@1.2.3` (a package, a git remote) is not an email: only a written link is.
      if (/^mailto:/i.test(href) && !/^[[<]/.test(raw)) return text;
      return `<a href="${escapeHtml(href)}" target="_blank" rel="noopener noreferrer">${text}</a>`;
    },
    image({ href, text }) {
      // Shown as a link: loading any image a reply names would let it call out from the page.
      if (!SAFE_URL.test(href)) return escapeHtml(text);
      return `<a href="${escapeHtml(href)}" target="_blank" rel="noopener noreferrer">${escapeHtml(text || href)}</a>`;
    },
  },
});

export function renderMarkdown(source: string): string {
  return marked.parse(source, { async: false });
}
