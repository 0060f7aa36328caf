-- Headless check of syntax/tollgate.vim: open test/syntax.policy and
-- compare the syntax group under named tokens with the expected one.
--   nvim --headless -u NONE -i NONE --cmd 'set rtp^=editors/neovim' \
--     -c 'luafile editors/neovim/test/syntax_test.lua'
-- Exits 0 when every case holds, 1 otherwise (printing each failure).

local here = debug.getinfo(1, "S").source:sub(2):match("(.*/)")
local out = function(s)
  io.stdout:write(s .. "\n")
end

vim.cmd("filetype on")
vim.cmd("syntax on")
vim.v.errmsg = ""
vim.cmd("edit " .. vim.fn.fnameescape(here .. "syntax.policy"))

-- { text that picks the line (first line containing it), token, group, [nth occurrence in the line] }
local cases = {
  { "/// A doc", "///", "tollgateDocComment" },
  { "// A comment", "//", "tollgateComment" },
  { "// A comment", "TODO", "tollgateTodo" },
  { "policy sample", "policy", "tollgateDeclaration" },
  { "policy sample", "sample", "tollgateDeclName" },
  { "role owner", "role", "tollgateDeclaration" },
  { "role owner", "owner", "tollgateDeclName" },
  { "role owner", "with", "tollgateKeyword" },
  { "role owner", "access", "tollgateKeyword" },
  { "actions billable", "actions", "tollgateDeclaration" },
  { "actions billable", "billable", "tollgateDeclName" },
  { "actions billable", ":", "tollgateDelimiter" },
  { "actions billable", ",", "tollgateDelimiter" },
  { "permit owner", "permit", "tollgateDeclaration" },
  { "permit owner", "owner", "tollgateName" },
  { "permit owner", "to", "tollgateKeyword" },
  { "permit owner", "all", "tollgateKeyword" },
  { "permit owner", "except", "tollgateKeyword" },
  { "credits included", "credits", "tollgateDeclaration" },
  { "debts outstanding", "debts", "tollgateDeclaration" },
  { "enum status", "enum", "tollgateDeclaration" },
  { "enum status", "status", "tollgateDeclName" },
  { "field subscription.status", "field", "tollgateDeclaration" },
  { "field subscription.status", "subscription.status", "tollgateField" },
  { "field subscription.status", "default", "tollgateKeyword" },
  { "field settings.threshold", "optional", "tollgateKeyword" },
  { "field settings.threshold", "decimal", "tollgateType" },
  { "field settings.grace", "duration", "tollgateType" },
  { "field settings.grace", "7d", "tollgateDuration" },
  { "lock purchased", "lock", "tollgateDeclaration" },
  { "lock purchased", "when", "tollgateConditional" },
  { "lock purchased", "in", "tollgateOperatorWord" },
  { "lock purchased", "[", "tollgateDelimiter" },
  { "lock purchased", "{", "tollgateDelimiter" },
  { "message \"Locked", "message", "tollgateKeyword" },
  { "message \"Locked", "\"Locked", "tollgateString" },
  { "message \"Locked", "{", "tollgateInterpolationDelim" },
  { "message \"Locked", "subscription.status", "tollgateInterpolation" },
  { "message \"Locked", "}", "tollgateInterpolationDelim" },
  { "message \"Locked", "literal", "tollgateString" },
  { "message \"Locked", "{{", "tollgateBraces" },
  { "message \"Locked", "\\\"", "tollgateEscape" },
  { "may settle", "may", "tollgateKeyword" },
  { "may settle", "settle", "tollgateKeyword" },
  { "spend included", "spend", "tollgateDeclaration" },
  { "spend included", "by", "tollgateKeyword" },
  { "spend included", "desc", "tollgateKeyword" },
  { "shortfall of charge is invoiced", "shortfall", "tollgateDeclaration" },
  { "shortfall of charge is invoiced", "of", "tollgateKeyword" },
  { "shortfall of charge is invoiced", "charge", "tollgateOperation" },
  { "shortfall of charge is invoiced", "is", "tollgateKeyword" },
  { "shortfall of charge is invoiced", "invoiced", "tollgateOperation" },
  { "shortfall of charge is invoiced", "charge", "tollgateBuiltin", 2 },
  { "shortfall of charge is invoiced", "amount", "tollgateProperty" },
  { "shortfall of charge is invoiced", "<=", "tollgateOperator" },
  { "shortfall of charge is invoiced", "10", "tollgateNumber" },
  { "outstanding_usage otherwise", "otherwise", "tollgateConditional" },
  { "settle by created_at", "settle", "tollgateDeclaration" },
  { "from usable", "from", "tollgateKeyword" },
  { "from usable", "usable", "tollgateBuiltin" },
  { "from usable", "locked", "tollgateBuiltin" },
  { "from usable", "only", "tollgateContext" },
  { "assert members_never_buy", "assert", "tollgateDeclaration" },
  { "assert members_never_buy", "members_never_buy", "tollgateDeclName" },
  { "when debt > 0: never", "never", "tollgateContext" },
  { "when debt > 0: never", "implies", "tollgateContext" },
  { "when debt > 0: never", "some", "tollgateContext" },
  { "expire purchased", "expire", "tollgateDeclaration" },
  { "expire purchased", "after", "tollgateContext" },
  { "expire purchased", "1y", "tollgateDuration" },
  { "let threshold", "let", "tollgateDeclaration" },
  { "let threshold", "threshold", "tollgateDeclName" },
  { "let threshold", "=", "tollgateAssign" },
  { "let threshold", "??", "tollgateOperator" },
  { "let threshold", "100", "tollgateNumber" },
  { "let soon", "sum", "tollgateKeyword" },
  { "let soon", "grants", "tollgateKeyword" },
  { "let soon", "where", "tollgateKeyword" },
  { "let soon", "now", "tollgateBuiltin" },
  { "let soon", "1mo", "tollgateDuration" },
  { "let soon", "12h", "tollgateDuration" },
  { "let soon", "+", "tollgateOperator" },
  { "let slips", "&&", "tollgateBadOperator" },
  { "let slips", "||", "tollgateBadOperator" },
  { "let slips", "!", "tollgateBadOperator" },
  { "let slips", "true", "tollgateBoolean" },
  { "let typo", "3min", "tollgateBadDuration" },
  { "state debt", "state", "tollgateDeclaration" },
  { "state debt", "debt", "tollgateDeclName" },
  { "state debt", "debt", "tollgateBuiltin", 2 },
  { "step buy_credits", "step", "tollgateDeclaration" },
  { "step buy_credits", "buy_credits", "tollgateStepName" },
  { "step buy_credits", ":date", "tollgateFormat" },
  { "step buy_credits", "?? some", "tollgateFallback" },
  { "on forbidden", "on", "tollgateDeclaration" },
  { "on forbidden", "forbidden", "tollgateForbidden" },
  { "deny not_permitted", "deny", "tollgateRule" },
  { "deny not_permitted", "not_permitted", "tollgateRuleName" },
  { "{action}", "action", "tollgateInterpolation" },
  { "steps for billing", "steps", "tollgateKeyword" },
  { "steps for billing", "for", "tollgateKeyword" },
  { "buy_credits when action", "action", "tollgateBuiltin" },
  { "on charge", "charge", "tollgateOperation" },
  { "warn low", "warn", "tollgateRule" },
  { "warn low", "low", "tollgateRuleName" },
  { "warn low", "even if denied", "tollgateContext" },
  { "effect top_up", "effect", "tollgateRule" },
  { "effect top_up", "top_up", "tollgateRuleName" },
  { "effect top_up", "before", "tollgateBuiltin" },
  { "effect top_up", ">=", "tollgateOperator" },
  { "amount = 10", "=", "tollgateAssign" },
}

