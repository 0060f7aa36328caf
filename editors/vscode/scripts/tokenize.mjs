// Tokenizes a policy with the extension's TextMate grammar, as VS Code does
// (vscode-textmate and the Oniguruma WebAssembly build).
//
//   node scripts/tokenize.mjs FILE.policy   # one line per token: text, then scopes
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import vsctm from "vscode-textmate";
import oniguruma from "vscode-oniguruma";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

export async function loadGrammar() {
  const wasm = readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm"));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scopeName) => {
      if (scopeName !== "source.tollgate") return null;
      const file = join(here, "..", "syntaxes", "tollgate.tmLanguage.json");
      return vsctm.parseRawGrammar(readFileSync(file, "utf8"), file);
    },
  });
  return registry.loadGrammar("source.tollgate");
}

/** Lines of `{ text, scopes }` tokens. */
export async function tokenize(source) {
  const grammar = await loadGrammar();
  let state = vsctm.INITIAL;
  const lines = [];
  for (const line of source.split(/\r?\n/)) {
    const result = grammar.tokenizeLine(line, state);
    lines.push(
      result.tokens.map((t) => ({ text: line.slice(t.startIndex, t.endIndex), scopes: t.scopes })),
    );
    state = result.ruleStack;
  }
  return lines;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const file = process.argv[2];
  if (!file) {
    console.error("usage: node scripts/tokenize.mjs FILE.policy");
    process.exit(2);
  }
  const lines = await tokenize(readFileSync(file, "utf8"));
  lines.forEach((tokens, i) => {
    for (const t of tokens) {
      if (!t.text.trim()) continue;
      console.log(`${i + 1}\t${JSON.stringify(t.text)}\t${t.scopes.slice(1).join(" ")}`);
    }
  });
}
