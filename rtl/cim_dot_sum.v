// cim_dot_sum: the datapath of the dot-product units, combinational: N
// products of an activation and a signed weight, each optionally truncated by
// DROP low bits (floor, an arithmetic shift), summed exactly, plus an
// optional constant 2^HALF_BIT added inside the same sum.
//
//   s = sum_i (a_i * w_i) >>> DROP  [+ 2^HALF_BIT]
//
// A product takes P_W = A_W + W_W signed bits whether the activation is
// unsigned or signed; the sum of N of them takes $clog2(N) more. cim_dot uses
// DROP = 0 (exact); cim_dot_early drops bits here, before the adder tree;
// cim_dot_cheap injects its rounding constant (HALF_BIT = SHIFT - 1) here and
// widens S_W so that the sum plus the constant still fits.
// Kept as its own module so the synthesis flow maps it once per lane shape and
// reuses it for every output stage.
module cim_dot_sum #(
  parameter N = 16,        // lanes
  parameter A_W = 8,       // activation width
  parameter W_W = 8,       // weight width (signed)
  parameter A_SIGNED = 0,  // 0 unsigned activations, 1 signed
  parameter DROP = 0,      // low bits dropped from each product, 0 .. A_W+W_W-2
  parameter HALF_BIT = -1, // add 2^HALF_BIT to the sum (< S_W - 1); -1: nothing
  // derived, do not override
  parameter S_W = A_W + W_W - DROP + $clog2(N)
) (
  input  wire [N*A_W-1:0]      a,  // lane i at a[i*A_W +: A_W]
  input  wire [N*W_W-1:0]      w,  // lane i at w[i*W_W +: W_W]
  output reg  signed [S_W-1:0] s
);
  localparam P_W = A_W + W_W;   // one product
  localparam T_W = P_W - DROP;  // one product after truncation
  localparam integer HB = HALF_BIT < 0 ? 0 : HALF_BIT;
  localparam [S_W-1:0] INIT = HALF_BIT < 0 ? {S_W{1'b0}} : {{(S_W-1){1'b0}}, 1'b1} << HB;

  wire [N*T_W-1:0] t;  // truncated products, lane i at t[i*T_W +: T_W]

  genvar i;
  generate
    for (i = 0; i < N; i = i + 1) begin : g_lane
      wire [A_W-1:0] ai = a[i*A_W +: A_W];
      wire [W_W-1:0] wi = w[i*W_W +: W_W];
      // Both operands extended to the product width, so that the multiply
      // is a plain P_W-bit one whose low P_W bits are the exact product.
      wire [P_W-1:0] ae = A_SIGNED != 0 ? {{W_W{ai[A_W-1]}}, ai} : {{W_W{1'b0}}, ai};
      wire [P_W-1:0] we = {{A_W{wi[W_W-1]}}, wi};
      /* verilator lint_off UNUSEDSIGNAL */
      wire [P_W-1:0] p = ae * we;  // truncation never reads the dropped bits
      /* verilator lint_on UNUSEDSIGNAL */
      assign t[i*T_W +: T_W] = p[P_W-1:DROP];
    end
  endgenerate

  // The sum, every term sign-extended to S_W bits. Written as one expression
  // so that synthesis sees a multi-operand sum (Yosys builds a carry-save tree
  // from it), the constant being one more operand.
  integer k;
  always @* begin
    s = INIT;
    for (k = 0; k < N; k = k + 1)
      s = s + sext(t[k*T_W +: T_W]);
  end

  function [S_W-1:0] sext(input [T_W-1:0] v);
    sext = {{(S_W-T_W+1){v[T_W-1]}}, v[T_W-2:0]};
  endfunction
endmodule
