# vcd_toggles.awk: 0<->1 transitions per net in a VCD, inside a time window.
#
#   awk -v t0=<start ns> -v t1=<end ns> [-v scope=u_sum] -f vcd_toggles.awk dump.vcd
#
# prints "net toggles" lines, one per bit ("a[3]", "_123_"). Only the value a
# net holds at the end of each time step counts, so zero-delay delta glitches
# do not; in a simulation with delays, glitches land on distinct time steps
# and do count. Only the dumped unit's own scope is read (the netlist's nets),
# or with `scope` set the scope of that instance inside it, whose nets are
# then named "u_sum/_123_", as OpenSTA names them in a hierarchical netlist.
function commit(   id, n, b, v, old) {
    for (id in pend) {
        n = width[id]
        v = pend[id]
        # left-pad vector values as VCD allows (x/z extend, 0/1 extend with 0)
        while (length(v) < n)
            v = (substr(v, 1, 1) ~ /[xz]/ ? substr(v, 1, 1) : "0") v
        for (b = 0; b < n; b++) {
            old = cur[id, b]
            nv = substr(v, n - b, 1)
            if (counting && (old == "0" && nv == "1" || old == "1" && nv == "0"))
                tog[id, b]++
            cur[id, b] = nv
        }
    }
    delete pend
}
BEGIN { scale = 1; depth = 0; prefix = scope == "" ? "" : scope "/" }
/^\$timescale/ {
    ts = $0
    while (ts !~ /\$end/) { getline l; ts = ts " " l }
    if (ts ~ /1ps/) scale = 0.001
    else if (ts ~ /10ps/) scale = 0.01
    else if (ts ~ /100ps/) scale = 0.1
    else if (ts ~ /1ns/) scale = 1
    next
}
/^\$scope/ { depth++; sname[depth] = $3; next }
/^\$upscope/ { depth--; next }
/^\$var/ {
    # $var wire <width> <id> <name> [<range>] $end, inside the dut's scope
    if (scope == "" ? depth == 2 : depth == 3 && sname[3] == scope) {
        id = $4; name = $5; sub(/^\\/, "", name); name = prefix name
        width[id] = $3
        lsb = 0
        if ($6 ~ /^\[/) { r = $6; gsub(/[\[\]]/, "", r); split(r, rr, ":"); lsb = (rr[2] == "" ? rr[1] : rr[2]) + 0 }
        names[id] = name; lsbs[id] = lsb; vec[id] = ($6 ~ /^\[/) && $3 > 1
        if ($3 == 1 && $6 ~ /^\[/) { names[id] = name "[" lsb "]"; vec[id] = 0 }
    }
    next
}
/^#/ {
    commit()
    t = substr($0, 2) * scale
    counting = (t > t0 && t <= t1)
    next
}
/^[01xzXZ]/ { id = substr($0, 2); if (id in width) pend[id] = tolower(substr($0, 1, 1)); next }
/^[bB]/ { if ($2 in width) pend[$2] = tolower(substr($1, 2)); next }
END {
    commit()
    for (id in width)
        for (b = 0; b < width[id]; b++)
            print (vec[id] ? names[id] "[" (b + lsbs[id]) "]" : names[id]), tog[id, b] + 0
}
