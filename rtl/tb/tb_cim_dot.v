// tb_cim_dot: drives cim_dot, cim_dot_early or cim_dot_cheap with vectors from files and
// writes every result, one hex line each, for tests/rtl to compare with the C
// model. Not synthesizable.
//
//   iverilog -g2012 -s tb_cim_dot -Ptb_cim_dot.N=16 ... -Ptb_cim_dot.NV=<count>
//   vvp -n sim +a=a.hex +w=w.hex +out=got.hex [+vcd=dump.vcd]
//
// a.hex and w.hex hold one packed operand vector per line ($readmemh). The
// stimulus leaves an idle cycle with different operands after every 7th
// vector (the unit must ignore operands without in_valid) and checks that
// out_valid follows in_valid by exactly LATENCY cycles. The output file ends
// with "end <results> <protocol errors>". With +define+GATE the unit is a
// mapped netlist named by `GATE_TOP, without parameters, and GAPS = 0 gives
// the dense stream the power flow measures; +define+SDF="file" annotates it
// with gate delays, and +define+DUMP_DP dumps the instance u_sum (the
// datapath, mapped as a module of its own) instead of the top's nets.
`timescale 1ns / 1ps
module tb_cim_dot;
  parameter N = 16;
  parameter A_W = 8;
  parameter W_W = 8;
  parameter A_SIGNED = 0;
  parameter OUT_W = 16;
  parameter SHIFT = 4;
  parameter ROUND = 0;
  parameter SAT = 1;
  parameter ARCH = 0;     // 0 cim_dot, 1 cim_dot_early, 2 cim_dot_cheap
  parameter GUARD = 2;    // cim_dot_early only
  parameter NV = 1;       // vectors in the files
  parameter GAPS = 1;     // 1: idle cycles between some vectors
  parameter PERIOD = 10;  // clock period, ns

  localparam LATENCY = 2;

  reg clk = 1'b0;
  reg rst_n = 1'b0;
  reg in_valid = 1'b0;
  reg [N*A_W-1:0] a = {N*A_W{1'b0}};
  reg [N*W_W-1:0] w = {N*W_W{1'b0}};
  wire out_valid;
  wire [OUT_W-1:0] y;

  reg [N*A_W-1:0] amem [0:NV-1];
  reg [N*W_W-1:0] wmem [0:NV-1];

`ifdef GATE
  `GATE_TOP dut (.clk(clk), .rst_n(rst_n), .in_valid(in_valid), .a(a), .w(w),
                 .out_valid(out_valid), .y(y));
`else
  generate
    if (ARCH == 1) begin : g_early
      cim_dot_early #(.N(N), .A_W(A_W), .W_W(W_W), .A_SIGNED(A_SIGNED), .OUT_W(OUT_W),
                      .SHIFT(SHIFT), .ROUND(ROUND), .SAT(SAT), .GUARD(GUARD))
        dut (.clk(clk), .rst_n(rst_n), .in_valid(in_valid), .a(a), .w(w),
             .out_valid(out_valid), .y(y));
    end else if (ARCH == 2) begin : g_cheap
      cim_dot_cheap #(.N(N), .A_W(A_W), .W_W(W_W), .A_SIGNED(A_SIGNED), .OUT_W(OUT_W),
                      .SHIFT(SHIFT), .ROUND(ROUND), .SAT(SAT))
        dut (.clk(clk), .rst_n(rst_n), .in_valid(in_valid), .a(a), .w(w),
             .out_valid(out_valid), .y(y));
    end else begin : g_exact
      cim_dot #(.N(N), .A_W(A_W), .W_W(W_W), .A_SIGNED(A_SIGNED), .OUT_W(OUT_W),
                .SHIFT(SHIFT), .ROUND(ROUND), .SAT(SAT))
        dut (.clk(clk), .rst_n(rst_n), .in_valid(in_valid), .a(a), .w(w),
             .out_valid(out_valid), .y(y));
    end
  endgenerate
`endif

`ifdef SDF
  // Gate delays from OpenSTA (write_sdf); Icarus needs -gspecify and vvp -Tmax
  // (OpenSTA writes (min::max) triplets).
  initial $sdf_annotate(`SDF, dut);
`endif

  always #(PERIOD / 2.0) clk = ~clk;

  // in_valid delayed by LATENCY edges: what out_valid must be.
  reg [LATENCY-1:0] vpipe = {LATENCY{1'b0}};
  always @(posedge clk)
    vpipe <= rst_n ? {vpipe[LATENCY-2:0], in_valid} : {LATENCY{1'b0}};

  integer fo, results = 0, errors = 0;
  // Outputs are read at the falling edge, half a period after they change.
  always @(negedge clk) begin
    if (rst_n) begin
      if (out_valid !== vpipe[LATENCY-1]) begin
        errors = errors + 1;
        $display("tb_cim_dot: out_valid %b at %0t, expected %b", out_valid, $time,
                 vpipe[LATENCY-1]);
      end
      if (out_valid === 1'b1) begin
        $fdisplay(fo, "%h", y);
        results = results + 1;
      end
    end
  end

  reg [1023:0] fa, fw, fout, fvcd;
  integer k;
  initial begin
    if (!$value$plusargs("a=%s", fa) || !$value$plusargs("w=%s", fw) ||
        !$value$plusargs("out=%s", fout)) begin
      $display("tb_cim_dot: need +a=FILE +w=FILE +out=FILE");
      $finish;
    end
    $readmemh(fa, amem);
    $readmemh(fw, wmem);
    fo = $fopen(fout, "w");
    if ($value$plusargs("vcd=%s", fvcd)) begin
      $dumpfile(fvcd);
`ifdef DUMP_DP
      $dumpvars(1, dut.u_sum);  // the nets of a separately mapped datapath
`elsif GATE
      $dumpvars(1, dut);  // the netlist's nets, not the cell models' insides
`else
      $dumpvars(0, tb_cim_dot);
`endif
    end
    repeat (2) @(negedge clk);
    rst_n = 1'b1;
    $display("window_start_ns %0d", $time + PERIOD + PERIOD / 2);
    for (k = 0; k < NV; k = k + 1) begin
      @(negedge clk);
      in_valid = 1'b1;
      a = amem[k];
      w = wmem[k];
      if (GAPS != 0 && k % 7 == 6) begin
        @(negedge clk);
        in_valid = 1'b0;
        a = ~a;
        w = ~w;
      end
    end
    @(negedge clk);
    in_valid = 1'b0;
    $display("window_end_ns %0d", $time + PERIOD / 2);
    repeat (LATENCY + 1) @(negedge clk);
    #1;
    $fdisplay(fo, "end %0d %0d", results, errors);
    $fclose(fo);
    $finish;
  end
endmodule
