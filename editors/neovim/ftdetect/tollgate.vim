" *.policy files are tollgate policies. Vimscript, so that Vim and every
" Neovim release read it.
autocmd BufRead,BufNewFile *.policy setfiletype tollgate
