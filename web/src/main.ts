// The tollgate playground: two editors, POST /v1/playground/evaluate on
// every change (debounced), and the answer rendered beside them.
import { Compartment, EditorState, StateEffect, StateField, Text } from "@codemirror/state";
import { EditorView, keymap, lineNumbers, highlightActiveLine, Decoration, DecorationSet } from "@codemirror/view";
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { syntaxHighlighting, defaultHighlightStyle, bracketMatching } from "@codemirror/language";
import {
  forEachDiagnostic, lintGutter, nextDiagnostic, previousDiagnostic, setDiagnostics, Diagnostic as CmDiagnostic,
} from "@codemirror/lint";
import { autocompletion, completeFromList, completionKeymap, Completion } from "@codemirror/autocomplete";
import { json } from "@codemirror/lang-json";
import { tollgate, KEYWORDS } from "./lang";
import { card, Compared, Decision, differences, el, FIELDS, TraceStep } from "./decision";
import { decode, encode, isShared, Shared } from "./share";
import shippedPolicy from "../../policies/ampere.policy";
import exampleSnapshot from "../../examples/paused-zero-credits.json";

// ---- the endpoint's answer (docs/server.md, "POST /v1/playground/evaluate")
interface Position { line: number; column: number; offset: number }
interface Diagnostic {
  code: string; severity: "error" | "warning" | string; message: string;
  label: string | null; help: string | null; suggestion: string | null;
  start: Position; end: Position;
}
interface Diagnostics { valid: boolean; diagnostics: Diagnostic[]; omitted: number; name?: string | null }
interface Field { path: string; type: string | { enum: string; values: string[] } }
interface Description {
  roles: string[]; actions: { name: string; category: string }[];
  permissions: Record<string, string[]>;
  fields: Field[]; credit_kinds: string[]; debt_kinds: string[];
}
interface Answer {
  policy: Diagnostics; description: Description | null; snapshot: Diagnostics | null;
  decision: Decision | null; request_error: { message: string } | null; compare: Compared | null;
}
// GET /v1/playground/examples
interface Examples {
  policies: { name: string; revision: string; text: string | null }[];
  accounts: { name: string; format: "json" | "toml"; policy: string; role: string; action: string; text: string }[];
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const roleSelect = $<HTMLSelectElement>("role");
const actionSelect = $<HTMLSelectElement>("action");
const formatSelect = $<HTMLSelectElement>("snapshot-format");
const compareSelect = $<HTMLSelectElement>("compare-with");
const nowInput = $<HTMLInputElement>("now");
const examplePolicy = $<HTMLSelectElement>("example-policy");
const exampleAccount = $<HTMLSelectElement>("example-account");
const shareLink = $<HTMLInputElement>("share-link");
const status = $("status");

/** The last answer, and the last description of a policy that compiled
 *  (completion keeps offering its names while the policy has errors). */
let last: Answer | null = null;
let lastDescription: Description | null = null;
let examples: Examples = { policies: [], accounts: [] };
/** The role and action asked for: kept while the policy, as it is being
 *  edited, does not declare them (the select then says so). */
let wanted = { role: "member", action: "send_message" };

function say(text: string) {
  status.textContent = text;
}

/** What the person just did, said now and again before the next result. */
let pending = "";
function notice(text: string) {
  pending = text;
  say(text);
}

// ---- diagnostics: positions come as 1-based line and column in characters
function toPos(doc: Text, p: Position): number {
  const line = doc.line(Math.min(Math.max(p.line, 1), doc.lines));
  // Columns count characters (code points); CodeMirror counts UTF-16 units.
  const chars = Array.from(line.text).slice(0, Math.max(p.column - 1, 0)).join("");
  return line.from + Math.min(chars.length, line.length);
}

function toCm(doc: Text, d: Diagnostic): CmDiagnostic {
  const from = toPos(doc, d.start);
  const to = Math.max(from, toPos(doc, d.end));
  const label = d.label ? d.label : null;
  const out: CmDiagnostic = {
    from, to, source: d.code,
    message: [d.message, label, d.help ? `help: ${d.help}` : null].filter(Boolean).join("\n"),
    severity: d.severity === "error" ? "error" : d.severity === "warning" ? "warning" : "info",
    renderMessage: () => {
      const box = el("div", undefined, "diag");
      box.append(el("div", d.message, "diag-message"));
      if (label) box.append(el("div", label, "diag-label"));
      if (d.help) box.append(el("div", `help: ${d.help}`, "diag-help"));
      return box;
    },
  };
  if (d.suggestion !== null) {
    const text = d.suggestion;
    out.actions = [{
      name: `Replace with ${text}`,
      apply(view, f, t) { view.dispatch({ changes: { from: f, to: t, insert: text } }); },
    }];
  }
  return out;
}

// The answer's diagnostics replace the editor's; CodeMirror maps them
// through any edit made while the request was in flight. Below the editor,
// the same problems as a list, with buttons to go to each and to fix it.
const shownProblems = new Map<HTMLElement, CmDiagnostic[]>();
function showDiagnostics(view: EditorView, d: Diagnostics | null, box: HTMLElement) {
  const list = d ? d.diagnostics.map((x) => toCm(view.state.doc, x)) : [];
  view.dispatch(setDiagnostics(view.state, list));
  const errors = list.filter((x) => x.severity === "error").length;
  const warnings = list.length - errors;
  const more = d && d.omitted > 0 ? ` (${d.omitted} more not listed)` : "";
  const count = list.length === 0 ? "No problems."
    : `${errors} error${errors === 1 ? "" : "s"}, ${warnings} warning${warnings === 1 ? "" : "s"}${more}.`;
  // Rebuilt only when it changed: a focused button stays focused.
  const key = count + "\n" + (d?.diagnostics ?? []).map((x) => `${x.start.line}:${x.start.column} ${x.code} ${x.message} ${x.suggestion}`).join("\n");
  shownProblems.set(box, list);
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  const ul = el("ul");
  (d?.diagnostics ?? []).forEach((x, i) => {
    const li = el("li", undefined, `problem ${x.severity}`);
    // Where the diagnostic is now, after edits made since the answer.
    const where = (): { from: number; to: number } | null => {
      const mine = shownProblems.get(box)?.[i];
      let found: { from: number; to: number } | null = null;
      forEachDiagnostic(view.state, (c, from, to) => { if (c === mine) found = { from, to }; });
      return found;
    };
    li.append(el("span", x.severity, "sev"), ` line ${x.start.line}, column ${x.start.column}: ${x.message}`);
    if (x.help) li.append(el("span", ` help: ${x.help}`, "help"));
    const go = el("button", "Go to", "go");
    go.type = "button";
    go.setAttribute("aria-label", `Go to line ${x.start.line}, column ${x.start.column}`);
    go.addEventListener("click", () => {
      const at = where();
      if (!at) return;
      view.dispatch({ selection: { anchor: at.from, head: at.to }, scrollIntoView: true });
      view.focus();
    });
    li.append(" ", go);
    if (x.suggestion !== null) {
      const text = x.suggestion;
      const fix = el("button", `Replace with ${text}`, "fix");
      fix.type = "button";
      fix.addEventListener("click", () => {
        const at = where();
        if (!at) return;
        view.dispatch({ changes: { from: at.from, to: at.to, insert: text }, selection: { anchor: at.from + text.length } });
        view.focus();
      });
      li.append(" ", fix);
    }
    ul.append(li);
  });
  box.replaceChildren(el("p", count, "count"), ul);
}

// ---- the policy line a trace step points at
const setHighlight = StateEffect.define<number | null>();
const highlightField = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(deco, tr) {
    for (const e of tr.effects) if (e.is(setHighlight)) {
      if (e.value === null) return Decoration.none;
      const line = tr.state.doc.line(Math.min(e.value, tr.state.doc.lines));
      return Decoration.set([Decoration.line({ class: "cm-traceLine" }).range(line.from)]);
    }
    return tr.docChanged ? deco.map(tr.changes) : deco;
  },
  provide: (f) => EditorView.decorations.from(f),
});

