// How the extension finds `tollgate` (src/resolve.ts, bundled to out/resolve.js
// by `npm run build`), on real files in a temporary directory.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

const require = createRequire(import.meta.url);
const { findTollgate } = require("../out/resolve.js");

let dir;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "tollgate-resolve-"));
  for (const sub of ["bin1", "bin2", "project/tools", "home/.cargo/bin"]) mkdirSync(join(dir, sub), { recursive: true });
  const exe = (path) => {
    writeFileSync(path, "#!/bin/sh\n");
    chmodSync(path, 0o755);
  };
  exe(join(dir, "bin2", "tollgate"));
  exe(join(dir, "project/tools", "tollgate"));
  exe(join(dir, "home/.cargo/bin", "tollgate"));
  writeFileSync(join(dir, "bin1", "tollgate"), "not executable");
  chmodSync(join(dir, "bin1", "tollgate"), 0o644);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const where = (extra = {}) => ({
  pathEnv: [join(dir, "bin1"), join(dir, "bin2")].join(":"),
  platform: "linux",
  baseDir: join(dir, "project"),
  home: join(dir, "home"),
  ...extra,
});

test("the default finds the first executable `tollgate` on the PATH", () => {
  const found = findTollgate(undefined, where());
  assert.deepEqual(found, { ok: true, command: join(dir, "bin2", "tollgate") });
  assert.deepEqual(findTollgate("  ", where()), found, "an empty setting is the default");
  assert.deepEqual(findTollgate("tollgate", where()), found);
});

test("a bare name missing from the PATH says so", () => {
  const found = findTollgate("tollgate", where({ pathEnv: join(dir, "bin1") }));
  assert.equal(found.ok, false);
  assert.match(found.reason, /`tollgate` was not found on the PATH \(1 directory searched\)/);
  const none = findTollgate(undefined, where({ pathEnv: undefined }));
  assert.match(none.reason, /0 directories searched/);
});

test("a relative path is taken from the workspace folder", () => {
  assert.deepEqual(findTollgate("tools/tollgate", where()), { ok: true, command: join(dir, "project/tools/tollgate") });
  assert.deepEqual(findTollgate("./tools/tollgate", where()), { ok: true, command: join(dir, "project/tools/tollgate") });
  const noFolder = findTollgate("tools/tollgate", where({ baseDir: undefined }));
  assert.equal(noFolder.ok, false);
  assert.match(noFolder.reason, /no workspace folder/);
});

test("~ is the home directory; absolute paths are used as they are", () => {
  assert.deepEqual(findTollgate("~/.cargo/bin/tollgate", where()), { ok: true, command: join(dir, "home/.cargo/bin/tollgate") });
  const abs = join(dir, "bin2", "tollgate");
  assert.deepEqual(findTollgate(abs, where()), { ok: true, command: abs });
});

test("a configured path that is missing, a directory or not executable is refused with the reason", () => {
  const missing = findTollgate(join(dir, "nope", "tollgate"), where());
  assert.equal(missing.ok, false);
  assert.match(missing.reason, /does not exist/);
  const notExe = findTollgate(join(dir, "bin1", "tollgate"), where());
  assert.equal(notExe.ok, false);
  assert.match(notExe.reason, /is not an executable file/);
  const aDir = findTollgate(join(dir, "bin1"), where());
  assert.equal(aDir.ok, false);
  assert.match(aDir.reason, /is not an executable file/);
});

test("on Windows, PATH is split on ; and PATHEXT extensions are tried", () => {
  writeFileSync(join(dir, "bin1", "tollgate.EXE"), "");
  const found = findTollgate("tollgate", where({ platform: "win32", pathEnv: `${join(dir, "bin1")};`, pathExt: ".COM;.EXE" }));
  assert.deepEqual(found, { ok: true, command: join(dir, "bin1", "tollgate.EXE") });
});

test("on Windows, a name given with its extension is used as it is", () => {
  const found = findTollgate("tollgate.exe", where({ platform: "win32", pathEnv: join(dir, "bin1"), pathExt: ".COM;.EXE" }));
  assert.equal(found.ok, false, "tollgate.exe does not exist: only tollgate.EXE, and Linux file names are case-sensitive");
  const exact = findTollgate("tollgate.EXE", where({ platform: "win32", pathEnv: join(dir, "bin1"), pathExt: ".COM;.EXE" }));
  assert.deepEqual(exact, { ok: true, command: join(dir, "bin1", "tollgate.EXE") });
});
