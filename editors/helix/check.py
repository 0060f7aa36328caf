"""Checks languages.toml the way Helix would read it, as far as that can be
done without Helix (Debian has no package for it): it parses as TOML, uses
only keys Helix's language configuration knows, and says what README.md
says it says."""

import sys
import tomllib
from pathlib import Path

here = Path(__file__).parent
config = tomllib.loads((here / "languages.toml").read_text())

# Keys of Helix's `LanguageConfiguration` and `LanguageServerConfiguration`
# (helix-core, 23.10 to 25.07); Helix rejects unknown keys.
LANGUAGE_KEYS = {
    "name", "language-id", "scope", "file-types", "shebangs", "roots",
    "comment-token", "comment-tokens", "block-comment-tokens", "text-width",
    "soft-wrap", "auto-format", "formatter", "diagnostic-severity",
    "injection-regex", "indent", "language-servers", "grammar", "auto-pairs",
    "rulers", "debugger", "workspace-lsp-roots", "persistent-diagnostic-sources",
}
SERVER_KEYS = {"command", "args", "config", "timeout", "environment", "required-root-patterns"}

problems = []
servers = config.get("language-server", {})
languages = config.get("language", [])
if set(config) - {"language-server", "language"}:
    problems.append(f"unexpected top-level keys: {sorted(set(config) - {'language-server', 'language'})}")
if len(languages) != 1:
    problems.append(f"expected one [[language]], found {len(languages)}")
for name, server in servers.items():
    if set(server) - SERVER_KEYS:
        problems.append(f"[language-server.{name}] has unknown keys {sorted(set(server) - SERVER_KEYS)}")
for lang in languages:
    if set(lang) - LANGUAGE_KEYS:
        problems.append(f"[[language]] {lang.get('name')} has unknown keys {sorted(set(lang) - LANGUAGE_KEYS)}")
    for needed in ("name", "scope", "file-types"):
        if needed not in lang:
            problems.append(f"[[language]] lacks `{needed}`, which Helix requires")
    for ls in lang.get("language-servers", []):
        if ls not in servers:
            problems.append(f"language server `{ls}` is not defined under [language-server]")

lang = languages[0] if languages else {}
expect = {
    ("name",): "tollgate",
    ("file-types",): ["policy"],
    ("comment-token",): "//",
    ("language-servers",): ["tollgate"],
}
for (key,), value in expect.items():
    if lang.get(key) != value:
        problems.append(f"`{key}` is {lang.get(key)!r}, not {value!r}")
server = servers.get("tollgate", {})
if [server.get("command"), *server.get("args", [])] != ["tollgate", "lsp"]:
    problems.append(f"the server is {server!r}, not `tollgate lsp`")

if problems:
    print("editors/helix/languages.toml:", *problems, sep="\n  ", file=sys.stderr)
    sys.exit(1)
print("helix: languages.toml parses; language `tollgate` for *.policy, `//` comments, server `tollgate lsp`")
