// Renders a policy highlighted by the extension's TextMate grammar, the way
// VS Code would show it with a Dark+-like theme, to HTML, and screenshots
// that page with headless Chromium (Debian's, at /usr/bin/chromium; no
// browser is downloaded).
//
//   node scripts/render-sample.mjs [POLICY] [--html OUT.html] [--png OUT.png]
//
// Defaults: images/sample.policy, target/editors/highlighting.html and
// images/highlighting.png. The colours are the scope rules below: VS Code's
// Dark+ colours for the scope families Dark+ colours, and for
// `entity.name.constant` (declared actions, kinds, enum values, states),
// which Dark+ leaves plain, its colour for constants and enum members.
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { tokenize } from "./tokenize.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const [value] = args.splice(i, 2).slice(1);
  return value;
};
const htmlOut = resolve(option("--html", join(root, "..", "..", "target", "editors", "highlighting.html")));
const pngOut = resolve(option("--png", join(root, "images", "highlighting.png")));
const policy = resolve(args[0] ?? join(root, "images", "sample.policy"));

// Scope selector -> colour (and style). The longest selector that prefixes a
// token's innermost matching scope wins, as in a TextMate theme.
const THEME = {
  background: "#1e1e1e",
  foreground: "#d4d4d4",
  rules: [
    ["comment", "#6a9955"],
    ["comment.line.documentation", "#6a9955", "italic"],
    ["string", "#ce9178"],
    ["string.unquoted.fallback", "#ce9178", "italic"],
    ["constant.character.escape", "#d7ba7d"],
    ["constant.numeric", "#b5cea8"],
    ["keyword.other.unit", "#b5cea8"],
    ["constant.language", "#569cd6"],
    ["keyword", "#569cd6"],
    ["keyword.control", "#c586c0"],
    ["keyword.operator", "#d4d4d4"],
    ["keyword.operator.expression", "#569cd6"],
    ["storage.type", "#569cd6"],
    ["entity.name.function", "#dcdcaa"],
    ["support.function", "#dcdcaa"],
    ["entity.name.type", "#4ec9b0"],
    ["entity.name.namespace", "#4ec9b0"],
    ["support.type", "#4ec9b0"],
    ["entity.name.constant", "#4fc1ff"],
    ["support.constant", "#4fc1ff"],
    ["entity.name.variable", "#9cdcfe"],
    ["variable", "#9cdcfe"],
    ["variable.language", "#569cd6"],
    ["support.variable", "#9cdcfe"],
    ["punctuation.section.interpolation", "#569cd6"],
    ["invalid", "#f44747"],
  ],
};

function styleOf(scopes) {
  for (let i = scopes.length - 1; i >= 0; i--) {
    const scope = scopes[i];
    let best;
    for (const [selector, color, fontStyle] of THEME.rules) {
      if ((scope === selector || scope.startsWith(selector + ".")) && (!best || selector.length > best.selector.length)) {
        best = { selector, color, fontStyle };
      }
    }
    if (best) return best;
  }
  return { color: THEME.foreground };
}

const escape = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

const source = readFileSync(policy, "utf8").replace(/\n$/, "");
const lines = await tokenize(source);
const width = String(lines.length).length;
const body = lines
  .map((tokens, i) => {
    const code = tokens
      .map((t) => {
        const { color, fontStyle } = styleOf(t.scopes);
        const style = `color:${color}${fontStyle === "italic" ? ";font-style:italic" : ""}`;
        return `<span style="${style}" title="${escape(t.scopes.slice(1).join(" "))}">${escape(t.text)}</span>`;
      })
      .join("");
    return `<div class="line"><span class="ln">${String(i + 1).padStart(width)}</span>${code || " "}</div>`;
  })
  // No newline between the lines: inside <pre> it would be a blank line.
  .join("");

const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escape(basename(policy))}: tollgate highlighting</title>
<style>
  body { margin: 0; background: ${THEME.background}; }
  .window { display: inline-block; min-width: 100%; }
  .tab { font: 13px system-ui, sans-serif; color: #ffffff; background: ${THEME.background};
         border-top: 1px solid #0078d4; padding: 8px 16px; display: inline-block; }
  .bar { background: #252526; }
  pre { margin: 0; padding: 10px 16px 14px 0; color: ${THEME.foreground}; background: ${THEME.background};
        font: 13px/19px "DejaVu Sans Mono", "Liberation Mono", monospace; }
  .ln { color: #858585; display: inline-block; width: ${width + 4}ch; text-align: right; padding-right: 2ch; user-select: none; }
</style>
</head>
<body>
<div class="window">
<div class="bar"><span class="tab">${escape(basename(policy))}</span></div>
<pre>${body}</pre>
</div>
</body>
</html>
`;
mkdirSync(dirname(htmlOut), { recursive: true });
writeFileSync(htmlOut, html);
console.log(`wrote ${htmlOut}`);

const { chromium } = await import("playwright-core");
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 600 }, deviceScaleFactor: 1 });
  await page.goto(pathToFileURL(htmlOut).href);
  const window = await page.$(".window");
  mkdirSync(dirname(pngOut), { recursive: true });
  await window.screenshot({ path: pngOut });
} finally {
  // Playwright gives the browser a new, empty profile directory of its own.
  await browser.close();
}
console.log(`wrote ${pngOut} (${Math.round(statSync(pngOut).size / 1024)} KB)`);
