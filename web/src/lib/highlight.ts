// A deliberately tiny highlighter: strings, comments, numbers and common keywords of the
// languages an agent usually writes. A real grammar library would cost more JavaScript than
// the whole UI, and code stays readable without perfect colours.

const KEYWORDS = new Set(
  (
    "const let var function return if else for while do switch case break continue new class " +
    "extends import from export default async await try catch finally throw typeof instanceof " +
    "interface type enum implements public private protected static readonly def lambda pass " +
    "yield with as in is not and or None True False null undefined true false self this fn " +
    "pub mut impl struct use mod match loop package func go defer select chan map echo then fi " +
    "done local"
  ).split(" "),
);

const TOKEN =
  /(\/\/[^\n]*|#[^\n]*|\/\*[\s\S]*?\*\/)|("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`)|(\b\d[\d_.]*(?:e[+-]?\d+)?\b)|([A-Za-z_$][\w$]*)/g;

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/** Returns escaped HTML of `code` with `<span class="hl-…">` around the tokens it knows. */
export function highlight(code: string, lang: string): string {
  // `#` starts a comment only in shell-like and Python-like languages.
  const hashComments = /^(sh|bash|shell|zsh|py|python|rb|ruby|yaml|yml|toml|)$/i.test(lang);
  let out = "";
  let last = 0;
  for (const match of code.matchAll(TOKEN)) {
    const [text, comment, str, num, word] = match;
    const index = match.index;
    let cls: string | null = null;
    if (comment !== undefined) cls = comment.startsWith("#") && !hashComments ? null : "comment";
    else if (str !== undefined) cls = "string";
    else if (num !== undefined) cls = "number";
    else if (word !== undefined && KEYWORDS.has(word)) cls = "keyword";
    if (cls === null) continue;
    out += escapeHtml(code.slice(last, index));
    out += `<span class="hl-${cls}">${escapeHtml(text)}</span>`;
    last = index + text.length;
  }
  return out + escapeHtml(code.slice(last));
}
