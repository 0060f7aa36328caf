" Vim syntax file
" Language:    tollgate policy (*.policy)
" Description: keywords, comments and doc comments, strings with
"              {interpolation}, numbers, durations, operators, built-ins.
"              The grammar is grammar/policy.pest; the VS Code grammar
"              (editors/vscode/syntaxes) is the richer of the two.

if exists("b:current_syntax")
  finish
endif
let s:cpo_save = &cpo
set cpo&vim

syn case match
syn iskeyword @,48-57,_

" ── Words that are keywords wherever they stand ──
syn keyword tollgateKeyword with access optional default to all except may by asc desc
syn keyword tollgateKeyword from steps message for others sum count of where grants is
syn keyword tollgateConditional when otherwise
syn keyword tollgateOperatorWord and or not in
syn keyword tollgateBoolean true false
syn keyword tollgateForbidden forbidden

" ── Names and built-ins (matches: a keyword above would win over them) ──
syn match tollgateName "\<\h\w*\>"
" The head of a dotted path, and the words after its dots (keywords too:
" `settings.default`).
syn match tollgateProperty "\.\@1<=\h\w*"
syn match tollgateBuiltin "\<\%(usable\|locked\|expired\|debt\|settleable\|now\|account\|role\|action\)\>"
syn match tollgateBuiltin "\<\%(before\|charge\|refund\|grant\)\>\ze\s*\."

" Declaration keywords mid-line (a keyword where a name should be).
syn match tollgateKeyword "\<\%(policy\|role\|actions\|credits\|debts\|enum\|field\|permit\|lock\|spend\|settle\|let\|step\|state\|on\|shortfall\|expire\|assert\)\>\%(\s*\.\)\@!"

" ── Declarations: a keyword at the start of a line, and the name it declares ──
syn match tollgateDeclaration "^\s*\zs\<\%(policy\|role\|actions\|credits\|debts\|enum\|field\|permit\|lock\|spend\|settle\|let\|step\|state\|on\|shortfall\|expire\|assert\)\>"
syn match tollgateDeclName "\%(^\s*\%(policy\|role\|actions\|enum\|let\|state\|assert\)\s\+\)\@<=\h\w*"
syn match tollgateStepName "\%(^\s*step\s\+\)\@<=\h\w*"
syn match tollgateField "\%(^\s*field\s\+\)\@<=\h\w*\%(\.\h\w*\)*"
syn match tollgateType "\%(:\s*\%(optional\s\+\)\=\)\@<=\<\%(decimal\|bool\|text\|time\|duration\)\>"
" `on charge {`, `shortfall of refund is ...`: the ledger operations.
syn match tollgateOperation "\%(^\s*on\s\+\|\<of\s\+\)\@<=\<\%(charge\|settle\|grant\|refund\)\>"
syn match tollgateOperation "\%(\<is\s\+\)\@<=\<\%(invoiced\|waived\)\>"

" ── Rules: deny, warn, effect and the code each declares ──
syn keyword tollgateRule deny warn effect
syn match tollgateRuleName "\%(\<\%(deny\|warn\|effect\)\s\+\)\@<=\%(when\>\)\@!\h\w*"

" ── Words that are keywords only where the language uses them ──
syn match tollgateContext "\<after\>\ze\s*\d"
syn match tollgateContext "\<only\>\ze\s\+\h"
syn match tollgateContext "\<even\s\+if\s\+denied\>"
" An assertion's claim: `never step buy`, `state paused implies some step`.
syn match tollgateContext "\<\%(never\|implies\|permitted\|allow\)\>"
syn match tollgateContext "\<some\>\ze\s\+\%(step\|warn\|effect\)\>"

" ── Literals ──
syn match tollgateNumber "\<\d\%(\d\|_\d\@=\)*\%(\.\d\+\)\=\>"
" A number run into letters (`3min`, `1q`): the checker lists the units.
syn match tollgateBadDuration "\<\d\%(\d\|_\d\@=\)*\%(\.\d\+\)\=\a\w*"
syn match tollgateDuration "\<\d\%(\d\|_\d\@=\)*\%(mo\|y\|d\|h\|m\|s\)\>"

syn region tollgateString start=+"+ skip=+\\\\\|\\"+ end=+"+ end=+$+ contains=tollgateEscape,tollgateBraces,tollgateInterpolation,@Spell
syn match tollgateEscape "\\." contained
syn match tollgateBraces "{{\|}}" contained
syn region tollgateInterpolation matchgroup=tollgateInterpolationDelim start="{{\@!" end="}" end=+\ze"+ contained oneline contains=tollgateEscape,tollgateFormat,tollgateFallback
syn match tollgateFormat ":\s*\h\w*" contained
syn match tollgateFallback "??[^}"]*" contained contains=tollgateEscape

" ── Operators and punctuation ──
syn match tollgateOperator "==\|!=\|<=\|>=\|<\|>\|??\|[-+*]"
" Slips from other languages the parser accepts only to say what to write.
syn match tollgateBadOperator "&&\|||\|!\%(=\)\@!\|[=!<>]\@1<!=[=]\@!"
syn match tollgateAssign "\%(^\s*\%(let\s\+\)\=\h\w*\s*\)\@<==[=]\@!"
syn match tollgateDelimiter "[{}()\[\],:]"

" ── Comments, last: they win over everything they start with ──
syn keyword tollgateTodo TODO FIXME XXX NOTE contained
syn match tollgateComment "//.*$" contains=tollgateTodo,@Spell
syn match tollgateDocComment "///.*$" contains=tollgateTodo,@Spell

hi def link tollgateComment        Comment
hi def link tollgateDocComment     SpecialComment
hi def link tollgateTodo           Todo
hi def link tollgateDeclaration    Structure
hi def link tollgateDeclName       Identifier
hi def link tollgateStepName       Function
hi def link tollgateField          Identifier
hi def link tollgateType           Type
hi def link tollgateOperation      Constant
hi def link tollgateRule           Statement
hi def link tollgateRuleName       Function
hi def link tollgateKeyword        Keyword
hi def link tollgateContext        Keyword
hi def link tollgateConditional    Conditional
hi def link tollgateOperatorWord   Operator
hi def link tollgateForbidden      Statement
hi def link tollgateBoolean        Boolean
hi def link tollgateBuiltin        Special
hi def link tollgateNumber         Number
hi def link tollgateDuration       Number
hi def link tollgateBadDuration    Error
hi def link tollgateString         String
hi def link tollgateEscape         SpecialChar
hi def link tollgateBraces         SpecialChar
hi def link tollgateInterpolationDelim Delimiter
hi def link tollgateInterpolation  Identifier
hi def link tollgateFormat         Function
hi def link tollgateFallback       String
hi def link tollgateOperator       Operator
hi def link tollgateAssign         Operator
hi def link tollgateBadOperator    Error
hi def link tollgateDelimiter      Delimiter
" Names and properties keep the normal colour.
hi def link tollgateName           NONE
hi def link tollgateProperty       NONE

let b:current_syntax = "tollgate"
let &cpo = s:cpo_save
unlet s:cpo_save
