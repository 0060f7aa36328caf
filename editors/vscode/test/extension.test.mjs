// The bundled client (out/extension.js) under a stand-in `vscode` module:
// what a user sees when `tollgate` is missing, and that with a binary it
// starts `<tollgate.path> lsp` over stdio and speaks LSP to it (the server
// here is editors/test/fake-lsp.mjs; the real `tollgate lsp` has its own
// tests). VS Code itself cannot be downloaded here, so its API is stubbed:
// only what the client calls.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, existsSync, rmSync } from "node:fs";
import Module, { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const fakeServer = fileURLToPath(new URL("../../test/fake-lsp.mjs", import.meta.url));

/** A stub that answers any property or call with itself, for the API corners the client only touches. */
function anything(name = "stub") {
  const fn = function () {};
  return new Proxy(fn, {
    get(target, prop) {
      if (prop === "then") return undefined;
      if (prop === Symbol.iterator) return function* () {};
      if (prop === Symbol.toPrimitive) return () => name;
      if (prop === "dispose") return () => {};
      if (!(prop in target)) target[prop] = anything(`${name}.${String(prop)}`);
      return target[prop];
    },
    apply: () => anything(`${name}()`),
    construct: () => anything(`new ${name}`),
  });
}

class Disposable {
  constructor(fn) {
    this.fn = fn;
  }
  static from(...items) {
    return new Disposable(() => items.forEach((d) => d?.dispose?.()));
  }
  dispose() {
    this.fn?.();
  }
}
class EventEmitter {
  listeners = [];
  event = (listener) => {
    this.listeners.push(listener);
    return new Disposable(() => {});
  };
  fire(value) {
    this.listeners.forEach((l) => l(value));
  }
  dispose() {}
}
const noEvent = () => new Disposable(() => {});

function textDocument(path, languageId, text) {
  const uri = { scheme: "file", fsPath: path, path, toString: () => `file://${path}` };
  return {
    uri,
    fileName: path,
    languageId,
    version: 1,
    isClosed: false,
    isDirty: false,
    isUntitled: false,
    lineCount: text.split("\n").length,
    getText: () => text,
  };
}

function makeVscode({ settings, documents = [] }) {
  const shown = { errors: [], diagnostics: new Map() };
  const lines = [];
  const channel = {
    name: "tollgate",
    logLevel: 2,
    onDidChangeLogLevel: noEvent,
    append: (s) => lines.push(s),
    appendLine: (s) => lines.push(s),
    replace() {},
    clear() {},
    show() {},
    hide() {},
    dispose() {},
    trace: (s) => lines.push(`trace ${s}`),
    debug: (s) => lines.push(`debug ${s}`),
    info: (s) => lines.push(`info ${s}`),
    warn: (s) => lines.push(`warn ${s}`),
    error: (s) => lines.push(`error ${s}`),
  };
  const configuration = (section) => ({
    get: (key, fallback) => settings[section ? `${section}.${key}` : key] ?? fallback,
    has: () => false,
    inspect: () => undefined,
    update: async () => {},
  });
  const base = anything("vscode");
  const vscode = Object.assign(base, {
    version: "1.91.0",
    Disposable,
    EventEmitter,
    Position: class {
      constructor(line, character) {
        Object.assign(this, { line, character });
      }
    },
    Range: class {
      constructor(a, b, c, d) {
        Object.assign(this, typeof a === "number" ? { start: { line: a, character: b }, end: { line: c, character: d } } : { start: a, end: b });
      }
    },
    Diagnostic: class {
      constructor(range, message, severity) {
        Object.assign(this, { range, message, severity });
      }
    },
    DiagnosticSeverity: { Error: 0, Warning: 1, Information: 2, Hint: 3 },
    CancellationTokenSource: class {
      token = { isCancellationRequested: false, onCancellationRequested: noEvent };
      cancel() {
        this.token.isCancellationRequested = true;
      }
      dispose() {}
    },
    Uri: {
      parse: (s) => ({ toString: () => s, scheme: s.split(":")[0], fsPath: s.replace(/^file:\/\//, "") }),
      file: (p) => ({ toString: () => `file://${p}`, scheme: "file", fsPath: p }),
    },
    env: { language: "en", appName: "stub", machineId: "stub", sessionId: "stub", uriScheme: "vscode" },
    window: Object.assign(anything("window"), {
      createOutputChannel: () => channel,
      showErrorMessage: async (message, ...items) => {
        shown.errors.push(message);
        return undefined;
      },
      showWarningMessage: async () => undefined,
      showInformationMessage: async () => undefined,
      visibleTextEditors: [],
      activeTextEditor: undefined,
      onDidChangeVisibleTextEditors: noEvent,
      onDidChangeActiveTextEditor: noEvent,
    }),
    workspace: Object.assign(anything("workspace"), {
      getConfiguration: configuration,
      workspaceFolders: undefined,
      textDocuments: documents,
      notebookDocuments: [],
      onDidChangeConfiguration: noEvent,
      onDidGrantWorkspaceTrust: noEvent,
      onDidOpenTextDocument: noEvent,
      onDidCloseTextDocument: noEvent,
      onDidChangeTextDocument: noEvent,
      onDidSaveTextDocument: noEvent,
      onWillSaveTextDocument: noEvent,
      onDidChangeWorkspaceFolders: noEvent,
      createFileSystemWatcher: () => ({
        onDidCreate: noEvent,
        onDidChange: noEvent,
        onDidDelete: noEvent,
        dispose() {},
      }),
    }),
    languages: Object.assign(anything("languages"), {
      createDiagnosticCollection: (name) => ({
        name,
        set: (uri, diagnostics) => shown.diagnostics.set(String(uri), diagnostics ?? []),
        delete() {},
        clear() {},
        forEach() {},
        get: () => undefined,
        has: () => false,
        dispose() {},
      }),
      // What the client asks to decide which documents it syncs.
      match: (selector, document) => {
        const filters = Array.isArray(selector) ? selector : [selector];
        return filters.some(
          (f) => (!f.language || f.language === document.languageId) && (!f.scheme || f.scheme === document.uri.scheme),
        )
          ? 10
          : 0;
      },
    }),
    commands: Object.assign(anything("commands"), {
      registerCommand: () => new Disposable(() => {}),
      executeCommand: async () => undefined,
    }),
  });
  return { vscode, shown, lines };
}

/** Loads a fresh copy of out/extension.js with `vscode` resolved to the stub. */
function loadExtension(vscode) {
  const bundle = require.resolve("../out/extension.js");
  delete require.cache[bundle];
  const original = Module._load;
  Module._load = function (request, ...rest) {
    if (request === "vscode") return vscode;
    return original.call(this, request, ...rest);
  };
  try {
    return require(bundle);
  } finally {
    Module._load = original;
  }
}

const context = () => ({ subscriptions: [], extensionPath: process.cwd(), extensionUri: { fsPath: process.cwd() } });

test("a missing binary is reported once, with the path and what to do", async () => {
  const { vscode, shown, lines } = makeVscode({ settings: { "tollgate.path": "/nowhere/bin/tollgate" } });
  const extension = loadExtension(vscode);
  await extension.activate(context());
  assert.equal(shown.errors.length, 1, shown.errors.join("\n"));
  assert.match(shown.errors[0], /cannot start the language server/);
  assert.match(shown.errors[0], /`\/nowhere\/bin\/tollgate` \(from `tollgate\.path`\) does not exist/);
  assert.match(shown.errors[0], /set `tollgate\.path`/);
  assert.ok(lines.some((l) => l.startsWith("error not starting the language server")), lines.join("\n"));
  await extension.deactivate();
});

test("`tollgate` missing from the PATH is reported as such", async () => {
  const saved = process.env.PATH;
  process.env.PATH = "/nonexistent-dir";
  try {
    const { vscode, shown } = makeVscode({ settings: {} });
    const extension = loadExtension(vscode);
    await extension.activate(context());
    assert.equal(shown.errors.length, 1);
    assert.match(shown.errors[0], /`tollgate` was not found on the PATH/);
    await extension.deactivate();
  } finally {
    process.env.PATH = saved;
  }
});

test("with a binary, the client starts `<path> lsp` and speaks LSP to it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tollgate-client-"));
  const log = join(dir, "lsp.log");
  process.env.FAKE_LSP_LOG = log;
  try {
    const documents = [
      textDocument(join(dir, "ampere.policy"), "tollgate", "policy ampere\n"),
      textDocument(join(dir, "notes.md"), "markdown", "# notes\n"),
    ];
    const { vscode, shown, lines } = makeVscode({ settings: { "tollgate.path": fakeServer }, documents });
    const extension = loadExtension(vscode);
    await extension.activate(context());
    assert.deepEqual(shown.errors, [], lines.join("\n"));
    // The server answers the open with a diagnostic; wait for it to land.
    const policyUri = `file://${join(dir, "ampere.policy")}`;
    for (let i = 0; i < 100 && !shown.diagnostics.has(policyUri); i++) await new Promise((r) => setTimeout(r, 20));
    const diagnostics = shown.diagnostics.get(policyUri);
    assert.ok(diagnostics, `no diagnostics published for ${policyUri}: ${[...shown.diagnostics.keys()]}; server log: ${existsSync(log) ? readFileSync(log, "utf8") : "none"}; client: ${lines.join("\n")}`);
    assert.equal(diagnostics[0]?.message, "fake diagnostic");
    await extension.deactivate();
    assert.ok(existsSync(log), "the server never ran");
    const received = readFileSync(log, "utf8").trim().split("\n");
    assert.equal(received[0], "argv lsp", "started as `<path> lsp`");
    assert.ok(received.includes("initialize"), received.join("\n"));
    assert.ok(received.includes("initialized"), received.join("\n"));
    assert.ok(received.includes(`textDocument/didOpen ${policyUri}`), "the open .policy is synced: " + received.join("\n"));
    assert.ok(!received.some((l) => l.includes("notes.md")), "a markdown file is not: " + received.join("\n"));
    assert.ok(received.includes("shutdown"), "deactivate shuts the server down: " + received.join("\n"));
  } finally {
    delete process.env.FAKE_LSP_LOG;
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a binary that fails to start is reported, not thrown", async () => {
  const { vscode, shown } = makeVscode({ settings: { "tollgate.path": "/bin/false" } });
  const extension = loadExtension(vscode);
  await extension.activate(context());
  assert.equal(shown.errors.length >= 1, true, "an error is shown");
  assert.ok(
    shown.errors.some((e) => /`\/bin\/false lsp` did not start/.test(e) && /no `lsp` command/.test(e)),
    shown.errors.join("\n"),
  );
  await extension.deactivate();
});
