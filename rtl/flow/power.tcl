# power.tcl: OpenSTA on one mapped netlist: worst setup slack at the stated
# clock, the gate delays as SDF, and per-instance power at global activity 0
# and 1 (the flow combines them with measured toggle rates; Debian's OpenSTA
# cannot read a VCD).
#
#   sta -no_splash -exit power.tcl    with the environment variables
#   FLOW_LIB, FLOW_NETLIST (one or more files: a top and the modules it
#   instantiates), FLOW_TOP, FLOW_PERIOD_NS, FLOW_OUT (a prefix)
#
# writes $FLOW_OUT.slack, .sdf, .p0, .p1 (report_power -instances) and .pins
# ("instance output-net" lines; inside a submodule instance both are named
# with "/", e.g. "u_sum/_12_ u_sum/_345_").
read_liberty $env(FLOW_LIB)
foreach f [split $env(FLOW_NETLIST)] {
  read_verilog $f
}
link_design $env(FLOW_TOP)
create_clock -name clk -period $env(FLOW_PERIOD_NS) [get_ports clk]
set_input_delay 0 -clock clk [delete_from_list [all_inputs] [get_ports clk]]
set_output_delay 0 -clock clk [all_outputs]

set f [open $env(FLOW_OUT).slack w]
puts $f [sta::worst_slack -max]
close $f
write_sdf -divider . $env(FLOW_OUT).sdf

# the leaf instances (library cells), also those inside submodule instances
foreach lc [get_lib_cells */*] {
  set is_lib([get_name $lc]) 1
}
set cells {}
foreach c [get_cells -hierarchical *] {
  if {[info exists is_lib([get_property $c ref_name])]} {
    lappend cells $c
  }
}
foreach act {0 1} {
  set_power_activity -global -activity $act -duty 0.5
  report_power -instances $cells > $env(FLOW_OUT).p$act
}

set f [open $env(FLOW_OUT).pins w]
foreach c $cells {
  foreach p [get_pins -of_objects $c] {
    if {[get_property $p direction] == "output"} {
      puts $f "[get_full_name $c] [get_full_name [get_nets -of_objects $p]]"
    }
  }
}
close $f