local lines = vim.api.nvim_buf_get_lines(0, 0, -1, false)
local failures = 0
local function fail(msg)
  failures = failures + 1
  out("FAIL " .. msg)
end

if vim.bo.filetype ~= "tollgate" then
  fail("filetype is '" .. vim.bo.filetype .. "', not 'tollgate' (ftdetect/tollgate.vim)")
end
if vim.b.current_syntax ~= "tollgate" then
  fail("b:current_syntax is " .. tostring(vim.b.current_syntax))
end
if vim.v.errmsg ~= "" then
  fail("loading the syntax file reported: " .. vim.v.errmsg)
end

for _, case in ipairs(cases) do
  local pick, token, group, nth = case[1], case[2], case[3], case[4] or 1
  local lnum
  for i, line in ipairs(lines) do
    if line:find(pick, 1, true) then
      lnum = i
      break
    end
  end
  if not lnum then
    fail(("no line contains %q"):format(pick))
  else
    local line, from = lines[lnum], 0
    for _ = 1, nth do
      from = line:find(token, from + 1, true)
      if not from then
        break
      end
    end
    if not from then
      fail(("line %d has no occurrence %d of %q"):format(lnum, nth, token))
    else
      -- Every column of the token has the group.
      for col = from, from + #token - 1 do
        local got = vim.fn.synIDattr(vim.fn.synID(lnum, col, 1), "name")
        if got ~= group then
          fail(("line %d col %d (%q in %q): %s, expected %s"):format(lnum, col, token, line, got == "" and "(none)" or got, group))
          break
        end
      end
    end
  end
end

-- Every group the file defines is exercised above, so a group renamed or
-- lost in the syntax file fails here.
local defined = vim.split(vim.fn.execute("syntax list"), "\n")
local expected = {}
for _, case in ipairs(cases) do
  expected[case[3]] = true
end
local groups = 0
for _, l in ipairs(defined) do
  local name = l:match("^(tollgate%w+)%s+xxx")
  if name then
    groups = groups + 1
    if not expected[name] then
      fail("syntax group " .. name .. " is defined but no case checks it")
    end
  end
end
if groups < 20 then
  fail(("only %d syntax groups listed: did the syntax file load?"):format(groups))
end

local v = vim.version()
out(("neovim %d.%d.%d, syntax/tollgate.vim: %d cases, %d groups, %d failed"):format(v.major, v.minor, v.patch, #cases, groups, failures))
vim.cmd(failures == 0 and "qall!" or "cquit 1")