// ---- completion of the names the policy declares, and the keywords
function policyNames(): Completion[] {
  const names: Completion[] = [];
  const d = lastDescription;
  if (d) {
    for (const r of d.roles) names.push({ label: r, type: "variable", detail: "role" });
    for (const a of d.actions) names.push({ label: a.name, type: "function", detail: `action (${a.category})` });
    for (const c of new Set(d.actions.map((a) => a.category))) names.push({ label: c, type: "namespace", detail: "actions" });
    for (const k of d.credit_kinds) names.push({ label: k, type: "constant", detail: "credit kind" });
    for (const k of d.debt_kinds) names.push({ label: k, type: "constant", detail: "debt kind" });
    for (const f of d.fields) {
      names.push({ label: f.path, type: "property", detail: "field" });
      if (typeof f.type === "object") for (const v of f.type.values) names.push({ label: v, type: "enum", detail: f.type.enum });
    }
  }
  const seen = new Set(names.map((n) => n.label));
  for (const k of KEYWORDS) if (!seen.has(k)) names.push({ label: k, type: "keyword" });
  return names;
}

let timer: number | undefined;
const onChange = EditorView.updateListener.of((u) => { if (u.docChanged) schedule(); });

function base(label: string, problems: HTMLElement) {
  return [
    lineNumbers(), history(), highlightActiveLine(), bracketMatching(), lintGutter(),
    syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
    // Ctrl/Cmd-Shift-M goes to the list of problems below the editor, with
    // their fixes; F8 and Shift-F8 to the next and previous problem.
    keymap.of([
      { key: "Mod-Shift-m", run: () => { problems.focus(); return true; } },
      { key: "F8", run: nextDiagnostic, shift: previousDiagnostic },
      ...completionKeymap, ...defaultKeymap, ...historyKeymap,
    ]),
    // An explicit tabindex: the editor is where its scrolling region is
    // reached from the keyboard (checkers do not count contenteditable).
    EditorView.contentAttributes.of({ "aria-label": label, tabindex: "0" }),
    onChange,
  ];
}

