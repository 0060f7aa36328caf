// Bundles the client into out/extension.js (one file: vscode-languageclient
// included, `vscode` left to the editor), and src/resolve.ts on its own into
// out/resolve.js for the unit tests.
import { build } from "esbuild";

const production = process.argv.includes("--production");
const common = {
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node18",
  sourcemap: !production,
  minify: production,
  legalComments: "none",
  logLevel: "warning",
};
await build({ ...common, entryPoints: ["src/extension.ts"], outfile: "out/extension.js", external: ["vscode"] });
await build({ ...common, entryPoints: ["src/resolve.ts"], outfile: "out/resolve.js" });
