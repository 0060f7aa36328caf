// Finds the `tollgate` binary the extension starts. No `vscode` import, so
// the unit tests (test/resolve.test.mjs) run it under plain Node.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export interface Found {
  ok: true;
  /** The absolute path of the binary. */
  command: string;
}

export interface NotFound {
  ok: false;
  /** What was configured, as the user wrote it. */
  configured: string;
  /** One sentence: why nothing was found. */
  reason: string;
}

export interface Where {
  /** `process.env.PATH`, or a stand-in in tests. */
  pathEnv: string | undefined;
  /** `process.env.PATHEXT` on Windows. */
  pathExt?: string | undefined;
  platform: NodeJS.Platform;
  /** Relative configured paths are taken from here (the first workspace folder). */
  baseDir: string | undefined;
  home?: string;
}

/**
 * `tollgate.path` to an executable: a bare name (`tollgate`) is looked up on
 * the PATH like a shell would; anything with a slash is a path, relative
 * ones from the workspace folder, `~` being the home directory.
 */
export function findTollgate(configured: string | undefined, where: Where): Found | NotFound {
  const setting = (configured ?? "").trim() || "tollgate";
  const home = where.home ?? os.homedir();
  const windows = where.platform === "win32";
  const expanded =
    setting === "~" ? home : setting.startsWith("~/") || setting.startsWith("~\\") ? path.join(home, setting.slice(2)) : setting;
  // Windows runs only files with an executable extension: `tollgate` means
  // `tollgate.exe` (or another PATHEXT extension) unless one is given.
  const pathExts = (where.pathExt ?? ".COM;.EXE;.BAT;.CMD").split(";").filter(Boolean);
  const hasExt = pathExts.some((e) => expanded.toUpperCase().endsWith(e.toUpperCase()));
  const exts = windows && !hasExt ? pathExts : [""];

  const isPath = expanded.includes("/") || (windows && expanded.includes("\\"));
  if (isPath) {
    let full = expanded;
    if (!path.isAbsolute(full)) {
      if (!where.baseDir) {
        return {
          ok: false,
          configured: setting,
          reason: `\`tollgate.path\` is the relative path \`${setting}\`, and there is no workspace folder to take it from.`,
        };
      }
      full = path.resolve(where.baseDir, full);
    }
    for (const ext of exts) {
      if (isExecutable(full + ext, windows)) return { ok: true, command: full + ext };
    }
    return {
      ok: false,
      configured: setting,
      reason: fs.existsSync(full)
        ? `\`${full}\` (from \`tollgate.path\`) is not an executable file.`
        : `\`${full}\` (from \`tollgate.path\`) does not exist.`,
    };
  }

  const dirs = (where.pathEnv ?? "").split(windows ? ";" : ":").filter(Boolean);
  for (const dir of dirs) {
    for (const ext of exts) {
      const candidate = path.join(dir, expanded + ext);
      if (isExecutable(candidate, windows)) return { ok: true, command: candidate };
    }
  }
  return {
    ok: false,
    configured: setting,
    reason: `\`${setting}\` was not found on the PATH (${dirs.length} director${dirs.length === 1 ? "y" : "ies"} searched).`,
  };
}

function isExecutable(file: string, windows: boolean): boolean {
  try {
    if (!fs.statSync(file).isFile()) return false;
    if (!windows) fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
