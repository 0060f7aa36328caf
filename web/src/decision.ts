// A decision as a person reads it (outcome, state, balance, the reasons',
// next steps' and warnings' messages, effects), alone or beside the served
// policy's decision with every difference marked.

export interface Coded { code: string; message?: string; rule?: string; source?: string | null; [k: string]: unknown }
export interface TraceStep { kind: string; name: string; fired: boolean; reads?: Record<string, unknown>; source?: string | null }
export interface Decision {
  outcome: string; state: string; reasons: Coded[]; warnings: Coded[]; next_steps: Coded[];
  effects: Coded[]; balance: Record<string, string>; trace?: TraceStep[];
}
export interface Compared { policy: string; revision: string; decision: Decision | null; error: string | null }

/** The parts of a decision compared, in the order shown. */
export const FIELDS = ["outcome", "state", "balance", "reasons", "next_steps", "warnings", "effects"] as const;
export type Field = (typeof FIELDS)[number];
const TITLES: Record<Field, string> = {
  outcome: "Outcome", state: "State", balance: "Balance", reasons: "Reasons",
  next_steps: "Next steps", warnings: "Warnings", effects: "Effects",
};
const BALANCE = ["usable", "locked", "expired", "debt"];

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

/** What an item means, without where its rule is written (the served
 *  policy's sources name its file, the edited one's say `policy`). */
function key(item: Coded): string {
  const { rule: _rule, source: _source, ...rest } = item;
  return JSON.stringify(rest, Object.keys(rest).sort());
}

function items(d: Decision, f: Field): Coded[] {
  return f === "outcome" || f === "state" || f === "balance" ? [] : d[f];
}

/** Which fields of two decisions differ (order of steps counts). */
export function differences(a: Decision, b: Decision): Set<Field> {
  const out = new Set<Field>();
  for (const f of FIELDS) {
    const same = f === "outcome" || f === "state" ? a[f] === b[f]
      : f === "balance" ? BALANCE.every((k) => a.balance[k] === b.balance[k])
      : items(a, f).map(key).join("\n") === items(b, f).map(key).join("\n");
    if (!same) out.add(f);
  }
  return out;
}

function effectText(e: Coded): string {
  const extra = Object.entries(e).filter(([k]) => !["code", "rule", "source", "message"].includes(k))
    .map(([k, v]) => `${k} ${typeof v === "string" ? v : JSON.stringify(v)}`);
  return e.message ?? (extra.length ? extra.join(", ") : "");
}

/** One decision as a definition list; `other` marks what differs from it. */
export function card(title: HTMLElement, d: Decision, other: Decision | null, onlyLabel: string): HTMLElement {
  const box = el("section", undefined, "decision");
  box.append(title);
  const diff = other ? differences(d, other) : new Set<Field>();
  const dl = el("dl");
  for (const f of FIELDS) {
    const row = el("div", undefined, "field");
    row.dataset.field = f;
    const dt = el("dt", TITLES[f]);
    if (diff.has(f)) {
      row.classList.add("differs");
      dt.append(" ", el("span", "differs", "badge"));
    }
    const dd = el("dd");
    if (f === "outcome") {
      dd.append(el("span", d.outcome === "allow" ? "Allowed" : d.outcome === "deny" ? "Denied" : d.outcome, `outcome ${d.outcome}`),
        el("code", ` (${d.outcome})`, "code"));
    } else if (f === "state") {
      dd.append(el("code", d.state));
    } else if (f === "balance") {
      const ul = el("ul", undefined, "balance");
      for (const k of BALANCE) {
        const li = el("li");
        li.dataset.key = k;
        li.append(el("span", k, "k"), " ", el("span", d.balance[k] ?? "—", "v"));
        if (other && other.balance[k] !== d.balance[k]) li.classList.add("changed");
        ul.append(li);
      }
      dd.append(ul);
    } else {
      const list = items(d, f);
      if (list.length === 0) dd.append(el("span", "none", "none"));
      else {
        const otherKeys = new Set(other ? items(other, f).map(key) : []);
        const ul = el("ul");
        for (const it of list) {
          const li = el("li");
          li.dataset.code = it.code;
          const text = f === "effects" ? effectText(it) : it.message ?? "";
          if (text) li.append(el("span", text, "message"), " ");
          li.append(el("code", it.code, "code"));
          if (other && !otherKeys.has(key(it))) {
            li.classList.add("only");
            li.append(" ", el("span", onlyLabel, "badge"));
          }
          ul.append(li);
        }
        dd.append(ul);
      }
    }
    row.append(dt, dd);
    dl.append(row);
  }
  box.append(dl);
  return box;
}
