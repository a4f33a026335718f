# zsh -f zcomplete.zsh FPATH_DIR LINE...
#
# Completes each LINE in an interactive zsh (on a pseudo-terminal, as a user
# at a prompt would by pressing TAB) with the completion functions of
# FPATH_DIR loaded by compinit, and prints for each:
#   === LINE
#   what the terminal showed: the line as completion left it, and the list
#   of matches (one a line, "match  -- description") when there were several.
# Each LINE is then erased and a marker echoed, whose output ends the read:
# no fixed sleep.
zmodload zsh/zpty || exit 1
fdir=$1
shift
zpty -b z 'zsh -f -i'
zpty -w z "PS1='%% '; fpath=(${(q)fdir} \$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w z "zstyle ':completion:*' list-separator '--'; LISTMAX=100000; setopt nobeep; unsetopt zle_bracketed_paste"
zpty -w z "echo READY-\$((6*7))"
zpty -r z out '*READY-42*' || exit 1
n=0
for line in "$@"; do
        (( n++ ))
        zpty -w -n z "$line"$'\t'
        # Kill the line, then a command whose output marks the end.
        zpty -w z $'\C-e\C-u'"echo DONE-\$((1000+$n))"
        zpty -r z out "*DONE-$((1000 + n))*" || exit 1
        print -r -- "=== $line"
        print -r -- "${out//$'\r'/}"
done
zpty -d z
