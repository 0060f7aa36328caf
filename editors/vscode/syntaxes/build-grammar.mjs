// Writes syntaxes/tollgate.tmLanguage.json, the TextMate grammar of the
// policy language, from the word lists below.
//
//   node syntaxes/build-grammar.mjs           # write the JSON
//   node syntaxes/build-grammar.mjs --check   # fail if the JSON is stale, or
//                                             # if grammar/policy.pest has a
//                                             # keyword this file does not place
//
// The lists are checked against `grammar/policy.pest` (the parser's own
// grammar): a keyword added to the language and not given a scope here
// fails the check, so the highlighting cannot silently fall behind.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "tollgate.tmLanguage.json");
const pest = join(here, "..", "..", "..", "grammar", "policy.pest");

// ───────────────────────── Words, by what they do ─────────────────────────

/** Keywords that start a declaration at the start of a line. */
const DECLARATIONS = [
  "policy", "role", "actions", "credits", "debts", "enum", "field", "permit", "lock",
  "spend", "settle", "let", "step", "state", "on", "shortfall", "expire", "assert",
];
/** Rule kinds inside `on` blocks; each declares the rule's code. */
const RULES = ["deny", "warn", "effect"];
/** `on forbidden`: the block for requests a role may not make. */
const FORBIDDEN = ["forbidden"];
const CONDITIONALS = ["when", "otherwise"];
const WORD_OPERATORS = ["and", "or", "not", "in"];
const BOOLEANS = ["true", "false"];
/** Every other keyword of `keyword` in the pest grammar. */
const OTHER_KEYWORDS = [
  "with", "access", "optional", "default", "to", "all", "except", "may", "by", "asc",
  "desc", "from", "steps", "message", "for", "others", "sum", "count", "of", "where",
  "grants", "is",
];
/** Keywords only where the language uses them (`kw_after` ... in the pest grammar). */
/** The words of an assertion's claim, keywords only there. */
const CLAIM_WORDS = ["never", "implies", "some", "allow", "permitted"];
const CONTEXT_WORDS = ["after", "only", "even", "if", "denied", ...CLAIM_WORDS];

/** The types a `field` may have besides an enum's name. */
const TYPES = ["decimal", "bool", "text", "time", "duration"];
/** Built-in quantities (docs/language.md, "Built-in quantities"). */
const QUANTITIES = ["usable", "locked", "expired", "debt", "settleable", "now", "account"];
/** The request, in the rules of `on` blocks for requests. */
const REQUEST = ["role", "action"];
/** Read only through a dot: `before.usable`, `charge.amount`, `grant.kind`, `refund.dispute`. */
const DOTTED_BUILTINS = ["before", "charge", "refund", "grant"];
/** Ledger operations, after `on` and `shortfall of`. */
const OPERATIONS = ["charge", "settle", "grant", "refund"];
/** What `shortfall ... is` may name besides a debt kind. */
const SHORTFALL_OUTCOMES = ["invoiced", "waived"];
/** Duration units, longest first (`mo` before `m`). */
const UNITS = ["mo", "y", "d", "h", "m", "s"];

const KEYWORDS = [
  ...DECLARATIONS, ...RULES, ...FORBIDDEN, ...CONDITIONALS, ...WORD_OPERATORS, ...BOOLEANS,
  ...OTHER_KEYWORDS,
];

// ───────────────────────── Regex pieces ─────────────────────────

const alt = (words) => `(?:${words.join("|")})`;
const word = (words) => `\\b${alt(words)}\\b`;
/** A name, never a keyword. */
const NAME = `(?!${alt(KEYWORDS)}\\b)[A-Za-z_][A-Za-z0-9_]*`;
/** Any word: after a dot, keywords are field names too (`settings.default`). */
const ANYWORD = "[A-Za-z_][A-Za-z0-9_]*";
const PATH = `${ANYWORD}(?:\\s*\\.\\s*${ANYWORD})*`;
const DIGITS = "(?>[0-9](?:[0-9]|_(?=[0-9]))*)";
/** A declaration keyword at the start of a line: where one item ends and the next begins. */
const NEXT_ITEM = `^\\s*${alt(DECLARATIONS)}\\b`;

const S = (name) => `${name}.tollgate`;

// ───────────────────────── Rules ─────────────────────────

