# vcd_bus.awk: the value of one bus of one scope at every time step where it
# changes, for replaying a recorded waveform (rtl/flow/point).
#
#   awk -v scope=u_sum -v bus=s -f vcd_bus.awk dump.vcd
#
# prints "<time in ps> <value in hex>" lines, the first at time 0; x or z bits
# make their hex digit x. The dump's timescale must be 1 ps.
function hex(v,   n, out, k, nib, d, b) {
    n = width
    while (length(v) < n) v = (substr(v, 1, 1) ~ /[xz]/ ? substr(v, 1, 1) : "0") v
    while (length(v) % 4) v = "0" v
    out = ""
    for (k = 1; k <= length(v); k += 4) {
        nib = substr(v, k, 4)
        if (nib ~ /[xz]/) { out = out "x"; continue }
        d = 0
        for (b = 1; b <= 4; b++) d = d * 2 + substr(nib, b, 1)
        out = out substr("0123456789abcdef", d + 1, 1)
    }
    return out
}
BEGIN { depth = 0; id = ""; t = 0; have = 0 }
/^\$timescale/ {
    ts = $0
    while (ts !~ /\$end/) { getline l; ts = ts " " l }
    if (ts !~ /1ps/) { print "vcd_bus.awk: timescale is not 1 ps" > "/dev/stderr"; exit 1 }
    next
}
/^\$scope/ { depth++; sname[depth] = $3; next }
/^\$upscope/ { depth--; next }
/^\$var/ { if (depth == 3 && sname[3] == scope && $5 == bus) { id = $4; width = $3 } next }
/^#/ {
    if (have && val != last) { print t, hex(val); last = val }
    t = substr($0, 2) + 0
    next
}
/^[bB]/ { if ($2 == id) { val = tolower(substr($1, 2)); have = 1 } next }
/^[01xzXZ]/ { if (width == 1 && substr($0, 2) == id) { val = tolower(substr($0, 1, 1)); have = 1 } next }
END {
    if (id == "") { print "vcd_bus.awk: no bus " bus " in scope " scope > "/dev/stderr"; exit 1 }
    if (have && val != last) print t, hex(val)
}
