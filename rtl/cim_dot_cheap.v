// cim_dot_cheap: the interface, timing and results of cim_dot (see
// cim_dot.v), bit for bit, with the rounding folded into the adder tree
// instead of a separate incrementer after it:
//
//   sb = sum_i a_i * w_i + 2^(SHIFT-1)     (ROUND 1 or 2 and SHIFT > 0)
//   q  = sb >>> SHIFT                      floor of the biased sum: half up
//   q  = q & ~1 when the SHIFT low bits of sb are all zero
//                                          ROUND 2: an exact tie rounded up
//                                          to an odd value goes back down
//   y  = saturate or wrap q to OUT_W bits
//
// Half up is floor(x + 1/2), so the only rounding hardware left is one more
// constant operand in the carry-save tree (and, for half even, the zero
// detect of the dropped bits and an AND on q[0]); the carry-propagate adder
// of the separate output stage disappears. On a tie x = k 2^SHIFT + 2^(SHIFT-1),
// q = k + 1, and clearing q[0] gives k when k is even and leaves k + 1 when k
// is odd: round half to even. ROUND 0 is plain floor, as in cim_dot. The sum
// is one bit wider than cim_dot's (and at least SHIFT + 1 bits) so that the
// constant never overflows it.
module cim_dot_cheap #(
  parameter N = 16,       // lanes
  parameter A_W = 8,      // activation width
  parameter W_W = 8,      // weight width (signed two's complement)
  parameter A_SIGNED = 0, // 0: unsigned activations (after ReLU); 1: signed
  parameter OUT_W = 16,   // output width (signed)
  parameter SHIFT = 6,    // low bits dropped before rounding (>= 0)
  parameter ROUND = 0,    // 0 floor (truncate), 1 round half up, 2 round half even
  parameter SAT = 1       // 1 saturate to OUT_W, 0 wrap
) (
  input  wire                    clk,
  input  wire                    rst_n,     // active-low synchronous reset
  input  wire                    in_valid,
  input  wire [N*A_W-1:0]        a,         // lane i at a[i*A_W +: A_W]
  input  wire [N*W_W-1:0]        w,         // lane i at w[i*W_W +: W_W]
  output reg                     out_valid,
  output reg  signed [OUT_W-1:0] y
);
  // Read by testbenches and tools (hierarchical reference), not by the logic.
  /* verilator lint_off UNUSEDPARAM */
  localparam LATENCY = 2;
  /* verilator lint_on UNUSEDPARAM */
  localparam ACC_W = A_W + W_W + $clog2(N);
  localparam S_W = (ACC_W > SHIFT ? ACC_W : SHIFT) + 1;
  localparam HALF_BIT = (ROUND != 0 && SHIFT > 0) ? SHIFT - 1 : -1;
  localparam Q_W = S_W - SHIFT;  // >= 1

  reg [N*A_W-1:0] a_r;
  reg [N*W_W-1:0] w_r;
  reg             v_r;

  /* verilator lint_off UNUSEDSIGNAL */
  wire signed [S_W-1:0]   sb;   // floor never reads the dropped bits
  /* verilator lint_on UNUSEDSIGNAL */
  wire signed [Q_W-1:0]   q;
  wire signed [Q_W-1:0]   qr;
  wire signed [OUT_W-1:0] y_next;

  always @(posedge clk) begin
    if (in_valid) begin
      a_r <= a;
      w_r <= w;
    end
  end

  cim_dot_sum #(.N(N), .A_W(A_W), .W_W(W_W), .A_SIGNED(A_SIGNED), .DROP(0),
                .HALF_BIT(HALF_BIT), .S_W(S_W))
    u_sum (.a(a_r), .w(w_r), .s(sb));

  assign q = sb[S_W-1:SHIFT];

  generate
    if (ROUND == 2 && SHIFT > 0) begin : g_even
      wire tie = ~(|sb[SHIFT-1:0]);
      if (Q_W > 1) begin : g_wide
        assign qr = {q[Q_W-1:1], q[0] & ~tie};
      end else begin : g_one
        assign qr = q[0] & ~tie;
      end
    end else begin : g_floor
      assign qr = q;
    end
  endgenerate

  // Only the fit to OUT_W bits is left for the output stage.
  cim_requant #(.IN_W(Q_W), .SHIFT(0), .OUT_W(OUT_W), .ROUND(0), .SAT(SAT))
    u_out (.x(qr), .y(y_next));

  always @(posedge clk) begin
    if (!rst_n) begin
      v_r <= 1'b0;
      out_valid <= 1'b0;
      y <= {OUT_W{1'b0}};
    end else begin
      v_r <= in_valid;
      out_valid <= v_r;
      if (v_r)
        y <= y_next;
    end
  end
endmodule