const policyView = new EditorView({
  parent: $("policy-editor"),
  state: EditorState.create({
    doc: shippedPolicy,
    extensions: [
      base("Policy editor", $("policy-problems")), tollgate, highlightField,
      autocompletion({ override: [(ctx) => completeFromList(policyNames())(ctx)] }),
    ],
  }),
});

// JSON highlighting for a JSON snapshot; a TOML one is plain text.
const snapshotLanguage = new Compartment();
const snapshotView = new EditorView({
  parent: $("snapshot-editor"),
  state: EditorState.create({
    doc: exampleSnapshot,
    extensions: [base("Snapshot editor", $("snapshot-problems")), snapshotLanguage.of(json())],
  }),
});

function setText(view: EditorView, text: string) {
  view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
}

function setFormat(format: string) {
  formatSelect.value = format === "toml" ? "toml" : "json";
  snapshotView.dispatch({ effects: snapshotLanguage.reconfigure(formatSelect.value === "json" ? json() : []) });
}

// Once the page has started, every change is kept in the address bar (the
// same fragment a share link carries), so a reload or the back button after
// leaving keeps the work; nothing goes to the server.
let started = false;
let urlFollows = false;

async function keepInUrl() {
  try {
    const url = location.href.split("#")[0] + (await encode(state()));
    if (url !== location.href) window.history.replaceState(null, "", url);
  } catch {
    // The state could not be compressed: the address bar keeps the last one.
  }
}

function schedule(delay = 300) {
  if (started) urlFollows = true;
  window.clearTimeout(timer);
  timer = window.setTimeout(() => { timer = undefined; evaluate(); }, delay);
}

formatSelect.addEventListener("change", () => { setFormat(formatSelect.value); schedule(); });
roleSelect.addEventListener("change", () => { wanted.role = roleSelect.value; schedule(0); });
actionSelect.addEventListener("change", () => { wanted.action = actionSelect.value; schedule(0); });
compareSelect.addEventListener("change", () => schedule(0));
nowInput.addEventListener("input", () => schedule());

// ---- asking the server
let seq = 0;
let running = 0;
let inFlight: AbortController | null = null;
let lastSummary = "";

