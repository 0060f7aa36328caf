// The tollgate playground: two editors, POST /v1/playground/evaluate on
// every change (debounced), and the answer rendered beside them.
import { Compartment, EditorState, Text } from "@codemirror/state";
import { EditorView, keymap, lineNumbers, highlightActiveLine, Decoration, DecorationSet } from "@codemirror/view";
import { StateEffect, StateField } from "@codemirror/state";
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { syntaxHighlighting, defaultHighlightStyle, bracketMatching } from "@codemirror/language";
import { lintGutter, lintKeymap, openLintPanel, setDiagnostics, Diagnostic as CmDiagnostic } from "@codemirror/lint";
import { autocompletion, completeFromList, Completion } from "@codemirror/autocomplete";
import { json } from "@codemirror/lang-json";
import { tollgate } from "./lang";
import shippedPolicy from "../../policies/ampere.policy";
import exampleSnapshot from "../../examples/paused-zero-credits.json";

// ---- the endpoint's answer (docs/server.md, "POST /v1/playground/evaluate")
interface Position { line: number; column: number; offset: number }
interface Diagnostic {
  code: string; severity: "error" | "warning" | string; message: string;
  label: string | null; help: string | null; suggestion: string | null;
  start: Position; end: Position;
}
interface Diagnostics { valid: boolean; diagnostics: Diagnostic[]; omitted: number; name?: string }
interface Description {
  roles: string[]; actions: { name: string; category: string }[];
  permissions: Record<string, string[]>;
  fields: { path: string }[]; credit_kinds: string[]; debt_kinds: string[];
}
interface Coded { code: string; message: string; rule?: string; source?: string }
interface TraceStep { kind: string; name: string; fired: boolean; reads?: Record<string, unknown>; source?: string }
interface Decision {
  outcome: string; state: string; reasons: Coded[]; warnings: Coded[]; next_steps: Coded[];
  effects: unknown[]; balance: Record<string, string>; trace?: TraceStep[];
}
interface Answer {
  policy: Diagnostics; description: Description | null; snapshot: Diagnostics | null;
  decision: Decision | null; request_error?: string | null;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const roleSelect = $<HTMLSelectElement>("role");
const actionSelect = $<HTMLSelectElement>("action");
const formatSelect = $<HTMLSelectElement>("snapshot-format");
const status = $("status");

let last: Answer | null = null;

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
  const message = [d.message, d.label, d.help ? `help: ${d.help}` : null].filter(Boolean).join("\n");
  const out: CmDiagnostic = {
    from, to, message, source: d.code,
    severity: d.severity === "error" ? "error" : d.severity === "warning" ? "warning" : "info",
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
// through any edit made while the request was in flight.
function showDiagnostics(view: EditorView, d: Diagnostics | null) {
  const list = d ? d.diagnostics.map((x) => toCm(view.state.doc, x)) : [];
  view.dispatch(setDiagnostics(view.state, list));
}

// ---- a highlighted line for trace steps
const setHighlight = StateEffect.define<number | null>();
const highlightField = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(deco, tr) {
    for (const e of tr.effects) if (e.is(setHighlight)) {
      if (e.value === null) return Decoration.none;
      const line = tr.state.doc.line(Math.min(e.value, tr.state.doc.lines));
      return Decoration.set([Decoration.line({ class: "cm-lineHighlight" }).range(line.from)]);
    }
    return tr.docChanged ? deco.map(tr.changes) : deco;
  },
  provide: (f) => EditorView.decorations.from(f),
});

// ---- completion of the names the policy declares
function policyNames(): Completion[] {
  const d = last?.description;
  if (!d) return [];
  const names: Completion[] = [];
  for (const r of d.roles) names.push({ label: r, type: "variable", detail: "role" });
  for (const a of d.actions) names.push({ label: a.name, type: "function", detail: a.category });
  for (const k of [...d.credit_kinds, ...d.debt_kinds]) names.push({ label: k, type: "constant", detail: "kind" });
  for (const f of d.fields) names.push({ label: f.path, type: "property", detail: "field" });
  return names;
}

let timer: number | undefined;
const onChange = EditorView.updateListener.of((u) => { if (u.docChanged) schedule(); });

function base(label: string) {
  return [
    lineNumbers(), history(), highlightActiveLine(), bracketMatching(), lintGutter(),
    syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
    // Ctrl/Cmd-Shift-M opens the list of problems, with their fixes, F8 goes to the next.
    keymap.of([...defaultKeymap, ...historyKeymap, ...lintKeymap]),
    EditorView.contentAttributes.of({ "aria-label": label }),
    onChange,
  ];
}

