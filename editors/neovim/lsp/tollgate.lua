-- The tollgate language server for Neovim 0.11+'s `vim.lsp.config`: with
-- this directory on 'runtimepath', `vim.lsp.config.tollgate` is this table
-- merged with whatever you pass to `vim.lsp.config('tollgate', { ... })`.
-- The ftplugin starts it for every tollgate buffer; `vim.lsp.enable('tollgate')`
-- works too (set `vim.g.tollgate_lsp = false` then, so only one path starts it).
return {
  cmd = { "tollgate", "lsp" },
  filetypes = { "tollgate" },
  root_markers = { ".git" },
}