async function evaluate(retried = false) {
  const mine = ++seq;
  inFlight?.abort();
  const abort = new AbortController();
  inFlight = abort;
  const body: Record<string, string> = {
    policy: policyView.state.doc.toString(),
    snapshot: snapshotView.state.doc.toString(),
    snapshot_format: formatSelect.value,
  };
  if (wanted.role) body.role = wanted.role;
  if (wanted.action) body.action = wanted.action;
  if (nowInput.value.trim()) body.now = nowInput.value.trim();
  if (compareSelect.value) body.compare_with = compareSelect.value;
  document.body.setAttribute("aria-busy", "true");
  running++;
  try {
    const res = await fetch("/v1/playground/evaluate", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      signal: abort.signal,
    });
    if (mine !== seq) return;
    if (!res.ok) {
      const problem = await res.json().catch(() => ({}));
      // Four evaluations at once at most: try once more a moment later.
      if (res.status === 503 && !retried) {
        window.clearTimeout(timer);
        timer = window.setTimeout(() => { timer = undefined; evaluate(true); }, 1000);
      }
      say(`Not evaluated (${res.status}): ${problem.detail ?? problem.title ?? res.statusText}`);
      lastSummary = "";
      return;
    }
    const answer = (await res.json()) as Answer;
    if (mine !== seq) return;
    last = answer;
    if (answer.description) lastDescription = answer.description;
    render(answer);
    if (urlFollows) void keepInUrl();
    showDiagnostics(policyView, answer.policy, $("policy-problems"));
    showDiagnostics(snapshotView, answer.snapshot, $("snapshot-problems"));
    const summary = summarize(answer);
    // The status is a live region: say only what changed.
    if (pending) { say(`${pending} ${summary}`); pending = ""; lastSummary = summary; }
    else if (summary !== lastSummary) { say(summary); lastSummary = summary; }
  } catch (e) {
    if (mine === seq && !(e instanceof DOMException && e.name === "AbortError")) {
      say(`Cannot reach the server: ${e}`);
      lastSummary = "";
    }
  } finally {
    running--;
    if (mine === seq) { document.body.removeAttribute("aria-busy"); document.body.dataset.evaluated = String(mine); }
  }
}

function summarize(a: Answer): string {
  if (!a.policy.valid) return "The policy has errors.";
  if (a.snapshot && !a.snapshot.valid) return "The snapshot has errors.";
  if (a.request_error) return a.request_error.message;
  if (!a.decision) return `Policy ${a.policy.name ?? ""} is valid; choose a role and an action.`;
  let s = `${a.decision.outcome}, state ${a.decision.state}`;
  const c = a.compare;
  if (c?.decision) {
    const diff = differences(a.decision, c.decision);
    s += diff.size === 0 ? `; same as served ${c.policy}` : `; differs from served ${c.policy} in ${diff.size} ${diff.size === 1 ? "part" : "parts"}`;
  } else if (c?.error) s += `; served ${c.policy}: ${c.error}`;
  return s;
}

// ---- rendering
/** Fills a select with the policy's names, keeping the wanted one: when the
 *  policy does not declare it, it stays, marked, and the request says why. */
function fill(select: HTMLSelectElement, values: string[], want: string) {
  const options = values.map((v) => { const o = el("option", v); o.value = v; return o; });
  if (want && !values.includes(want)) {
    const o = el("option", `${want} (not in this policy)`); o.value = want; options.push(o);
  }
  const now = Array.from(select.options, (o) => `${o.value}\t${o.text}`).join("\n");
  if (options.map((o) => `${o.value}\t${o.text}`).join("\n") !== now) select.replaceChildren(...options);
  select.value = want && select.querySelector(`option[value="${CSS.escape(want)}"]`) ? want : values[0] ?? "";
}

function render(a: Answer) {
  const d = a.description;
  if (d) {
    fill(roleSelect, d.roles, wanted.role);
    fill(actionSelect, d.actions.map((x) => x.name), wanted.action);
    // Nothing was asked yet (an empty start): ask for the first ones.
    if ((!wanted.role || !wanted.action) && roleSelect.value && actionSelect.value) {
      wanted = { role: roleSelect.value, action: actionSelect.value };
      schedule(0);
    }
  }
  renderResult(a);
  renderTrace(a.decision?.trace ?? []);
  renderPermissions(d ?? lastDescription, d === null);
}

function renderResult(a: Answer) {
  const result = $("result");
  result.replaceChildren(el("h2", "Decision"));
  const c = a.compare;
  if (!a.decision) {
    const why = !a.policy.valid ? "Fix the policy's errors to see a decision."
      : a.snapshot && !a.snapshot.valid ? "Fix the snapshot's errors to see a decision."
      : a.request_error ? a.request_error.message
      : "Choose a role and an action to see a decision.";
    result.append(el("p", why, "error"));
    if (c) result.append(el("p", c.error ? `Served ${c.policy}: ${c.error}` : "", "error"));
    return;
  }
  const dec = a.decision;
  const heading = (text: string, sub?: string) => {
    const h = el("h3", text);
    if (sub) h.append(" ", el("small", sub));
    return h;
  };
  if (!c) {
    result.append(card(heading("This policy"), dec, null, ""));
    return;
  }
  const pair = el("div", undefined, "compare");
  pair.append(card(heading("This policy (edited)"), dec, c.decision, "only here"));
  if (c.decision) {
    pair.append(card(heading(`Served ${c.policy}`, `revision ${c.revision.slice(0, 12)}`), c.decision, dec, "only here"));
  } else {
    const box = el("section", undefined, "decision");
    box.append(heading(`Served ${c.policy}`), el("p", c.error ?? "No decision (choose a role and an action).", "error"));
    pair.append(box);
  }
  result.append(pair);
  if (c.decision) {
    const diff = differences(dec, c.decision);
    const names = FIELDS.filter((f) => diff.has(f)).map((f) => f.replace("_", " "));
    result.append(el("p", diff.size === 0 ? "Both policies decide the same."
      : `Differences: ${names.join(", ")}.`, diff.size === 0 ? "diff-summary same" : "diff-summary"));
  }
}

