// The playground page in a real browser against the real server:
// `node --test tests/` from web/, after `cargo build` (see .ci/playground).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import {
  ROOT, decideCli, editorText, openPage, repoFile, settled, shot, shownDecision,
  startBrowser, startServer, typeOver,
} from "./harness.mjs";

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await startBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function loadAccount(page, name) {
  await page.selectOption("#example-account", name);
  await page.click("#load-account");
  await settled(page);
}

/** The command line's decision and the page's, side by side in one shape. */
function essentials(d) {
  return {
    outcome: d.outcome, state: d.state,
    reasons: d.reasons.map((r) => `${r.code}: ${r.message}`),
    next_steps: d.next_steps.map((r) => `${r.code}: ${r.message}`),
    warnings: d.warnings.map((r) => `${r.code}: ${r.message}`),
    effects: d.effects.map((r) => r.code),
    balance: d.balance,
  };
}

test("the first page shows the shipped policy and paused-zero-credits.json, decided for member/send_message", async () => {
  const page = await openPage(browser, server.url);
  assert.equal(await editorText(page, "policyView"), repoFile("policies/ampere.policy"));
  assert.equal(await editorText(page, "snapshotView"), repoFile("examples/paused-zero-credits.json"));
  assert.equal(await page.inputValue("#snapshot-format"), "json");
  assert.equal(await page.inputValue("#role"), "member");
  assert.equal(await page.inputValue("#action"), "send_message");
  assert.equal(await page.inputValue("#compare-with"), "");

  const shown = await shownDecision(page);
  assert.equal(shown.outcome, "deny");
  assert.equal(shown.outcomeText, "Denied");
  assert.equal(shown.state, "paused");
  assert.deepEqual(shown.reasons.map((r) => r.code), ["no_usable_credits"]);
  assert.match(shown.reasons[0].message, /no usable credits left/);
  assert.deepEqual(shown.next_steps.map((r) => r.code), ["ask_billing_admin"]);
  assert.match(shown.next_steps[0].message, /Ask an organization owner or billing admin/);
  assert.deepEqual(shown.balance, { usable: "0", locked: "0", expired: "250", debt: "0" });
  assert.match(await page.textContent("#status"), /deny, state paused/);

  // 3 roles and 22 actions from the policy; the permission table agrees.
  assert.deepEqual(await page.$$eval("#role option", (o) => o.map((x) => x.value)), ["owner", "billing_admin", "member"]);
  assert.equal(await page.$$eval("#action option", (o) => o.length), 22);
  assert.deepEqual(await page.$$eval("#permissions thead th", (t) => t.map((x) => x.textContent)),
    ["Action (category)", "owner", "billing_admin", "member"]);
  const row = await page.$$eval("#permissions tbody tr", (rows) => Array.from(
    rows.find((r) => r.querySelector("th").textContent === "buy_credits (billing)").querySelectorAll("td"),
    (td) => td.textContent));
  assert.deepEqual(row, ["yes", "yes", "no"]);
  await shot(page, "loaded");
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("every example account from the menu decides as `tollgate decide` does", async () => {
  const page = await openPage(browser, server.url);
  const examples = await (await fetch(`${server.url}/v1/playground/examples`)).json();
  assert.equal(examples.accounts.length, 7);
  const menu = await page.$$eval("#example-account option", (o) => o.map((x) => x.value));
  assert.deepEqual(menu, examples.accounts.map((a) => a.name));
  // In an order that switches policies back and forth.
  for (const a of [...examples.accounts].reverse()) {
    await loadAccount(page, a.name);
    assert.equal(await editorText(page, "snapshotView"), repoFile(`examples/${a.name}`), a.name);
    assert.equal(await editorText(page, "policyView"), repoFile(`policies/${a.policy}.policy`),
      `${a.name} brings its policy ${a.policy}`);
    assert.equal(await page.inputValue("#snapshot-format"), a.format);
    assert.equal(await page.inputValue("#role"), a.role);
    assert.equal(await page.inputValue("#action"), a.action);
    const cli = decideCli(a.policy, a.name, a.role, a.action);
    const shown = await shownDecision(page);
    assert.ok(shown, `${a.name}: no decision shown`);
    assert.deepEqual(essentials(shown), essentials(cli), a.name);
  }
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("a served policy loads from the menu, and an account of the same policy keeps the edited text", async () => {
  const page = await openPage(browser, server.url);
  await page.selectOption("#example-policy", "messaging");
  await page.click("#load-policy");
  await settled(page);
  assert.equal(await editorText(page, "policyView"), repoFile("policies/messaging.policy"));
  // Its roles and actions, asked as its example accounts ask.
  assert.equal(await page.inputValue("#role"), "agent");
  assert.equal(await page.inputValue("#action"), "send_sms");
  assert.deepEqual(await page.$$eval("#role option", (o) => o.filter((x) => x.text.includes("not in this policy")).length), 0);
  // The ampere snapshot does not fit messaging's fields: its error is shown.
  assert.match(await page.textContent("#result"), /snapshot's errors|not a field/);

  await page.selectOption("#example-policy", "ampere");
  await page.click("#load-policy");
  await settled(page);
  await typeOver(page, "policyView", "/// Ampere's billing rules.", "/// Edited billing rules.");
  await settled(page);
  await loadAccount(page, "dispute-debt.json");
  assert.match(await editorText(page, "policyView"), /^\/\/\/ Edited billing rules\./);
  assert.equal((await shownDecision(page)).state, "debt");
  await page.context().close();
});

test("a typo is underlined with its fix within a second, and the fix clears it", async () => {
  const page = await openPage(browser, server.url);
  const t0 = Date.now();
  await typeOver(page, "policyView", "permit member to", "permit membr to");
  await page.waitForSelector("#policy-editor .cm-lintRange-error", { timeout: 1000 });
  const elapsed = Date.now() - t0;
  assert.ok(elapsed < 1000, `the underline took ${elapsed} ms`);
  assert.equal(await page.textContent("#policy-editor .cm-lintRange-error"), "membr");
  assert.match(await page.textContent("#policy-problems .count"), /^1 error, 1 warning\.$/);
  assert.match(await page.textContent("#result"), /Fix the policy's errors/);
  assert.match(await page.textContent("#permissions"), /last version that compiled/);

  // Hovering shows the message, the help and the one-click fix.
  await page.hover("#policy-editor .cm-lintRange-error");
  const tip = await page.waitForSelector(".cm-tooltip-lint", { timeout: 3000 });
  const text = await tip.textContent();
  assert.match(text, /unknown role `membr`/);
  assert.match(text, /help: did you mean `member`\?/);
  await shot(page, "typo");
  await page.click(".cm-tooltip-lint button:has-text('Replace with member')");
  await settled(page);
  assert.match(await editorText(page, "policyView"), /^permit member to billable, free$/m);
  assert.equal(await page.$("#policy-editor .cm-lintRange-error"), null);
  assert.equal((await shownDecision(page)).outcome, "deny");

  // The same from the keyboard: Ctrl-Shift-M in the editor goes to the
  // list of problems below it, Tab to the fix, Enter applies it.
  await typeOver(page, "policyView", "permit owner to all", "permit ownr to all");
  await page.waitForSelector("#policy-editor .cm-lintRange-error", { timeout: 1000 });
  await settled(page);
  await page.keyboard.press("Control+Shift+M");
  assert.equal(await page.evaluate(() => document.activeElement.id), "policy-problems");
  assert.match(await page.textContent("#policy-problems"), /unknown role `ownr`/);
  for (let i = 0; i < 8; i++) {
    await page.keyboard.press("Tab");
    if (await page.evaluate(() => document.activeElement.textContent) === "Replace with owner") break;
  }
  assert.equal(await page.evaluate(() => document.activeElement.textContent), "Replace with owner");
  await page.keyboard.press("Enter");
  assert.equal(await page.evaluate(() => document.activeElement.getAttribute("aria-label")), "Policy editor");
  await settled(page);
  assert.match(await editorText(page, "policyView"), /^permit owner to all$/m);
  assert.equal(await page.textContent("#policy-problems"), "No problems.");
  await page.waitForFunction(() => !document.querySelector("#policy-editor .cm-lintRange-error"));
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("a snapshot's unknown field is underlined at the field, with its fix", async () => {
  const page = await openPage(browser, server.url);
  await typeOver(page, "snapshotView", `"payment_method"`, `"paymentmethod"`);
  const mark = await page.waitForSelector("#snapshot-editor .cm-lintRange-error", { timeout: 1000 });
  assert.equal(await mark.textContent(), `"paymentmethod"`);
  assert.match(await page.textContent("#result"), /snapshot's errors/);
  await page.hover("#snapshot-editor .cm-lintRange-error");
  await page.click(".cm-tooltip-lint button:has-text('Replace with')");
  await settled(page);
  assert.equal(await editorText(page, "snapshotView"), repoFile("examples/paused-zero-credits.json"));
  assert.equal((await shownDecision(page)).state, "paused");
  await page.context().close();
});

test("completion offers the names the policy declares", async () => {
  const page = await openPage(browser, server.url);
  await typeOver(page, "policyView", "billable, free\n", "billable, free, view_inv", { keepCompletion: true });
  await page.waitForFunction(() => /view_invoices/.test(document.querySelector(".cm-tooltip-autocomplete")?.textContent ?? ""),
    null, { timeout: 3000 });
  // CodeMirror ignores Enter for 75 ms after the list appears (a person
  // typing on would not mean to pick).
  await page.waitForTimeout(150);
  await page.keyboard.press("Enter");
  await page.keyboard.press("Enter");
  assert.match(await editorText(page, "policyView"), /^permit member to billable, free, view_invoices$/m);
  await settled(page);
  // The member may now view invoices.
  const cell = await page.$$eval("#permissions tbody tr", (rows) => {
    const r = rows.find((x) => x.querySelector("th").textContent.startsWith("view_invoices "));
    return r.querySelectorAll("td")[2].textContent;
  });
  assert.equal(cell, "yes");
  await page.context().close();
});

test("a trace step highlights its line in the policy editor, by click and by keyboard", async () => {
  const page = await openPage(browser, server.url);
  const steps = await page.$$("#trace button.step");
  assert.ok(steps.length >= 8, `only ${steps.length} trace steps`);
  const highlighted = () => page.evaluate(() => {
    const marks = document.querySelectorAll("#policy-editor .cm-traceLine");
    if (marks.length !== 1) return marks.length === 0 ? null : -marks.length;
    const view = window.playground.policyView;
    return view.state.doc.lineAt(view.posAtDOM(marks[0])).number;
  });
  for (const step of steps) {
    const line = Number(await step.getAttribute("data-line"));
    await step.click();
    assert.equal(await highlighted(), line, await step.textContent());
  }
  // The rule that denied: its line is the one that says so.
  const deny = await page.$("#trace li.fired button.step:has-text('deny no_usable_credits')");
  await deny.focus();
  await page.keyboard.press("Enter");
  const line = await highlighted();
  assert.equal(line, Number(await deny.getAttribute("data-line")));
  const lineText = await page.evaluate((n) => window.playground.policyView.state.doc.line(n).text, line);
  assert.match(lineText, /deny no_usable_credits/);
  assert.match(await page.textContent("#status"), new RegExp(`Policy line ${line} highlighted`));
  await shot(page, "trace");
  await page.context().close();
});

test("compare with the served policy: the same at first, an edited spend line changes the decision, marked", async () => {
  const page = await openPage(browser, server.url);
  await loadAccount(page, "ended-subscription-locked.toml");
  await page.selectOption("#compare-with", "ampere");
  await settled(page);
  assert.equal(await page.$$eval("#result section.decision", (c) => c.length), 2);
  assert.match(await page.textContent("#result .diff-summary"), /Both policies decide the same/);
  const served = await shownDecision(page, 1);
  assert.deepEqual(served.differs, []);
  assert.deepEqual(served.next_steps.map((s) => s.code), ["wait_for_settlement", "buy_credits", "resume_subscription"]);

  // Reordering the kinds changes no decision: decide's totals do not depend
  // on which grant pays first (the charge does).
  const spend = "spend included, promotional, purchased by expires_at, granted_at, id";
  await typeOver(page, "policyView", spend, "spend purchased, promotional, included by granted_at, id");
  await settled(page);
  assert.match(await page.textContent("#result .diff-summary"), /Both policies decide the same/);

  // Dropping `purchased` from the spend line: locked purchased credits
  // then settle nothing, so "wait for settlement" is no longer a next step.
  await typeOver(page, "policyView", "spend purchased, promotional, included by granted_at, id",
    "spend included, promotional by expires_at, granted_at, id");
  await settled(page);
  assert.match(await page.textContent("#result .diff-summary"), /Differences: next steps\./);
  const edited = await shownDecision(page, 0);
  const servedNow = await shownDecision(page, 1);
  assert.deepEqual(edited.differs, ["next_steps"]);
  assert.deepEqual(servedNow.differs, ["next_steps"]);
  assert.deepEqual(edited.next_steps.map((s) => s.code), ["buy_credits", "resume_subscription"]);
  assert.deepEqual(servedNow.next_steps.filter((s) => s.only).map((s) => s.code), ["wait_for_settlement"]);
  assert.equal(edited.outcome, servedNow.outcome);
  assert.match(await page.textContent("#status"), /differs from served ampere in 1 part/);
  await shot(page, "compare");

  // Reasons and balance differ too when the edited policy no longer locks
  // purchased credits after a subscription ended.
  await typeOver(page, "policyView", "lock purchased when subscription.status in [ended, canceled]",
    "lock purchased when subscription.status in [canceled]");
  await settled(page);
  const unlocked = await shownDecision(page, 0);
  assert.deepEqual(unlocked.differs.sort(), ["balance", "next_steps", "reasons"].sort());
  assert.equal(unlocked.balance.locked, "0");
  assert.equal((await shownDecision(page, 1)).balance.locked, "640.5");
  await page.context().close();
});

test("a share link restores everything in a new browser context", async () => {
  const page = await openPage(browser, server.url, { permissions: ["clipboard-read", "clipboard-write"] });
  await loadAccount(page, "ended-subscription-locked.toml");
  await typeOver(page, "policyView", "/// Ampere's billing rules.", "/// Ampere's billing rules, shared: ünïcødé ✓.");
  await page.selectOption("#role", "billing_admin");
  await page.selectOption("#action", "buy_credits");
  await page.fill("#now", "2026-12-01T00:00:00Z");
  await page.selectOption("#compare-with", "ampere");
  await settled(page);
  const before = {
    policy: await editorText(page, "policyView"), snapshot: await editorText(page, "snapshotView"),
    decision: await shownDecision(page, 0), served: await shownDecision(page, 1),
  };
  assert.equal(before.decision.outcome, "allow");
  await page.click("#share");
  await page.waitForFunction(() => document.querySelector("#share-link").value.includes("#share="));
  const link = await page.inputValue("#share-link");
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), link);
  assert.match(await page.textContent("#status"), /nothing is stored on the server/);
  assert.ok(!link.includes("ampere"), "the state is compressed, not spelled out");
  await page.context().close();

  const fresh = await openPage(browser, link);
  assert.equal(await editorText(fresh, "policyView"), before.policy);
  assert.equal(await editorText(fresh, "snapshotView"), before.snapshot);
  assert.equal(await fresh.inputValue("#snapshot-format"), "toml");
  assert.equal(await fresh.inputValue("#role"), "billing_admin");
  assert.equal(await fresh.inputValue("#action"), "buy_credits");
  assert.equal(await fresh.inputValue("#now"), "2026-12-01T00:00:00Z");
  assert.equal(await fresh.inputValue("#compare-with"), "ampere");
  assert.deepEqual(await shownDecision(fresh, 0), before.decision);
  assert.deepEqual(await shownDecision(fresh, 1), before.served);
  assert.match(await fresh.textContent("#status"), /Restored from the share link/);

  // A damaged link says so and falls back to the example.
  await fresh.goto(server.url + "/#share=AAAA-not-deflate");
  await fresh.reload();
  await fresh.waitForSelector("body[data-ready=true]");
  await settled(fresh);
  assert.match(await fresh.textContent("#status"), /cannot be read/);
  assert.equal(await editorText(fresh, "policyView"), repoFile("policies/ampere.policy"));
  await fresh.context().close();
});

test("edits are kept in the address bar: a reload brings them back", async () => {
  const page = await openPage(browser, server.url);
  assert.equal(new URL(page.url()).hash, "", "an unedited page keeps a plain address");
  await typeOver(page, "policyView", "/// Ampere's billing rules.", "/// Ampere's billing rules, kept across a reload.");
  await page.selectOption("#role", "owner");
  await settled(page);
  await page.waitForFunction(() => location.hash.startsWith("#share="));
  const edited = await editorText(page, "policyView");
  const decision = await shownDecision(page, 0);
  await page.reload();
  await page.waitForSelector("body[data-ready=true]");
  await settled(page);
  assert.equal(await editorText(page, "policyView"), edited);
  assert.equal(await page.inputValue("#role"), "owner");
  assert.deepEqual(await shownDecision(page, 0), decision);
  await page.context().close();
});

test("a share link made outside the page (deflate-raw, base64url) opens; an undeclared role stays, marked", async () => {
  const state = {
    v: 1, policy: repoFile("policies/ampere.policy"), snapshot: repoFile("examples/dispute-debt.json"),
    format: "json", role: "membr", action: "send_message", now: "", compare: "",
  };
  const packed = await new Response(new Blob([JSON.stringify(state)]).stream()
    .pipeThrough(new CompressionStream("deflate-raw"))).arrayBuffer();
  const page = await openPage(browser, `${server.url}/#share=${Buffer.from(packed).toString("base64url")}`);
  assert.equal(await editorText(page, "snapshotView"), state.snapshot);
  assert.equal(await page.inputValue("#role"), "membr");
  assert.equal(await page.$eval("#role option:checked", (o) => o.text), "membr (not in this policy)");
  const result = await page.textContent("#result");
  assert.match(result, /membr/);
  assert.match(result, /did you mean `member`\?/);
  // Choosing a declared role decides.
  await page.selectOption("#role", "member");
  await settled(page);
  assert.equal((await shownDecision(page)).state, "debt");
  assert.equal(await page.$$eval("#role option", (o) => o.filter((x) => x.text.includes("not in this policy")).length), 0);
  await page.context().close();
});

test("every control is reachable with Tab, and the editors do not trap focus", async () => {
  const page = await openPage(browser, server.url);
  const seen = [];
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press("Tab");
    seen.push(await page.evaluate(() => {
      const a = document.activeElement;
      if (a.classList.contains("cm-content")) return a.getAttribute("aria-label");
      if (a.classList.contains("step")) return "trace step";
      return a.id || a.tagName;
    }));
  }
  for (const want of ["example-policy", "load-policy", "example-account", "load-account", "compare-with", "share",
    "Policy editor", "snapshot-format", "Snapshot editor", "role", "action", "now", "trace step"]) {
    assert.ok(seen.includes(want), `${want} is never focused; got ${seen.join(", ")}`);
  }
  // Every control has a name a screen reader reads.
  const unnamed = await page.$$eval("select, input, button, [role=textbox], .cm-content", (els) => els
    .filter((e) => !(e.getAttribute("aria-label") || e.labels?.length || e.textContent.trim()))
    .map((e) => e.outerHTML.slice(0, 80)));
  assert.deepEqual(unnamed, []);
  await page.context().close();
});

test("axe finds no serious or critical accessibility violation", async () => {
  const require = createRequire(import.meta.url);
  const axe = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
  const page = await openPage(browser, server.url);
  await loadAccount(page, "dispute-debt.json");
  await page.selectOption("#compare-with", "ampere");
  await settled(page);
  const check = async (what) => {
    await page.evaluate(axe); // through the DevTools protocol, which the page's CSP does not govern
    const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
    const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join("; ")}`);
    assert.deepEqual(bad, [], `${what}:\n${bad.join("\n")}`);
    return result.violations.length;
  };
  await check("comparing");
  await typeOver(page, "policyView", "permit member to", "permit membr to");
  await settled(page);
  await page.hover("#policy-editor .cm-lintRange-error");
  await page.waitForSelector(".cm-tooltip-lint");
  await check("with a diagnostic, its tooltip and the list of problems");
  await page.context().close();
});

test("the documentation's screenshot is small enough", () => {
  const path = join(ROOT, "docs/img/playground.png");
  const size = statSync(path).size;
  assert.ok(size < 300 * 1024, `docs/img/playground.png is ${size} bytes`);
  assert.deepEqual([...readFileSync(path).subarray(1, 4)], [0x50, 0x4e, 0x47]);
});
