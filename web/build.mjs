// Bundles src/main.ts into dist/ (one JS file, the CSS and index.html). No CDN.
import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";

mkdirSync("dist", { recursive: true });
await build({
  entryPoints: ["src/main.ts"],
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2020",
  outfile: "dist/playground.js",
  legalComments: "none",
  // The shipped policy and an example account are the starting text.
  loader: { ".policy": "text", ".json": "text" },
});
copyFileSync("src/index.html", "dist/index.html");
copyFileSync("src/style.css", "dist/style.css");