function highlightLine(line: number, what: string) {
  const doc = policyView.state.doc;
  const n = Math.min(Math.max(line, 1), doc.lines);
  policyView.dispatch({ effects: [setHighlight.of(n), EditorView.scrollIntoView(doc.line(n).from, { y: "center" })] });
  say(`Policy line ${n} highlighted: ${what}.`);
  lastSummary = "";
}

function renderTrace(steps: TraceStep[]) {
  const box = $("trace");
  box.replaceChildren(el("h2", "Trace"));
  if (steps.length === 0) { box.append(el("p", "No decision, no trace.", "none")); return; }
  box.append(el("p", "Every rule evaluated, in order. Choose a step to see its line in the policy.", "hint"));
  const ol = el("ol");
  for (const s of steps) {
    const reads = s.reads ? Object.entries(s.reads).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(" ") : "";
    const m = s.source?.match(/^policy:(\d+)/);
    const li = el("li", undefined, s.fired ? "fired" : "idle");
    const mark = () => {
      const m = el("span", s.fired ? "✔" : "·", "mark");
      m.setAttribute("aria-hidden", "true");
      return [m, el("span", s.fired ? "fired: " : "not fired: ", "sr-only")];
    };
    const what = `${s.kind} ${s.name}${reads ? "  " + reads : ""}`;
    if (m) {
      const line = Number(m[1]);
      const b = el("button", undefined, "step");
      b.type = "button";
      b.dataset.line = String(line);
      b.append(...mark(), " ", what, " ", el("span", `line ${line}`, "line"));
      b.addEventListener("click", () => highlightLine(line, `${s.kind} ${s.name}`));
      li.append(b);
    } else {
      const span = el("span", undefined, "step");
      span.append(...mark(), " ", what);
      li.append(span);
    }
    ol.append(li);
  }
  box.append(ol);
}

function renderPermissions(d: Description | null, stale: boolean) {
  const box = $("permissions");
  box.replaceChildren(el("h2", "Permissions"));
  box.classList.toggle("stale", stale);
  if (!d) { box.append(el("p", "Fix the policy's errors to see its permissions.", "none")); return; }
  if (stale) box.append(el("p", "The policy has errors: this is the table of the last version that compiled.", "error"));
  const table = el("table");
  table.append(el("caption", "Which role may take which action"));
  const thead = el("thead");
  const head = el("tr");
  const corner = el("th", "Action (category)"); corner.scope = "col";
  head.append(corner, ...d.roles.map((r) => { const th = el("th", r); th.scope = "col"; return th; }));
  thead.append(head);
  const tbody = el("tbody");
  for (const a of d.actions) {
    const tr = el("tr");
    const th = el("th", `${a.name} (${a.category})`); th.scope = "row";
    tr.append(th);
    for (const r of d.roles) {
      const ok = d.permissions[r]?.includes(a.name) ?? false;
      tr.append(el("td", ok ? "yes" : "no", ok ? "yes" : "no"));
    }
    tbody.append(tr);
  }
  table.append(thead, tbody);
  box.append(table);
}

// ---- examples menu
function option(value: string, text: string) { const o = el("option", text); o.value = value; return o; }

async function loadExamples() {
  try {
    const res = await fetch("/v1/playground/examples");
    if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
    examples = (await res.json()) as Examples;
  } catch (e) {
    notice(`The examples could not be loaded: ${e}`);
  }
  examplePolicy.replaceChildren(...examples.policies.filter((p) => p.text !== null).map((p) => option(p.name, p.name)));
  exampleAccount.replaceChildren(...examples.accounts.map((a) =>
    option(a.name, `${a.name} (${a.policy}: ${a.role}, ${a.action})`)));
  const keep = compareSelect.value;
  compareSelect.replaceChildren(option("", "none"), ...examples.policies.map((p) => option(p.name, p.name)));
  setCompare(keep);
}

