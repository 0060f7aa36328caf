// Mutation check for the grammar tests: every scope the grammar can give
// must be asserted by the annotated samples (test/*.test.policy). For each
// scope in syntaxes/tollgate.tmLanguage.json, the grammar is rewritten with
// that one scope renamed, and the samples must then fail. A scope whose
// renaming no sample notices is a token class the tests do not cover.
//
//   node test/scope-coverage.mjs
import { readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const { createRegistryFromGrammars } = require("vscode-tmgrammar-test/dist/common/index.js");
const { parseGrammarTestCase, runGrammarTestCase } = require("vscode-tmgrammar-test/dist/unit/index.js");

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const grammarPath = join(root, "syntaxes", "tollgate.tmLanguage.json");
const grammarText = readFileSync(grammarPath, "utf8");
const testDir = join(root, "test");
const cases = readdirSync(testDir)
  .filter((f) => f.endsWith(".test.policy"))
  .map((f) => parseGrammarTestCase(readFileSync(join(testDir, f), "utf8")));
if (cases.length === 0) {
  console.error("no test/*.test.policy samples");
  process.exit(1);
}

// Every scope name the grammar can emit (a `name` or `contentName`, one per
// space-separated part).
const scopes = new Set();
(function walk(node) {
  if (Array.isArray(node)) return node.forEach(walk);
  if (node && typeof node === "object") {
    for (const [key, value] of Object.entries(node)) {
      if ((key === "name" || key === "contentName") && typeof value === "string" && value.endsWith(".tollgate")) {
        for (const s of value.split(/\s+/)) scopes.add(s);
      }
      walk(value);
    }
  }
})(JSON.parse(grammarText));

async function failures(text) {
  const registry = createRegistryFromGrammars([
    { grammar: { path: grammarPath, scopeName: "source.tollgate" }, content: text },
  ]);
  let count = 0;
  for (const tc of cases) count += (await runGrammarTestCase(registry, tc)).length;
  return count;
}

const baseline = await failures(grammarText);
if (baseline !== 0) {
  console.error(`the samples fail on the grammar as it is (${baseline} failures): run npm run test:grammar`);
  process.exit(1);
}

const uncovered = [];
for (const scope of [...scopes].sort()) {
  // Rename the scope wherever it stands as a whole name part.
  const quoted = JSON.stringify(scope).slice(1, -1).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const mutated = grammarText.replace(new RegExp(`(?<=[" ])${quoted}(?=[" ])`, "g"), `mutated-${scope}`);
  if (mutated === grammarText) throw new Error(`could not rename ${scope}`);
  if ((await failures(mutated)) === 0) uncovered.push(scope);
}

if (uncovered.length) {
  console.error(`${uncovered.length} of ${scopes.size} scopes are asserted by no sample; renaming them broke nothing:`);
  for (const s of uncovered) console.error(`  ${s}`);
  process.exit(1);
}
console.log(`scope coverage: all ${scopes.size} scopes of the grammar are asserted by test/*.test.policy (each renamed in turn made the samples fail)`);
