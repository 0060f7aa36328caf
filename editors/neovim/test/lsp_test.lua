-- Headless check of ftplugin/tollgate.lua: options, and the language server
-- it starts, against the stand-in server editors/test/fake-lsp.mjs (the
-- real `tollgate lsp` has its own end-to-end test with Neovim).
--   FAKE_LSP=editors/test/fake-lsp.mjs nvim --headless -u NONE -i NONE \
--     --cmd 'set rtp^=editors/neovim' -c 'luafile editors/neovim/test/lsp_test.lua'
-- Exits 0 when every check holds, 1 otherwise (printing each failure).

local out = function(s)
  io.stdout:write(s .. "\n")
end
local failures, checks = 0, 0
local function check(ok, what)
  checks = checks + 1
  if not ok then
    failures = failures + 1
    out("FAIL " .. what)
  end
end
local function finish()
  local v = vim.version()
  out(("neovim %d.%d.%d, ftplugin/tollgate.lua: %d checks, %d failed"):format(v.major, v.minor, v.patch, checks, failures))
  vim.cmd(failures == 0 and "qall!" or "cquit 1")
end

local fake = vim.fn.fnamemodify(os.getenv("FAKE_LSP") or "", ":p")
if vim.fn.executable(fake) ~= 1 then
  check(false, "FAKE_LSP is not an executable: " .. fake)
  return finish()
end

local function clients(bufnr)
  if vim.lsp.get_clients then
    return vim.lsp.get_clients({ bufnr = bufnr, name = "tollgate" })
  end
  local found = {}
  for _, c in pairs(bufnr and vim.lsp.buf_get_clients(bufnr) or vim.lsp.get_active_clients()) do
    if c.name == "tollgate" then
      table.insert(found, c)
    end
  end
  return found
end

local notes = {}
local notify = vim.notify
vim.notify = function(msg, level, ...)
  table.insert(notes, { msg = msg, level = level })
  return notify(msg, level, ...)
end

-- A project with a .git root and a subdirectory, so root detection shows.
local root = vim.fn.resolve(vim.fn.tempname())
vim.fn.mkdir(root .. "/.git", "p")
vim.fn.mkdir(root .. "/policies", "p")
local log = root .. "/server.log"
vim.fn.setenv("FAKE_LSP_LOG", log)
for _, name in ipairs({ "off", "missing", "first", "second" }) do
  vim.fn.writefile({ "policy " .. name, "role owner" }, root .. "/policies/" .. name .. ".policy")
end

vim.cmd("filetype plugin on")
vim.cmd("syntax on")