function setCompare(name: string) {
  if (name && !Array.from(compareSelect.options).some((o) => o.value === name)) {
    compareSelect.append(option(name, `${name} (not served here)`));
  }
  compareSelect.value = name;
}

function loadPolicy(name: string): boolean {
  const p = examples.policies.find((x) => x.name === name);
  if (!p || p.text === null) return false;
  setText(policyView, p.text);
  return true;
}

$("load-policy").addEventListener("click", () => {
  const name = examplePolicy.value;
  const current = last?.policy.name ?? null;
  if (!loadPolicy(name)) return;
  // Another policy has other roles and actions: ask what its first example
  // account asks (the snapshot stays; load an account for one that fits).
  const account = current !== name ? examples.accounts.find((a) => a.policy === name) : undefined;
  if (account) wanted = { role: account.role, action: account.action };
  notice(`Loaded the served policy ${name} (Ctrl-Z in the editor undoes it)${account ? `; asking as ${account.role} to ${account.action}` : ""}.`);
  schedule(0);
});

$("load-account").addEventListener("click", () => {
  const a = examples.accounts.find((x) => x.name === exampleAccount.value);
  if (!a) return;
  // An account is written for one policy's fields: when the editor holds
  // another policy, that one comes along (a policy of the same name, maybe
  // edited, stays).
  const current = last?.policy.name ?? null;
  const also = current !== a.policy && loadPolicy(a.policy);
  setText(snapshotView, a.text);
  setFormat(a.format);
  wanted = { role: a.role, action: a.action };
  notice(`Loaded ${a.name}${also ? ` and the served policy ${a.policy} it is written for (Ctrl-Z in the policy editor undoes it)` : ""}; asking as ${a.role} to ${a.action}.`);
  schedule(0);
});

// ---- share link
function state(): Shared {
  return {
    policy: policyView.state.doc.toString(),
    snapshot: snapshotView.state.doc.toString(),
    format: formatSelect.value === "toml" ? "toml" : "json",
    role: wanted.role,
    action: wanted.action,
    now: nowInput.value.trim(),
    compare: compareSelect.value,
  };
}

function restore(s: Shared) {
  setText(policyView, s.policy);
  setText(snapshotView, s.snapshot);
  setFormat(s.format);
  wanted = { role: s.role, action: s.action };
  nowInput.value = s.now;
  setCompare(s.compare);
}

$("share").addEventListener("click", async () => {
  try {
    const url = location.href.split("#")[0] + (await encode(state()));
    window.history.replaceState(null, "", url);
    shareLink.value = url;
    shareLink.select();
    try {
      await navigator.clipboard.writeText(url);
      say(`Share link copied (${url.length} characters). It holds everything; nothing is stored on the server.`);
    } catch {
      say("The share link is in the field beside the button: copy it from there. Nothing is stored on the server.");
    }
  } catch (e) {
    say(`The share link could not be made: ${e}`);
  }
  lastSummary = "";
});

async function restoreFromHash(): Promise<boolean> {
  if (!isShared(location.hash)) return false;
  try {
    restore(await decode(location.hash));
    notice("Restored from the share link.");
    return true;
  } catch (e) {
    notice(`This share link cannot be read (${e instanceof Error ? e.message : e}); showing the example instead.`);
    return false;
  }
}

window.addEventListener("hashchange", async () => {
  if (await restoreFromHash()) schedule(0);
});


// ---- start: a share link's state, or the shipped policy and an account
async function start() {
  await loadExamples();
  const restored = await restoreFromHash();
  if (!restored) {
    // The bundled text is already in the editors; the request that shows it best:
    const first = examples.accounts.find((a) => a.name === "paused-zero-credits.json");
    wanted = first ? { role: first.role, action: first.action } : { role: "member", action: "send_message" };
  }
  await evaluate();
  started = true;
  document.body.dataset.ready = "true";
}
start();

// For browser tests and the console: the two editors.
// `pending()`: whether an evaluation is waiting for its debounce or its answer.
(window as unknown as { playground: object }).playground = {
  policyView, snapshotView,
  pending: () => timer !== undefined || running > 0,
};