/** A comma-separated list of the names a declaration introduces. */
function declaredList(keyword, headScope, itemScope) {
  const head = headScope
    ? `^\\s*(${keyword})\\b(?:\\s+(${NAME}))?\\s*(:)?`
    : `^\\s*(${keyword})\\b`;
  const beginCaptures = { 1: { name: S(`storage.type.${keyword}`) } };
  if (headScope) {
    beginCaptures[2] = { name: S(headScope) };
    beginCaptures[3] = { name: S("punctuation.separator.colon") };
  }
  return {
    name: S(`meta.declaration.${keyword}`),
    begin: head,
    beginCaptures,
    // The list ends with a name that no comma follows (the end takes that
    // name), at anything that cannot be in a list, or where the next item
    // starts.
    end: `\\b(${NAME})\\b(?!\\s*,)|(?=[^\\sA-Za-z0-9_,/])|(?=${NEXT_ITEM})`,
    endCaptures: { 1: { name: S(itemScope) } },
    patterns: [
      { include: "#comments" },
      { match: ",", name: S("punctuation.separator.comma") },
      { match: `\\b${NAME}\\b`, name: S(itemScope) },
      { include: "#keywords" },
    ],
  };
}

const grammar = {
  $schema: "https://raw.githubusercontent.com/martinring/tmlanguage/master/tmlanguage.json",
  name: "tollgate",
  scopeName: "source.tollgate",
  fileTypes: ["policy"],
  comment: "Generated by syntaxes/build-grammar.mjs from its word lists; edit that file, not this one.",
  patterns: [
    { include: "#comments" },
    { include: "#declarations" },
    { include: "#rules" },
    { include: "#effect-parameter" },
    { include: "#expression" },
  ],
  repository: {
    comments: {
      patterns: [
        {
          // `///` and `////...`: doc comments, kept for `decide --explain` and hover.
          match: "(///).*",
          name: S("comment.line.documentation"),
          captures: { 1: { name: S("punctuation.definition.comment") } },
        },
        {
          match: "(//).*",
          name: S("comment.line.double-slash"),
          captures: { 1: { name: S("punctuation.definition.comment") } },
        },
      ],
    },

    declarations: {
      patterns: [
        {
          match: `^\\s*(policy)\\b(?:\\s+(${NAME}))?`,
          captures: {
            1: { name: S("storage.type.policy") },
            2: { name: S("entity.name.namespace.policy") },
          },
        },
        {
          // `role owner with billing, reports access`
          match: `^\\s*(role)\\b(?:\\s+(${NAME}))?(?:\\s+(with)\\b((?:\\s*,?\\s*${NAME})*)\\s*(?:(access)\\b)?)?`,
          captures: {
            1: { name: S("storage.type.role") },
            2: { name: S("entity.name.type.role") },
            3: { name: S("keyword.other.with") },
            4: {
              patterns: [
                { match: ",", name: S("punctuation.separator.comma") },
                { match: `\\b${NAME}\\b`, name: S("entity.name.type.access") },
              ],
            },
            5: { name: S("keyword.other.access") },
          },
        },
        declaredList("actions", "entity.name.type.category", "entity.name.constant.action"),
        declaredList("credits", null, "entity.name.constant.credit-kind"),
        declaredList("debts", null, "entity.name.constant.debt-kind"),
        declaredList("enum", "entity.name.type.enum", "entity.name.constant.enum-member"),
        {
          // `field subscription.status: subscription_status default none`
          match: `^\\s*(field)\\b(?:\\s+(${PATH}))?(?:\\s*(:))?(?:\\s*(optional)\\b)?(?:\\s*(${NAME}))?`,
          captures: {
            1: { name: S("storage.type.field") },
            2: {
              name: S("meta.field-path"),
              patterns: [
                { match: "\\.", name: S("punctuation.accessor") },
                { match: ANYWORD, name: S("entity.name.variable.field") },
              ],
            },
            3: { name: S("punctuation.separator.colon") },
            4: { name: S("keyword.other.optional") },
            5: {
              patterns: [
                ...TYPES.map((t) => ({ match: `\\b${t}\\b`, name: S(`support.type.builtin.${t}`) })),
                { match: ANYWORD, name: S("entity.name.type.enum") },
              ],
            },
          },
        },
        {
          match: `^\\s*(let)\\b(?:\\s+(${NAME}))?(?:\\s*(=)(?!=))?`,
          captures: {
            1: { name: S("storage.type.let") },
            2: { name: S("entity.name.variable.let") },
            3: { name: S("keyword.operator.assignment") },
          },
        },
        {
          match: `^\\s*(state)\\b(?:\\s+(${NAME}))?`,
          captures: {
            1: { name: S("storage.type.state") },
            2: { name: S("entity.name.constant.state") },
          },
        },
        {
          // `step buy_credits "Select Buy credits ..."`, the text possibly on
          // the lines below, in adjacent strings.
          name: S("meta.declaration.step"),
          begin: `^\\s*(step)\\b(?:\\s+(${NAME}))?`,
          beginCaptures: {
            1: { name: S("storage.type.step") },
            2: { name: S("entity.name.function.step") },
          },
          end: `(?=[^\\s"])`,
          patterns: [{ include: "#template-string" }],
        },
        {
          // `on billable, billing {`, `on forbidden {`, `on charge {`
          name: S("meta.declaration.on"),
          begin: `^\\s*(on)\\b`,
          beginCaptures: { 1: { name: S("storage.type.on") } },
          end: `(?=[{/])|$`,
          patterns: [
            { match: `\\b(${OPERATIONS.join("|")})\\b`, name: S("support.constant.operation") },
            { include: "#keywords" },
            { match: ",", name: S("punctuation.separator.comma") },
            { match: `\\b${NAME}\\b`, name: S("variable.other.category") },
          ],
        },
        {
          // `shortfall of charge is invoiced when ...`
          match: `^\\s*(shortfall)\\b(?:\\s+(of)\\b)?(?:\\s+(${ANYWORD}))?(?:\\s+(is)\\b)?(?:\\s+(${NAME}))?`,
          captures: {
            1: { name: S("storage.type.shortfall") },
            2: { name: S("keyword.other.of") },
            3: {
              patterns: [
                { match: `\\b${alt(OPERATIONS)}\\b`, name: S("support.constant.operation") },
                { include: "#keywords" },
                { match: ANYWORD, name: S("variable.other") },
              ],
            },
            4: { name: S("keyword.other.is") },
            5: {
              patterns: [
                { match: `\\b${alt(SHORTFALL_OUTCOMES)}\\b`, name: S("support.constant.shortfall") },
                { match: ANYWORD, name: S("variable.other.debt-kind") },
              ],
            },
          },
        },
        {
          // `assert name for member on billable when debt > 0: deny debt_outstanding`,
          // going on over indented lines: it ends where a line starts in column 1.
          name: S("meta.declaration.assert"),
          begin: `^\\s*(assert)\\b(?:\\s+(${NAME}))?`,
          beginCaptures: {
            1: { name: S("storage.type.assert") },
            2: { name: S("entity.name.function.assertion") },
          },
          end: "^(?=\\S)",
          patterns: [
            { include: "#comments" },
            {
              match: `\\b(for|,)\\s*(${NAME})\\s+(access)\\b`,
              captures: {
                1: { patterns: [{ match: "for", name: S("keyword.other.for") }, { include: "#punctuation" }] },
                2: { name: S("entity.name.type.access") },
                3: { name: S("keyword.other.access") },
              },
            },
            {
              match: `\\b(state)\\s+(${NAME})`,
              captures: { 1: { name: S("keyword.other.state") }, 2: { name: S("entity.name.constant.state") } },
            },
            {
              match: `\\b(step)\\s+(${NAME})`,
              captures: { 1: { name: S("keyword.other.step") }, 2: { name: S("entity.name.function.step") } },
            },
            {
              // `steps only [ask_billing_admin, ask_owner]`
              begin: "\\b(steps)\\s+(only)\\s*(\\[)",
              beginCaptures: {
                1: { name: S("keyword.other.steps") },
                2: { name: S("keyword.other.only") },
                3: { name: S("punctuation.section.brackets.begin") },
              },
              end: "\\]",
              endCaptures: { 0: { name: S("punctuation.section.brackets.end") } },
              patterns: [
                { include: "#comments" },
                { match: ",", name: S("punctuation.separator.comma") },
                { match: `\\b${NAME}\\b`, name: S("entity.name.function.step") },
              ],
            },
            {
              match: `\\b(some)\\s+(step|warn|effect)\\b`,
              captures: { 1: { name: S("keyword.other.claim") }, 2: { patterns: [{ include: "#keywords" }] } },
            },
            { match: word(CLAIM_WORDS), name: S("keyword.other.claim") },
            { include: "#expression" },
          ],
        },
        {
          // `permit`, `lock`, `spend`, `settle`, `expire`: the rest of the
          // line is names and keywords.
          match: `^\\s*(permit|lock|spend|settle|expire)\\b`,
          captures: { 1: { patterns: ["permit", "lock", "spend", "settle", "expire"].map((k) => ({ match: k, name: S(`storage.type.${k}`) })) } },
        },
      ],
    },

    rules: {
      patterns: [
        {
          // `deny debt_outstanding when ...`, `warn low_balance`, `effect auto_recharge`
          match: `\\b(deny|warn|effect)\\b(?:\\s+(${NAME}))?`,
          captures: {
            1: { patterns: RULES.map((r) => ({ match: r, name: S(`keyword.control.rule.${r}`) })) },
            2: { name: S("entity.name.function.rule") },
          },
        },
        {
          // `warn ... even if denied`: keywords here only.
          match: "\\b(even)\\s+(if)\\s+(denied)\\b",
          captures: {
            1: { name: S("keyword.control.even-if-denied") },
            2: { name: S("keyword.control.even-if-denied") },
            3: { name: S("keyword.control.even-if-denied") },
          },
        },
        { include: "#message" },
        { include: "#steps" },
      ],
    },

    message: {
      // `message "..." "..."`: adjacent strings, possibly on the lines below.
      name: S("meta.message"),
      begin: "\\b(message)\\b",
      beginCaptures: { 1: { name: S("keyword.other.message") } },
      end: `(?=[^\\s"])`,
      patterns: [{ include: "#template-string" }],
    },

    steps: {
      // `steps for billing access { buy_credits  resolve_dispute when debt > 0 }`
      name: S("meta.steps"),
      begin: "\\b(steps)\\b",
      beginCaptures: { 1: { name: S("keyword.other.steps") } },
      end: "(?<=\\})",
      patterns: [
        { include: "#comments" },
        {
          name: S("meta.block.steps"),
          begin: "\\{",
          beginCaptures: { 0: { name: S("punctuation.section.block.begin") } },
          end: "\\}",
          endCaptures: { 0: { name: S("punctuation.section.block.end") } },
          patterns: [
            { include: "#comments" },
            {
              // A step's name: first on its line, or after `{` or `,`.
              match: `(?:^|(?<=[{,]))\\s*(${NAME})\\b(?!\\s*\\.)`,
              captures: { 1: { name: S("entity.name.function.step") } },
            },
            { include: "#expression" },
          ],
        },
        {
          match: `\\b(for)\\s+(others)\\b`,
          captures: { 1: { name: S("keyword.other.for") }, 2: { name: S("keyword.other.others") } },
        },
        {
          match: `\\b(for)\\s+(${NAME})\\s+(access)\\b`,
          captures: {
            1: { name: S("keyword.other.for") },
            2: { name: S("entity.name.type.access") },
            3: { name: S("keyword.other.access") },
          },
        },
        { include: "#keywords" },
      ],
    },

    "effect-parameter": {
      // `amount = auto_recharge.amount` in an `effect` block.
      match: `^\\s*(${NAME})\\s*(=)(?!=)`,
      captures: {
        1: { name: S("variable.parameter.effect") },
        2: { name: S("keyword.operator.assignment") },
      },
    },

    expression: {
      patterns: [
        { include: "#comments" },
        { include: "#rules" },
        { include: "#string" },
        { include: "#numbers" },
        { include: "#aggregate" },
        {
          // `settle { refund_dispute from usable only purchased }`
          match: `\\b(only)\\b(?=\\s+${NAME})`,
          name: S("keyword.other.only"),
        },
        {
          // `expire purchased after 1y`
          match: "\\b(after)\\b(?=\\s*[0-9])",
          name: S("keyword.other.after"),
        },
        { include: "#builtins" },
        { include: "#paths" },
        { include: "#keywords" },
        { include: "#operators" },
        { include: "#punctuation" },
        { match: `\\b${NAME}\\b`, name: S("variable.other") },
      ],
    },

    aggregate: {
      patterns: [
        {
          // `sum remaining of grants where ...`
          match: `\\b(sum)\\s+(${ANYWORD})\\s+(of)\\s+(grants|debts)\\b`,
          captures: {
            1: { name: S("keyword.other.sum") },
            2: { name: S("variable.other.property") },
            3: { name: S("keyword.other.of") },
            4: { name: S("support.variable.collection") },
          },
        },
        {
          // `count of debts where ...`
          match: "\\b(count)\\s+(of)\\s+(grants|debts)\\b",
          captures: {
            1: { name: S("keyword.other.count") },
            2: { name: S("keyword.other.of") },
            3: { name: S("support.variable.collection") },
          },
        },
      ],
    },

    builtins: {
      patterns: [
        ...QUANTITIES.map((q) => ({ match: `\\b${q}\\b`, name: S(`variable.language.${q}`) })),
        ...REQUEST.map((q) => ({ match: `\\b${q}\\b`, name: S(`variable.language.${q}`) })),
        ...DOTTED_BUILTINS.map((q) => ({ match: `\\b${q}\\b(?=\\s*\\.)`, name: S(`variable.language.${q}`) })),
      ],
    },

    paths: {
      patterns: [
        {
          // The head of `subscription.status`.
          match: `\\b${NAME}\\b(?=\\s*\\.\\s*[A-Za-z_])`,
          name: S("variable.other.object"),
        },
        {
          // Every word after a dot, keywords included: `settings.default`.
          match: `(\\.)\\s*(${ANYWORD})`,
          captures: {
            1: { name: S("punctuation.accessor") },
            2: { name: S("variable.other.property") },
          },
        },
      ],
    },

    keywords: {
      patterns: [
        ...CONDITIONALS.map((k) => ({ match: `\\b${k}\\b`, name: S(`keyword.control.conditional.${k}`) })),
        { match: "\\bforbidden\\b", name: S("keyword.control.forbidden") },
        ...WORD_OPERATORS.map((k) => ({ match: `\\b${k}\\b`, name: S(`keyword.operator.expression.${k}`) })),
        { match: word(BOOLEANS), name: S("constant.language.boolean") },
        ...[...OTHER_KEYWORDS, ...RULES, ...DECLARATIONS].map((k) => ({
          match: `\\b${k}\\b`,
          name: S(`keyword.other.${k}`),
        })),
      ],
    },

    numbers: {
      patterns: [
        {
          // `7d`, `12h`, `30m`, `45s`, `3mo`, `1y`
          match: `\\b(${DIGITS})(${UNITS.join("|")})\\b`,
          name: S("constant.numeric.duration"),
          captures: { 2: { name: S("keyword.other.unit") } },
        },
        {
          // A number run into letters: `3min`, `1q`, `1.5d` (the checker lists the units).
          match: `\\b${DIGITS}(?:\\.[0-9]+)?[A-Za-z][A-Za-z0-9_]*`,
          name: S("invalid.illegal.duration"),
        },
        {
          // `12`, `0.5`, `1_000`
          match: `\\b${DIGITS}(?:\\.[0-9]+)?\\b`,
          name: S("constant.numeric.decimal"),
        },
      ],
    },

    operators: {
      patterns: [
        { match: "\\?\\?", name: S("keyword.operator.coalesce") },
        { match: "==|!=|<=|>=|<|>", name: S("keyword.operator.comparison") },
        { match: "[+\\-*]", name: S("keyword.operator.arithmetic") },
        // Slips from other languages: the checker says what to write instead.
        { match: "&&|\\|\\||!|=", name: S("invalid.illegal.operator") },
      ],
    },

    punctuation: {
      patterns: [
        { match: "\\{", name: S("punctuation.section.block.begin") },
        { match: "\\}", name: S("punctuation.section.block.end") },
        { match: "\\[", name: S("punctuation.section.brackets.begin") },
        { match: "\\]", name: S("punctuation.section.brackets.end") },
        { match: "\\(", name: S("punctuation.section.parens.begin") },
        { match: "\\)", name: S("punctuation.section.parens.end") },
        { match: ",", name: S("punctuation.separator.comma") },
        { match: ":", name: S("punctuation.separator.colon") },
      ],
    },

    escapes: {
      match: "\\\\.",
      name: S("constant.character.escape"),
    },

    string: {
      // A text value in an expression (`subscription.plan == "team"`): no interpolation.
      name: S("string.quoted.double"),
      begin: '"',
      beginCaptures: { 0: { name: S("punctuation.definition.string.begin") } },
      end: '(")|$',
      endCaptures: { 1: { name: S("punctuation.definition.string.end") } },
      patterns: [{ include: "#escapes" }],
    },

    "template-string": {
      // A message or a step's text: `{path}`, `{path:date}`, `{path ?? words}`, `{{`, `}}`.
      name: S("string.quoted.double"),
      begin: '"',
      beginCaptures: { 0: { name: S("punctuation.definition.string.begin") } },
      end: '(")|$',
      endCaptures: { 1: { name: S("punctuation.definition.string.end") } },
      patterns: [
        { include: "#escapes" },
        { match: "\\{\\{|\\}\\}", name: S("constant.character.escape.brace") },
        {
          name: S("meta.interpolation"),
          begin: "\\{",
          beginCaptures: { 0: { name: S("punctuation.section.interpolation.begin") } },
          end: '(\\})|(?=")',
          endCaptures: { 1: { name: S("punctuation.section.interpolation.end") } },
          patterns: [
            { include: "#builtins" },
            { include: "#paths" },
            {
              match: `(:)\\s*(${ANYWORD})`,
              captures: {
                1: { name: S("punctuation.separator.format") },
                2: { name: S("support.function.format") },
              },
            },
            {
              name: S("meta.fallback"),
              begin: "\\?\\?",
              beginCaptures: { 0: { name: S("keyword.operator.coalesce") } },
              end: '(?=[}"])',
              contentName: S("string.unquoted.fallback"),
              patterns: [{ include: "#escapes" }],
            },
            { match: ANYWORD, name: S("variable.other") },
          ],
        },
        { match: "\\}", name: S("invalid.illegal.brace") },
      ],
    },
  },
};