const policyView = new EditorView({
  parent: $("policy-editor"),
  state: EditorState.create({
    doc: shippedPolicy,
    extensions: [
      base("Policy editor"), tollgate, highlightField,
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
    extensions: [base("Snapshot editor"), snapshotLanguage.of(json())],
  }),
});

function schedule() {
  window.clearTimeout(timer);
  timer = window.setTimeout(evaluate, 300);
}
formatSelect.addEventListener("change", () => {
  snapshotView.dispatch({ effects: snapshotLanguage.reconfigure(formatSelect.value === "json" ? json() : []) });
});
[roleSelect, actionSelect, formatSelect].forEach((s) => s.addEventListener("change", schedule));

let seq = 0;
async function evaluate() {
  const mine = ++seq;
  status.textContent = "Evaluating…";
  const body = {
    policy: policyView.state.doc.toString(),
    snapshot: snapshotView.state.doc.toString(),
    snapshot_format: formatSelect.value,
    role: roleSelect.value || undefined,
    action: actionSelect.value || undefined,
  };
  try {
    const res = await fetch("/v1/playground/evaluate", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    if (mine !== seq) return;
    if (!res.ok) {
      const problem = await res.json().catch(() => ({}));
      status.textContent = `Error ${res.status}: ${problem.detail ?? problem.title ?? res.statusText}`;
      return;
    }
    last = (await res.json()) as Answer;
    status.textContent = last.policy.valid ? `Policy ${last.policy.name ?? ""} is valid` : "The policy has errors";
    render(last);
    showDiagnostics(policyView, last.policy);
    showDiagnostics(snapshotView, last.snapshot);
  } catch (e) {
    if (mine === seq) status.textContent = `Cannot reach the server: ${e}`;
  }
}

// ---- rendering
function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function fill(select: HTMLSelectElement, values: string[]) {
  const keep = select.value;
  if (values.join("\n") === Array.from(select.options, (o) => o.value).join("\n")) return;
  select.replaceChildren(...values.map((v) => { const o = el("option", v); o.value = v; return o; }));
  if (values.includes(keep)) select.value = keep;
}

function section(parent: HTMLElement, title: string, items: Coded[] | unknown[]) {
  if (items.length === 0) return;
  parent.append(el("h3", title));
  const ul = el("ul");
  for (const i of items) {
    const c = i as Coded;
    ul.append(el("li", c && typeof c === "object" && "message" in c ? `${c.message} (${c.code})` : JSON.stringify(i)));
  }
  parent.append(ul);
}

function render(a: Answer) {
  const d = a.description;
  if (d) {
    fill(roleSelect, d.roles);
    fill(actionSelect, d.actions.map((x) => x.name));
    if (!a.decision && !a.request_error && roleSelect.value && actionSelect.value) schedule();
  }
  const result = $("result");
  result.replaceChildren(el("h2", "Decision"));
  if (a.decision) {
    const dec = a.decision;
    result.append(el("p", dec.outcome, `outcome ${dec.outcome}`), el("p", `State: ${dec.state}`));
    result.append(el("p", "Balance: " + Object.entries(dec.balance).map(([k, v]) => `${k} ${v}`).join(", ")));
    section(result, "Reasons", dec.reasons);
    section(result, "Next steps", dec.next_steps);
    section(result, "Warnings", dec.warnings);
    section(result, "Effects", dec.effects);
  } else if (a.request_error) {
    result.append(el("p", a.request_error, "error"));
  } else {
    result.append(el("p", !a.policy.valid ? "Fix the policy's errors to see a decision."
      : "Fix the snapshot's errors to see a decision.", "error"));
  }
  renderTrace(a.decision?.trace ?? []);
  renderPermissions(d);
}

function renderTrace(steps: TraceStep[]) {
  const box = $("trace");
  box.replaceChildren(el("h2", "Trace"));
  const ol = el("ol");
  for (const s of steps) {
    const reads = s.reads ? " " + Object.entries(s.reads).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(" ") : "";
    const li = el("li", `${s.fired ? "✔" : "·"} ${s.kind} ${s.name}${reads}`, s.fired ? "fired" : undefined);
    const m = s.source?.match(/^policy:(\d+)/);
    if (m) {
      const line = Number(m[1]);
      li.tabIndex = 0;
      li.setAttribute("role", "button");
      li.setAttribute("aria-label", `${s.kind} ${s.name}, ${s.fired ? "fired" : "not fired"}: show policy line ${line}`);
      const go = () => {
        const pos = policyView.state.doc.line(Math.min(line, policyView.state.doc.lines)).from;
        policyView.dispatch({ effects: [setHighlight.of(line), EditorView.scrollIntoView(pos, { y: "center" })] });
      };
      li.addEventListener("click", go);
      li.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); go(); } });
    }
    ol.append(li);
  }
  box.append(ol);
}

function renderPermissions(d: Description | null) {
  const box = $("permissions");
  box.replaceChildren(el("h2", "Permissions"));
  if (!d) return;
  const table = el("table");
  const head = el("tr");
  head.append(el("th", "Action"), ...d.roles.map((r) => { const th = el("th", r); th.scope = "col"; return th; }));
  table.append(head);
  for (const a of d.actions) {
    const tr = el("tr");
    const th = el("th", `${a.name} (${a.category})`); th.scope = "row";
    tr.append(th);
    for (const r of d.roles) {
      const ok = d.permissions[r]?.includes(a.name) ?? false;
      const td = el("td", ok ? "yes" : "no", ok ? "yes" : "no");
      tr.append(td);
    }
    table.append(tr);
  }
  box.append(table);
}

evaluate();

// For browser tests and the console: the two editors.
(window as unknown as { playground: object }).playground = { policyView, snapshotView, openLintPanel };
