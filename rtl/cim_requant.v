// cim_requant: the output stage shared by cim_dot, cim_dot_early and
// cim_shift_add. Combinational. It drops SHIFT low bits of the signed input x
// with the rounding rule ROUND, then fits the result into OUT_W signed bits by
// saturating (SAT = 1) or wrapping (SAT = 0). The semantics are those of
// quant_requantize() in quant/round.h, bit for bit:
//
//   q   = x >>> SHIFT                    (arithmetic shift: floor)
//   inc = 0                              ROUND 0, floor
//         x[SHIFT-1]                     ROUND 1, half up
//         x[SHIFT-1] & (|x[SHIFT-2:0] | q[0])
//                                        ROUND 2, half even
//   r   = q + inc                        one bit wider than q: the rounding
//                                        carry can leave q's range
//   y   = saturate or wrap r to OUT_W bits
//
// With SHIFT = 0 every mode returns x. SHIFT may exceed the input width (x is
// sign-extended first), and OUT_W may exceed the width of r (then y is r
// sign-extended).
module cim_requant #(
  parameter IN_W = 20,  // input width (signed)
  parameter SHIFT = 4,  // low bits dropped (>= 0)
  parameter OUT_W = 16, // output width (signed, >= 1)
  parameter ROUND = 0,  // 0 floor, 1 half up, 2 half even
  parameter SAT = 1     // 1 saturate, 0 wrap
) (
  input  wire signed [IN_W-1:0]  x,
  output wire signed [OUT_W-1:0] y
);
  // x sign-extended so that bit SHIFT exists; q = x >>> SHIFT; r = q + inc.
  localparam X_W = (IN_W > SHIFT + 1) ? IN_W : SHIFT + 1;
  localparam Q_W = X_W - SHIFT;
  localparam R_W = Q_W + 1;

  /* verilator lint_off UNUSEDSIGNAL */
  wire [X_W-1:0] xe;  // floor never reads the dropped bits
  wire [R_W-1:0] r;   // wrap never reads the bits above OUT_W
  /* verilator lint_on UNUSEDSIGNAL */
  wire [Q_W-1:0] q;
  wire           inc;

  generate
    if (X_W > IN_W) begin : g_xext
      assign xe = {{(X_W-IN_W){x[IN_W-1]}}, x};
    end else begin : g_xfit
      assign xe = x;
    end
  endgenerate

  assign q = xe[X_W-1:SHIFT];

  generate
    if (SHIFT == 0 || ROUND == 0) begin : g_floor
      assign inc = 1'b0;
    end else if (ROUND == 1) begin : g_half_up
      assign inc = xe[SHIFT-1];
    end else if (SHIFT == 1) begin : g_half_even1
      assign inc = xe[0] & q[0];
    end else begin : g_half_even
      assign inc = xe[SHIFT-1] & ((|xe[SHIFT-2:0]) | q[0]);
    end
  endgenerate

  assign r = {q[Q_W-1], q} + {{Q_W{1'b0}}, inc};

  generate
    if (OUT_W > R_W) begin : g_ext
      assign y = {{(OUT_W-R_W){r[R_W-1]}}, r};
    end else if (OUT_W == R_W) begin : g_same
      assign y = r;
    end else if (SAT != 0) begin : g_sat
      // Largest OUT_W-bit value, 0111...1 (0 when OUT_W is 1); the smallest
      // is its complement. r fits when its bits from OUT_W-1 up are all
      // copies of the sign.
      localparam [OUT_W-1:0] Y_MAX = {OUT_W{1'b1}} >> 1;
      wire [R_W-OUT_W:0] top = r[R_W-1:OUT_W-1];
      wire fits = (&top) | ~(|top);
      assign y = fits ? r[OUT_W-1:0] : (r[R_W-1] ? ~Y_MAX : Y_MAX);
    end else begin : g_wrap
      assign y = r[OUT_W-1:0];
    end
  endgenerate
endmodule