// ───────────────────────── Check against the pest grammar ─────────────────────────

function pestKeywords() {
  const text = readFileSync(pest, "utf8");
  const block = text.match(/^keyword = @\{([\s\S]*?)^\}/m);
  if (!block) throw new Error(`${pest}: no \`keyword = @{ ... }\` rule`);
  const keywords = [...block[1].matchAll(/"([a-z_]+)"/g)].map((m) => m[1]);
  const all = [...text.matchAll(/^kw_([a-z_]+)\s*=\s*@\{\s*"([a-z_]+)"/gm)].map((m) => m[2]);
  const context = all.filter((k) => !keywords.includes(k));
  return { keywords, context };
}

function sameSet(name, ours, theirs) {
  const a = new Set(ours);
  const b = new Set(theirs);
  const missing = [...b].filter((w) => !a.has(w));
  const extra = [...a].filter((w) => !b.has(w));
  const problems = [];
  if (missing.length) problems.push(`${name}: in grammar/policy.pest but not placed in build-grammar.mjs: ${missing.join(", ")}`);
  if (extra.length) problems.push(`${name}: in build-grammar.mjs but not in grammar/policy.pest: ${extra.join(", ")}`);
  if (ours.length !== a.size) problems.push(`${name}: a word is listed twice in build-grammar.mjs`);
  return problems;
}

const { keywords, context } = pestKeywords();
const problems = [
  ...sameSet("keywords", KEYWORDS, keywords),
  ...sameSet("context words", CONTEXT_WORDS, context),
];
if (problems.length) {
  for (const p of problems) console.error(p);
  process.exit(1);
}

const json = JSON.stringify(grammar, null, 2) + "\n";
if (process.argv.includes("--check")) {
  let current = "";
  try {
    current = readFileSync(out, "utf8");
  } catch {}
  if (current !== json) {
    console.error(`${out} is stale: run \`node syntaxes/build-grammar.mjs\` and commit it.`);
    process.exit(1);
  }
  console.log(`grammar: ${keywords.length} keywords and ${context.length} context words of grammar/policy.pest placed; tollgate.tmLanguage.json up to date`);
} else {
  writeFileSync(out, json);
  console.log(`wrote ${out}`);
}
