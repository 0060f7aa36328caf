// The tollgate extension: highlighting comes from the TextMate grammar and
// the language configuration (package.json); everything else (diagnostics,
// fixes, hover, definition, rename, completion, formatting, ...) from
// `tollgate lsp`, which this client starts over standard input and output.
import * as vscode from "vscode";
import {
  type Executable,
  LanguageClient,
  type LanguageClientOptions,
  type ServerOptions,
} from "vscode-languageclient/node";
import { findTollgate } from "./resolve";

let client: LanguageClient | undefined;
let output: vscode.LogOutputChannel | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel("tollgate", { log: true });
  context.subscriptions.push(
    output,
    vscode.commands.registerCommand("tollgate.restartServer", () => restart()),
    vscode.commands.registerCommand("tollgate.showOutput", () => output?.show()),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration("tollgate.path")) void restart();
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => void restart()),
  );
  await start();
}

export async function deactivate(): Promise<void> {
  await stop();
}

async function restart(): Promise<void> {
  await stop();
  await start();
}

async function stop(): Promise<void> {
  const running = client;
  client = undefined;
  if (running) {
    try {
      await running.stop();
    } catch (err) {
      output?.warn(`stopping the language server: ${String(err)}`);
    }
  }
}

async function start(): Promise<void> {
  const configured = vscode.workspace.getConfiguration("tollgate").get<string>("path", "tollgate");
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  const baseDir = folder?.scheme === "file" ? folder.fsPath : undefined;
  const found = findTollgate(configured, {
    pathEnv: process.env.PATH,
    pathExt: process.env.PATHEXT,
    platform: process.platform,
    baseDir,
  });
  if (!found.ok) {
    output?.error(`not starting the language server: ${found.reason}`);
    void missingBinary(found.reason);
    return;
  }

  output?.info(`starting \`${found.command} lsp\``);
  // No `transport`: with `TransportKind.stdio` the client would append
  // `--stdio` to the arguments. Without it, it still talks over the
  // child's standard input and output, and the command is exactly `lsp`.
  const run: Executable = {
    command: found.command,
    args: ["lsp"],
    options: baseDir ? { cwd: baseDir } : {},
  };
  const serverOptions: ServerOptions = { run, debug: run };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: "tollgate" },
      { scheme: "untitled", language: "tollgate" },
    ],
    outputChannel: output,
    synchronize: {
      // Test cases sit next to the policy (`<policy>.tests.toml`); the
      // server's code lens counts them.
      fileEvents: vscode.workspace.createFileSystemWatcher("**/*.{policy,tests.toml}"),
    },
  };
  // The id `tollgate` makes the client read `tollgate.trace.server`.
  const next = new LanguageClient("tollgate", "tollgate", serverOptions, clientOptions);
  client = next;
  try {
    await next.start();
  } catch (err) {
    if (client === next) client = undefined;
    const message =
      `tollgate: \`${found.command} lsp\` did not start (${errorText(err)}). ` +
      "A tollgate built before the language server has no `lsp` command: update it, or point `tollgate.path` at a newer binary.";
    output?.error(message);
    void vscode.window.showErrorMessage(message, "Show Output").then((pick) => {
      if (pick === "Show Output") output?.show();
    });
  }
}

async function missingBinary(reason: string): Promise<void> {
  const pick = await vscode.window.showErrorMessage(
    `tollgate: cannot start the language server. ${reason} ` +
      "Highlighting still works. Install tollgate (`cargo install --path .` in its repository) " +
      "or set `tollgate.path` to the binary, then run “tollgate: Restart the language server”.",
    "Open Settings",
    "Show Output",
  );
  if (pick === "Open Settings") {
    await vscode.commands.executeCommand("workbench.action.openSettings", "tollgate.path");
  } else if (pick === "Show Output") {
    output?.show();
  }
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
