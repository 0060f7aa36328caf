-- tollgate policies: comments, indentation, and the language server.
--
-- Settings (set them before a policy is opened, e.g. in init.lua):
--   vim.g.tollgate_path = "/path/to/tollgate"  -- default: `tollgate` on $PATH
--   vim.g.tollgate_lsp = false                 -- do not start the server here
-- On Neovim 0.11+, `vim.lsp.config("tollgate", { ... })` changes the server's
-- configuration too (lsp/tollgate.lua is the default).

if vim.b.did_ftplugin then
  return
end
vim.b.did_ftplugin = 1

local bufnr = vim.api.nvim_get_current_buf()

vim.bo.commentstring = "// %s"
-- `///` doc comments first, so `gq` and Enter keep the third slash.
vim.bo.comments = ":///,://"
vim.bo.shiftwidth = 2
vim.bo.softtabstop = 2
vim.bo.expandtab = true
vim.opt_local.formatoptions:remove("t")
vim.opt_local.formatoptions:append("croql")
vim.b.undo_ftplugin = "setlocal commentstring< comments< shiftwidth< softtabstop< expandtab< formatoptions<"

if vim.g.tollgate_lsp == false or vim.g.tollgate_lsp == 0 then
  return
end

-- The server's configuration: lsp/tollgate.lua (and the user's changes to
-- it) on 0.11+, the same defaults before.
local config = { name = "tollgate", cmd = { "tollgate", "lsp" }, root_markers = { ".git" } }
if vim.lsp.config then
  local ok, resolved = pcall(function()
    return vim.lsp.config.tollgate
  end)
  if ok and type(resolved) == "table" then
    config = vim.tbl_deep_extend("force", config, resolved)
  end
end
if vim.g.tollgate_path and vim.g.tollgate_path ~= "" and type(config.cmd) == "table" then
  config.cmd = vim.list_extend({ vim.fn.expand(vim.g.tollgate_path) }, vim.list_slice(config.cmd, 2))
end

if type(config.cmd) == "table" and vim.fn.executable(config.cmd[1]) ~= 1 then
  -- Once per session: every policy opened would say the same.
  if not vim.g.tollgate_missing_reported then
    vim.g.tollgate_missing_reported = true
    vim.notify(
      ("tollgate: `%s` is not an executable on $PATH or at that path, so .policy files get no language server. "
        .. "Install tollgate (`cargo install --path .` in its repository) or set vim.g.tollgate_path."):format(
        config.cmd[1]
      ),
      vim.log.levels.WARN
    )
  end
  return
end

-- The nearest directory above the file holding a root marker, else the file's own.
local function root_dir()
  local name = vim.api.nvim_buf_get_name(bufnr)
  local dir = name ~= "" and vim.fn.fnamemodify(name, ":p:h") or vim.fn.getcwd()
  for _, marker in ipairs(config.root_markers or {}) do
    local found = vim.fn.finddir(marker, dir .. ";")
    if found == "" then
      found = vim.fn.findfile(marker, dir .. ";")
    end
    if found ~= "" then
      return vim.fn.fnamemodify(vim.fn.fnamemodify(found, ":p"):gsub("/$", ""), ":h")
    end
  end
  return dir
end
config.root_dir = config.root_dir or root_dir()

if vim.lsp.start then
  -- Neovim 0.8+: reuses the client already running for this root.
  vim.lsp.start(config, { bufnr = bufnr })
else
  -- Neovim 0.7 (Debian 12's): start a client, or attach to the one for this root.
  for _, client in pairs(vim.lsp.get_active_clients()) do
    if client.name == "tollgate" and client.config.root_dir == config.root_dir then
      vim.lsp.buf_attach_client(bufnr, client.id)
      return
    end
  end
  local id = vim.lsp.start_client(config)
  if id then
    vim.lsp.buf_attach_client(bufnr, id)
  end
end
