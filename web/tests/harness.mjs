// What the browser tests share: the real server binary on a free port,
// Debian's Chromium driven by playwright-core (never a downloaded browser),
// the command line's own decisions to compare the page with, and helpers
// that read the page the way a person sees it.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const BINARY = process.env.TOLLGATE_BIN ?? join(ROOT, "target/debug/tollgate");
export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
export const SHOTS = join(ROOT, "target/playground-screenshots");
export const FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

/** `tollgate serve policies/` on a free loopback port; resolves with its
 *  base URL once it says where it listens. */
export async function startServer() {
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: run \`cargo build\` first`);
  const child = spawn(BINARY, ["serve", "policies/", "--addr", "127.0.0.1:0"], {
    cwd: ROOT, stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  const url = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`the server said nothing about listening in 20 s:\n${log}`)), 20_000);
    const read = (chunk) => {
      log += chunk;
      const m = log.match(/listening on (http:\/\/[0-9.:]+)/);
      if (m) { clearTimeout(timer); ok(m[1]); }
    };
    child.stdout.on("data", read);
    child.stderr.on("data", read);
    child.on("exit", (code) => { clearTimeout(timer); fail(new Error(`the server exited (${code}):\n${log}`)); });
  });
  child.stdout.resume();
  child.stderr.resume();
  const stop = () => new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    child.once("exit", () => done());
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), 5_000).unref();
  });
  process.once("exit", () => child.kill("SIGKILL"));
  return { url, stop };
}

export async function startBrowser() {
  if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM} (apt-get install chromium)`);
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
}

/** A new page in a new context on the playground, once it has decided. */
export async function openPage(browser, url, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, ...options });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.errors = errors;
  await page.goto(url);
  await page.waitForSelector("body[data-ready=true]", { timeout: 15_000 });
  await settled(page);
  return page;
}

/** Waits until no evaluation is pending (debounce or request). */
export async function settled(page, timeout = 10_000) {
  await page.waitForFunction(() => !window.playground.pending(), null, { timeout, polling: 20 });
}

export async function shot(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  const path = join(SHOTS, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

/** `tollgate decide` on a shipped policy and example account. */
export function decideCli(policy, snapshot, role, action) {
  const r = spawnSync(BINARY, ["decide", `policies/${policy}.policy`, "--snapshot", `examples/${snapshot}`,
    "--role", role, "--action", action], { cwd: ROOT, encoding: "utf8" });
  if (!r.stdout.trim()) throw new Error(`tollgate decide printed nothing (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

export function repoFile(path) {
  return readFileSync(join(ROOT, path), "utf8");
}

/** The decision shown in the n-th card (0: the edited policy, 1: the
 *  served one when comparing), as text read off the page. */
export async function shownDecision(page, n = 0) {
  return page.$$eval("#result section.decision", (cards, n) => {
    const card = cards[n];
    if (!card) return null;
    const field = (f) => card.querySelector(`[data-field="${f}"]`);
    const list = (f) => Array.from(field(f).querySelectorAll("li"), (li) => ({
      code: li.dataset.code, message: li.querySelector(".message")?.textContent ?? "",
      only: li.classList.contains("only"),
    }));
    const outcome = field("outcome").querySelector(".outcome");
    return {
      outcome: ["allow", "deny"].find((o) => outcome.classList.contains(o)) ?? outcome.textContent,
      outcomeText: outcome.textContent,
      state: field("state").querySelector("dd").textContent.trim(),
      balance: Object.fromEntries(Array.from(field("balance").querySelectorAll("li"),
        (li) => [li.dataset.key, li.querySelector(".v").textContent])),
      reasons: list("reasons"), next_steps: list("next_steps"), warnings: list("warnings"), effects: list("effects"),
      differs: Array.from(card.querySelectorAll(".field.differs"), (f) => f.dataset.field),
    };
  }, n);
}

/** Replaces `from` (which must occur exactly once) in an editor, as a
 *  person typing would: select it, then type the new text. */
export async function typeOver(page, editor, from, to, { keepCompletion = false } = {}) {
  const at = await page.evaluate(([editor, from]) => {
    const view = window.playground[editor];
    const text = view.state.doc.toString();
    const i = text.indexOf(from);
    if (i < 0 || text.indexOf(from, i + 1) >= 0) return -1;
    view.focus();
    view.dispatch({ selection: { anchor: i, head: i + from.length }, scrollIntoView: true });
    return i;
  }, [editor, from]);
  if (at < 0) throw new Error(`\`${from}\` is not in the ${editor} exactly once`);
  await page.keyboard.type(to);
  // Close the completion list typing may have opened (and nothing else:
  // Escape with no list open does nothing in the editor).
  if (!keepCompletion) await page.keyboard.press("Escape");
}

export async function editorText(page, editor) {
  return page.evaluate((editor) => window.playground[editor].state.doc.toString(), editor);
}
