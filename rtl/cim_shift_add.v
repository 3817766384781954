// cim_shift_add: the digital periphery behind a crossbar's ADCs for one output.
//
// A weight magnitude is stored in W_SLICES cells of CELL_BITS bits each (slice j
// weighs 2^(j*CELL_BITS)), signed weights as a differential column pair; an
// activation is applied as IN_SLICES slices of DAC_BITS bits (slice i weighs
// 2^(i*DAC_BITS)). For each input slice the W_SLICES column pairs are read at
// once and each pair's ADCs give a signed differential code
// d = code(positive column) - code(negative column), in
// [-(2^ADC_W - 1), 2^ADC_W - 1], ADC_W + 1 bits. This module forms
//
//   acc = sum_i sum_j d[i][j] * 2^(i*DAC_BITS + j*CELL_BITS)   (mod 2^ACC_W)
//   y   = requantize(acc)   (cim_requant: SHIFT, ROUND, SAT, OUT_W)
//
// which is cim_periph_combine() in cim/periph.h, bit for bit.
//
// Protocol: one input slice per cycle with in_valid high, most significant
// slice (i = IN_SLICES - 1) first, marked in_first, least significant (i = 0)
// last, marked in_last (both high when IN_SLICES is 1). The accumulator runs
// Horner's rule, acc = (in_first ? 0 : acc << DAC_BITS) + partial, so it needs no
// shifter. Slices may have gaps (in_valid low) and the next output's first
// slice may follow a last one directly. y and out_valid appear LATENCY = 3
// edges after the edge that registers the last slice: input register,
// accumulator, output register. rst_n is synchronous and clears the valid
// flags and y.
//
// Widths: ACC_W bits hold acc exactly when ACC_W is at least
// cim_periph_acc_bits_lossless() (the flow passes that value); a narrower one
// wraps, as the C model does.
module cim_shift_add #(
  parameter ADC_W = 6,      // ADC bits; a differential code has ADC_W + 1 bits
  parameter DAC_BITS = 1,   // bits of an input slice
  // IN_SLICES documents the protocol (the in_first/in_last marks count the
  // slices, not the logic) and sizes the lossless ACC_W.
  /* verilator lint_off UNUSEDPARAM */
  parameter IN_SLICES = 8,  // input slices per activation
  /* verilator lint_on UNUSEDPARAM */
  parameter CELL_BITS = 2,  // bits of a weight slice (one cell)
  parameter W_SLICES = 4,   // weight slices per weight
  parameter ACC_W = 24,     // accumulator width (signed)
  parameter OUT_W = 16,     // output width (signed)
  parameter SHIFT = 0,      // low bits of acc dropped before rounding (>= 0)
  parameter ROUND = 0,      // 0 floor, 1 round half up, 2 round half even
  parameter SAT = 1         // 1 saturate to OUT_W, 0 wrap
) (
  input  wire                            clk,
  input  wire                            rst_n,     // active-low synchronous reset
  input  wire                            in_valid,
  input  wire                            in_first,  // most significant input slice
  input  wire                            in_last,   // least significant input slice
  input  wire [W_SLICES*(ADC_W+1)-1:0]   d,         // weight slice j at
                                                    // d[j*(ADC_W+1) +: ADC_W+1]
  output reg                             out_valid,
  output reg  signed [OUT_W-1:0]         y
);
  /* verilator lint_off UNUSEDPARAM */
  localparam LATENCY = 3;
  /* verilator lint_on UNUSEDPARAM */
  localparam D_W = ADC_W + 1;
  // The partial sum of one input slice: |d| < 2^ADC_W and the slice weights
  // add up to less than 2^((W_SLICES-1)*CELL_BITS + 1).
  localparam PS_W = D_W + (W_SLICES - 1) * CELL_BITS + 1;

  reg [W_SLICES*D_W-1:0] d_r;
  reg                    v_r, first_r, last_r;
  reg [ACC_W-1:0]        acc;
  reg                    done;

  // Partial sum of the weight slices, sign-extended terms.
  reg [PS_W-1:0] ps;
  integer j;
  always @* begin
    ps = {PS_W{1'b0}};
    for (j = 0; j < W_SLICES; j = j + 1)
      ps = ps + (sext_ps(d_r[j*D_W +: D_W]) << (j * CELL_BITS));
  end

  function [PS_W-1:0] sext_ps(input [D_W-1:0] v);
    sext_ps = {{(PS_W-D_W+1){v[D_W-1]}}, v[D_W-2:0]};
  endfunction

  // The partial sum at the accumulator's width (sign-extended or wrapped).
  /* verilator lint_off UNUSEDSIGNAL */
  wire [PS_W-1:0] ps_used = ps;  // a narrow accumulator drops the top bits
  /* verilator lint_on UNUSEDSIGNAL */
  wire [ACC_W-1:0] ps_acc;
  generate
    if (ACC_W > PS_W) begin : g_ps_ext
      assign ps_acc = {{(ACC_W-PS_W){ps_used[PS_W-1]}}, ps_used};
    end else begin : g_ps_cut
      assign ps_acc = ps_used[ACC_W-1:0];
    end
  endgenerate

  wire [ACC_W-1:0] acc_shifted;
  generate
    if (DAC_BITS >= ACC_W) begin : g_sh_all
      assign acc_shifted = {ACC_W{1'b0}};
    end else begin : g_sh
      assign acc_shifted = {acc[ACC_W-DAC_BITS-1:0], {DAC_BITS{1'b0}}};
    end
  endgenerate

  wire signed [OUT_W-1:0] y_next;
  cim_requant #(.IN_W(ACC_W), .SHIFT(SHIFT), .OUT_W(OUT_W), .ROUND(ROUND), .SAT(SAT))
    u_out (.x(acc), .y(y_next));

  always @(posedge clk) begin
    if (in_valid) begin
      d_r <= d;
      first_r <= in_first;
      last_r <= in_last;
    end
    if (v_r)
      acc <= (first_r ? {ACC_W{1'b0}} : acc_shifted) + ps_acc;
  end

  always @(posedge clk) begin
    if (!rst_n) begin
      v_r <= 1'b0;
      done <= 1'b0;
      out_valid <= 1'b0;
      y <= {OUT_W{1'b0}};
    end else begin
      v_r <= in_valid;
      done <= v_r & last_r;
      out_valid <= done;
      if (done)
        y <= y_next;
    end
  end
endmodule
