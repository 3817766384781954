# bash completion for cim(1)                                   -*- shell-script -*-
#
# Commands, options and option values all come from cim's own help at
# completion time (`cim --help`, `cim COMMAND --help`), so they never go stale:
# commands from the "Commands:" list, options from each command's "Options:"
# (bash-completion's _parse_help), and an option's value from its metavar:
# a|b|c lists the choices, *.h5 completes HDF5 files, FILE.json JSON files,
# DIR directories, FILE and PREFIX any file; numbers get nothing.

# The commands that `cim --help` lists.
_cim_commands()
{
    "$1" --help 2>/dev/null |
        command sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z0-9-]*\) .*/\1/p'
}

# The metavar of option $3 in `$1 $2 --help` ("" for a flag).
_cim_metavar()
{
    "$1" "$2" --help 2>/dev/null |
        command awk -v opt="$3" '$1 == opt && /^  --/ {
            line = substr($0, 3)
            sub(/  .*/, "", line)          # the description after two spaces
            n = split(line, w, " ")
            print (n > 1 ? w[2] : "")
            exit
        }'
}

# Complete a value of the kind a metavar names.
_cim_value()
{
    case $1 in
        *'|'*) COMPREPLY=($(compgen -W "${1//|/ }" -- "$cur")) ;;
        *.h5) _filedir h5 ;;
        *.json) _filedir json ;;
        DIR) _filedir -d ;;
        FILE | PREFIX) _filedir ;;
    esac
}

_cim()
{
    local cur prev words cword split
    _init_completion -s || return

    # the command: the first word after cim that is not an option
    local i cmd=
    for ((i = 1; i < cword; i++)); do
        if [[ ${words[i]} != -* ]]; then
            cmd=${words[i]}
            break
        fi
    done

    if [[ -z $cmd ]]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W '$(_parse_help "$1")' -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$(_cim_commands "$1") help" -- "$cur"))
        fi
        return
    fi
    if [[ $cmd == help ]]; then
        ((cword == i + 1)) &&
            COMPREPLY=($(compgen -W "$(_cim_commands "$1")" -- "$cur"))
        return
    fi

    # the value of an option that takes one
    if [[ $prev == --* ]]; then
        local metavar
        metavar=$(_cim_metavar "$1" "$cmd" "$prev")
        if [[ -n $metavar ]]; then
            _cim_value "$metavar"
            return
        fi
    fi
    $split && return

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W '$(_parse_help "$1" "$cmd --help")' -- "$cur"))
        [[ ${COMPREPLY-} == *= ]] && compopt -o nospace
        return
    fi
    # a positional argument: the synopsis's first word after the command
    local usage
    usage=$("$1" "$cmd" --help 2>/dev/null | command sed -n '1s/^Usage: [^ ]* [^ ]* //p')
    _cim_value "${usage%% *}"
} &&
    complete -F _cim cim

# ex: filetype=sh
