// tb_cim_shift_add: drives cim_shift_add with ADC codes from a file and writes
// every result, one hex line each, for tests/rtl to compare with
// cim_periph_combine(). Not synthesizable.
//
//   iverilog -g2012 -s tb_cim_shift_add -Ptb_cim_shift_add.ADC_W=6 ... -P...NV=<outputs>
//   vvp -n sim +d=d.hex +out=got.hex [+vcd=dump.vcd]
//
// d.hex holds IN_SLICES lines per output, most significant input slice first,
// each line the W_SLICES packed codes of one input slice. After every 5th slice
// the stimulus leaves an idle cycle with other codes on d (GAPS = 1), and it
// checks that out_valid rises exactly LATENCY cycles after each last slice.
// The output file ends with "end <results> <protocol errors>"; +define+GATE
// works as in tb_cim_dot.
`timescale 1ns / 1ps
module tb_cim_shift_add;
  parameter ADC_W = 6;
  parameter DAC_BITS = 1;
  parameter IN_SLICES = 8;
  parameter CELL_BITS = 2;
  parameter W_SLICES = 4;
  parameter ACC_W = 24;
  parameter OUT_W = 16;
  parameter SHIFT = 0;
  parameter ROUND = 0;
  parameter SAT = 1;
  parameter NV = 1;       // outputs in the file
  parameter GAPS = 1;
  parameter PERIOD = 10;  // ns

  localparam LATENCY = 3;
  localparam D_W = W_SLICES * (ADC_W + 1);

  reg clk = 1'b0;
  reg rst_n = 1'b0;
  reg in_valid = 1'b0, in_first = 1'b0, in_last = 1'b0;
  reg [D_W-1:0] d = {D_W{1'b0}};
  wire out_valid;
  wire [OUT_W-1:0] y;

  reg [D_W-1:0] dmem [0:NV*IN_SLICES-1];

`ifdef GATE
  `GATE_TOP dut (.clk(clk), .rst_n(rst_n), .in_valid(in_valid), .in_first(in_first),
                 .in_last(in_last), .d(d), .out_valid(out_valid), .y(y));
`else
  cim_shift_add #(.ADC_W(ADC_W), .DAC_BITS(DAC_BITS), .IN_SLICES(IN_SLICES),
                  .CELL_BITS(CELL_BITS), .W_SLICES(W_SLICES), .ACC_W(ACC_W),
                  .OUT_W(OUT_W), .SHIFT(SHIFT), .ROUND(ROUND), .SAT(SAT))
    dut (.clk(clk), .rst_n(rst_n), .in_valid(in_valid), .in_first(in_first),
         .in_last(in_last), .d(d), .out_valid(out_valid), .y(y));
`endif

  always #(PERIOD / 2.0) clk = ~clk;

  reg [LATENCY-1:0] vpipe = {LATENCY{1'b0}};
  always @(posedge clk)
    vpipe <= rst_n ? {vpipe[LATENCY-2:0], in_valid & in_last} : {LATENCY{1'b0}};

  integer fo, results = 0, errors = 0;
  always @(negedge clk) begin
    if (rst_n) begin
      if (out_valid !== vpipe[LATENCY-1]) begin
        errors = errors + 1;
        $display("tb_cim_shift_add: out_valid %b at %0t, expected %b", out_valid, $time,
                 vpipe[LATENCY-1]);
      end
      if (out_valid === 1'b1) begin
        $fdisplay(fo, "%h", y);
        results = results + 1;
      end
    end
  end

  reg [1023:0] fd, fout, fvcd;
  integer k;
  initial begin
    if (!$value$plusargs("d=%s", fd) || !$value$plusargs("out=%s", fout)) begin
      $display("tb_cim_shift_add: need +d=FILE +out=FILE");
      $finish;
    end
    $readmemh(fd, dmem);
    fo = $fopen(fout, "w");
    if ($value$plusargs("vcd=%s", fvcd)) begin
      $dumpfile(fvcd);
`ifdef GATE
      $dumpvars(1, dut);  // the netlist's nets, not the cell models' insides
`else
      $dumpvars(0, dut);
`endif
    end
    repeat (2) @(negedge clk);
    rst_n = 1'b1;
    $display("window_start_ns %0d", $time + PERIOD + PERIOD / 2);
    for (k = 0; k < NV * IN_SLICES; k = k + 1) begin
      @(negedge clk);
      in_valid = 1'b1;
      in_first = (k % IN_SLICES) == 0;
      in_last = (k % IN_SLICES) == IN_SLICES - 1;
      d = dmem[k];
      if (GAPS != 0 && k % 5 == 4) begin
        @(negedge clk);
        in_valid = 1'b0;
        in_first = ~in_first;
        in_last = ~in_last;
        d = ~d;
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
