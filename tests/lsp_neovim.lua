-- The client half of tests/lsp_neovim.rs: headless Neovim as a real
-- editor speaking to `tollgate lsp`. It opens a policy with a typo, waits
-- for the diagnostic, applies the quick fix, asks hover, definition,
-- completion and formatting, writes the buffer, and reports what it saw
-- as JSON. Every wait is bounded; any failure is reported, then Neovim
-- quits. Works on Neovim 0.7 (Debian 12) and later.

local bin = vim.env.TOLLGATE_BIN
local policy = vim.env.TOLLGATE_POLICY
local report_path = vim.env.TOLLGATE_REPORT
local WAIT = 15000

local report = { steps = {} }

local function step(name)
  table.insert(report.steps, name)
end

local function find(buf, needle)
  for i, line in ipairs(vim.api.nvim_buf_get_lines(buf, 0, -1, false)) do
    local col = line:find(needle, 1, true)
    if col then
      return { line = i - 1, character = col - 1 }
    end
  end
  error('not in the buffer: ' .. needle)
end

local function request(buf, method, params)
  local answers, err = vim.lsp.buf_request_sync(buf, method, params, WAIT)
  if not answers then
    error(method .. ': ' .. tostring(err))
  end
  for _, a in pairs(answers) do
    if a.error then
      error(method .. ': ' .. vim.inspect(a.error))
    end
    return a.result
  end
  error(method .. ': no answer')
end

local function errors(buf)
  return vim.diagnostic.get(buf, { severity = vim.diagnostic.severity.ERROR })
end

local function main()
  vim.cmd('edit ' .. vim.fn.fnameescape(policy))
  local buf = vim.api.nvim_get_current_buf()
  local uri = vim.uri_from_bufnr(buf)
  local config = {
    name = 'tollgate',
    cmd = { bin, 'lsp' },
    root_dir = vim.fn.fnamemodify(policy, ':h'),
  }
  local id
  if vim.lsp.start then
    id = vim.lsp.start(config)
  else
    id = vim.lsp.start_client(config)
    vim.lsp.buf_attach_client(buf, id)
  end
  if not id then
    error('the server did not start')
  end
  step('started')
  report.neovim = tostring(vim.version().major) .. '.' .. tostring(vim.version().minor)

  if not vim.wait(WAIT, function() return #errors(buf) > 0 end, 20) then
    error('no error diagnostic')
  end
  local client = vim.lsp.get_client_by_id(id)
  local enc = client.offset_encoding or 'utf-16'
  local d = errors(buf)[1]
  report.diagnostic = { line = d.lnum, col = d.col, message = d.message, code = d.code }
  step('diagnostic')

  local range = {
    start = { line = d.lnum, character = d.col },
    ['end'] = { line = d.end_lnum, character = d.end_col },
  }
  local actions = request(buf, 'textDocument/codeAction', {
    textDocument = { uri = uri },
    range = range,
    context = {
      diagnostics = { { range = range, message = d.message, severity = 1, code = d.code } },
    },
  }) or {}
  report.actions = {}
  for _, a in ipairs(actions) do
    table.insert(report.actions, a.title)
  end
  if not actions[1] or not actions[1].edit then
    error('no quick fix')
  end
  vim.lsp.util.apply_workspace_edit(actions[1].edit, enc)
  -- The fix reached the server through Neovim's own change tracking.
  if not vim.wait(WAIT, function() return #errors(buf) == 0 end, 20) then
    error('the error outlived its fix')
  end
  report.errors_after_fix = #errors(buf)
  step('fixed')

  local at_member = find(buf, 'permit member to')
  at_member.character = at_member.character + #'permit '
  local hover = request(buf, 'textDocument/hover', {
    textDocument = { uri = uri },
    position = at_member,
  })
  report.hover = hover and hover.contents and (hover.contents.value or hover.contents) or vim.NIL
  step('hover')

  local at_billable = find(buf, 'on billable {')
  at_billable.character = at_billable.character + #'on '
  local def = request(buf, 'textDocument/definition', {
    textDocument = { uri = uri },
    position = at_billable,
  })
  if def and def[1] then
    def = def[1]
  end
  report.definition = def and { uri = def.uri == uri, range = def.range } or vim.NIL
  step('definition')

  -- Completion after `to `: the start of `billable` in the permit line.
  local at_to = find(buf, 'permit member to ')
  at_to.character = at_to.character + #'permit member to '
  local items = request(buf, 'textDocument/completion', {
    textDocument = { uri = uri },
    position = at_to,
  }) or {}
  if items.items then
    items = items.items
  end
  report.completion = {}
  for _, item in ipairs(items) do
    table.insert(report.completion, item.label)
  end
  step('completion')

  -- Spoil the layout of one line; formatting puts it back.
  local role = find(buf, 'role member')
  vim.api.nvim_buf_set_lines(buf, role.line, role.line + 1, false, { 'role    member   ' })
  local edits = request(buf, 'textDocument/formatting', {
    textDocument = { uri = uri },
    options = { tabSize = 2, insertSpaces = true },
  }) or {}
  report.formatting_edits = #edits
  vim.lsp.util.apply_text_edits(edits, buf, enc)
  step('formatting')

  vim.cmd('write')
  step('written')
  vim.lsp.stop_client(id)
  vim.wait(WAIT, function() return vim.lsp.client_is_stopped(id) end, 20)
  report.stopped = vim.lsp.client_is_stopped(id)
end

local ok, err = pcall(main)
if not ok then
  report.error = tostring(err)
end
vim.fn.writefile({ vim.json.encode(report) }, report_path)
vim.cmd('qall!')