-- 1. `vim.g.tollgate_lsp = false`: options, no server.
vim.g.tollgate_lsp = false
vim.cmd("edit " .. root .. "/policies/off.policy")
check(vim.bo.filetype == "tollgate", "filetype of off.policy is " .. vim.bo.filetype)
check(vim.bo.commentstring == "// %s", "commentstring is " .. vim.bo.commentstring)
check(vim.bo.comments == ":///,://", "comments is " .. vim.bo.comments)
check(vim.bo.shiftwidth == 2 and vim.bo.expandtab, "indent is 2 spaces")
check(vim.b.undo_ftplugin ~= nil, "b:undo_ftplugin is set")
check(#clients() == 0, "no server with vim.g.tollgate_lsp = false")
vim.g.tollgate_lsp = nil

-- 2. A binary that is not there: one warning, no server, no error.
vim.g.tollgate_path = root .. "/no/such/tollgate"
vim.v.errmsg = ""
vim.cmd("edit " .. root .. "/policies/missing.policy")
check(vim.v.errmsg == "", "opening with a missing binary raised: " .. vim.v.errmsg)
check(#clients() == 0, "no server when the binary is missing")
local warned = vim.tbl_filter(function(n)
  return n.level == vim.log.levels.WARN and n.msg:find("no/such/tollgate", 1, true) and n.msg:find("vim.g.tollgate_path", 1, true)
end, notes)
check(#warned == 1, ("one warning naming the path and the setting, got %d: %s"):format(#warned, vim.inspect(notes)))

-- 3. The binary: `<path> lsp` starts for the buffer, rooted at the .git
-- directory, and its diagnostics arrive.
vim.g.tollgate_path = fake
vim.cmd("edit " .. root .. "/policies/first.policy")
local first = vim.api.nvim_get_current_buf()
local attached = vim.wait(5000, function()
  return #clients(first) == 1
end, 20)
check(attached, "a tollgate client attached to first.policy")
local uri = vim.uri_from_bufnr(first)
local got = vim.wait(5000, function()
  return #vim.diagnostic.get(first) > 0
end, 20)
check(got, "diagnostics published for first.policy")
if got then
  check(vim.diagnostic.get(first)[1].message == "fake diagnostic", "the server's diagnostic is shown")
end
local client = clients(first)[1]
if client then
  check(client.config.root_dir == root, ("root_dir is %s, expected %s"):format(tostring(client.config.root_dir), root))
  check(client.config.cmd[1] == fake and client.config.cmd[2] == "lsp", "cmd is " .. vim.inspect(client.config.cmd))
end

-- 4. A second policy in the same project shares the client.
vim.cmd("edit " .. root .. "/policies/second.policy")
local second = vim.api.nvim_get_current_buf()
vim.wait(5000, function()
  return #clients(second) == 1
end, 20)
check(#clients(second) == 1, "second.policy has the tollgate client")
check(#clients() == 1, ("one client for the project, got %d"):format(#clients()))

-- What the server saw.
vim.wait(5000, function()
  local ok, lines = pcall(vim.fn.readfile, log)
  return ok and vim.tbl_contains(lines, "textDocument/didOpen " .. vim.uri_from_bufnr(second))
end, 20)
local ok, seen = pcall(vim.fn.readfile, log)
seen = ok and seen or {}
check(seen[1] == "argv lsp", "started as `<path> lsp`: " .. tostring(seen[1]))
check(vim.tbl_contains(seen, "initialize"), "the server got initialize")
check(vim.tbl_contains(seen, "textDocument/didOpen " .. uri), "the server got didOpen for first.policy")
check(vim.tbl_contains(seen, "textDocument/didOpen " .. vim.uri_from_bufnr(second)), "the server got didOpen for second.policy")
check(#vim.tbl_filter(function(l)
  return l == "initialize"
end, seen) == 1, "one server process, initialized once")

local function stop_all()
  local all = vim.lsp.get_clients and vim.lsp.get_clients() or vim.lsp.get_active_clients()
  vim.lsp.stop_client(all)
  vim.wait(5000, function()
    return #clients() == 0
  end, 20)
end
stop_all()

-- 5. Neovim 0.11+: lsp/tollgate.lua is the default configuration, and
-- `vim.lsp.config("tollgate", ...)` changes it for the ftplugin's server.
if vim.lsp.config then
  local default = vim.lsp.config.tollgate
  check(default and default.cmd and default.cmd[1] == "tollgate" and default.cmd[2] == "lsp", "lsp/tollgate.lua is on the runtimepath: " .. vim.inspect(default))
  check(default and vim.tbl_contains(default.filetypes or {}, "tollgate"), "lsp/tollgate.lua names the tollgate filetype")
  vim.g.tollgate_path = nil
  vim.fn.writefile({}, root .. "/policies/marker.txt")
  vim.fn.writefile({ "policy configured" }, root .. "/policies/configured.policy")
  vim.lsp.config("tollgate", { cmd = { fake, "lsp" }, root_markers = { "marker.txt" } })
  vim.cmd("edit " .. root .. "/policies/configured.policy")
  local buf = vim.api.nvim_get_current_buf()
  vim.wait(5000, function()
    return #clients(buf) == 1
  end, 20)
  local c = clients(buf)[1]
  check(c ~= nil, "vim.lsp.config('tollgate', ...) gave a client")
  if c then
    check(c.config.cmd[1] == fake, "the configured cmd was used: " .. vim.inspect(c.config.cmd))
    check(c.config.root_dir == root .. "/policies", "the configured root marker was used: " .. tostring(c.config.root_dir))
  end
  stop_all()
end

vim.fn.delete(root, "rf")
finish()
