// The language configuration's patterns, compiled as VS Code compiles them
// (JavaScript regular expressions), on lines of the shipped policies.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

const config = JSON.parse(readFileSync(new URL("../language-configuration.json", import.meta.url), "utf8"));
const increase = new RegExp(config.indentationRules.increaseIndentPattern);
const decrease = new RegExp(config.indentationRules.decreaseIndentPattern);
const word = new RegExp(`^(?:${config.wordPattern})$`);

test("comments are //, brackets are {} [] ()", () => {
  assert.equal(config.comments.lineComment, "//");
  assert.equal(config.comments.blockComment, undefined, "the language has no block comments");
  assert.deepEqual(config.brackets, [["{", "}"], ["[", "]"], ["(", ")"]]);
});

test("auto-closing and surrounding pairs include the double quote", () => {
  const auto = config.autoClosingPairs.map((p) => p.open + p.close);
  for (const pair of ["{}", "[]", "()", '""']) assert.ok(auto.includes(pair), pair);
  const quote = config.autoClosingPairs.find((p) => p.open === '"');
  assert.deepEqual(quote.notIn, ["string", "comment"]);
  const surround = config.surroundingPairs.map((p) => p.join(""));
  for (const pair of ["{}", "[]", "()", '""']) assert.ok(surround.includes(pair), pair);
});

test("a line ending in { indents the next", () => {
  for (const line of [
    "on billable {",
    "  deny debt_outstanding when debt > 0 {",
    "    steps for billing access {",
    "lock purchased when subscription.status in [ended, canceled] {",
    "on forbidden { // why",
    "  {",
  ]) {
    assert.ok(increase.test(line), line);
  }
});

test("braces inside a message, a comment or a closed block do not indent", () => {
  for (const line of [
    '    message "Only {usable} credits left."',
    '    message "literal {{"',
    "// on billable {",
    "  /// see `on all {`",
    "  deny x when debt > 0 { message \"x\" }",
    "}",
    "state ok otherwise",
  ]) {
    assert.ok(!increase.test(line), line);
  }
});

test("a line starting with } outdents", () => {
  assert.ok(decrease.test("}"));
  assert.ok(decrease.test("    }"));
  assert.ok(!decrease.test("  buy_credits"));
  assert.ok(!decrease.test('  message "}"'));
});

test("the word pattern takes whole names, numbers and durations", () => {
  for (const w of ["low_balance_threshold", "_private", "debt2", "12", "1_000", "0.5", "7d", "3mo", "1y"]) {
    assert.ok(word.test(w), w);
  }
  for (const w of ["subscription.status", "a-b", "??", "1_", "{usable}"]) {
    assert.ok(!word.test(w), w);
  }
});

test("every line of the shipped policies that opens a block ends in {, and only those indent", () => {
  const policy = readFileSync(new URL("../../../policies/ampere.policy", import.meta.url), "utf8");
  const lines = policy.split("\n");
  let depth = 0;
  for (const [i, line] of lines.entries()) {
    const code = line.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\/\/.*$/, "");
    const opens = (code.match(/\{/g) ?? []).length;
    const closes = (code.match(/\}/g) ?? []).length;
    if (decrease.test(line)) assert.ok(closes > 0, `line ${i + 1}`);
    assert.equal(increase.test(line), opens > closes, `line ${i + 1}: ${line}`);
    depth += opens - closes;
  }
  assert.equal(depth, 0);
});
