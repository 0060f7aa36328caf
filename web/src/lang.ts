// A tokenizer for tollgate's policy language (grammar/policy.pest).
import { StreamLanguage, StringStream } from "@codemirror/language";

export const KEYWORDS = new Set(
  ("access actions after all allow and asc assert by count credits debts default denied deny desc " +
    "effect enum even except expire false field for forbidden from grants if implies in is let lock " +
    "may message never not of on only optional or others otherwise permit permitted policy role " +
    "settle shortfall some spend state step steps sum to true warn when where with").split(" "),
);

export const tollgate = StreamLanguage.define<null>({
  name: "tollgate",
  token(stream: StringStream): string | null {
    if (stream.eatSpace()) return null;
    if (stream.match("///")) { stream.skipToEnd(); return "docComment"; }
    if (stream.match("//")) { stream.skipToEnd(); return "lineComment"; }
    if (stream.match(/^"(?:[^"\\]|\\.)*"?/)) return "string";
    // Durations (7d, 1mo, 12h, 30s, 1y) before plain numbers.
    if (stream.match(/^\d+(?:\.\d+)?(?:mo|[smhdy])\b/)) return "unit";
    if (stream.match(/^\d+(?:\.\d+)?/)) return "number";
    const word = stream.match(/^[A-Za-z_][A-Za-z0-9_]*/) as RegExpMatchArray | null;
    if (word) return KEYWORDS.has(word[0]) ? "keyword" : "variableName";
    if (stream.match(/^[-+*\/<>=!]+/)) return "operator";
    stream.next();
    return "punctuation";
  },
  languageData: { commentTokens: { line: "//" } },
});
