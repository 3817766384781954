// cim_dot: an N-lane dot-product unit with a chosen output width and
// rounding, the digital counterpart of one crossbar column.
//
//   y = requantize(sum_i a_i * w_i)        (quant_requantize() in quant/round.h)
//
// The exact sum (ACC_W = A_W + W_W + $clog2(N) signed bits) drops SHIFT low
// bits, rounded as ROUND says (0 floor, 1 half up, 2 half even), and is then
// saturated (SAT = 1) or wrapped (SAT = 0) to OUT_W signed bits. Activations
// are unsigned (A_SIGNED = 0, post-ReLU codes) or two's complement; weights
// are two's complement.
//
// Timing: operands are registered on a clock edge with in_valid high, the
// result appears in y with out_valid high LATENCY = 2 edges after that edge
// (the product, the sum and the output stage sit between the two registers,
// so every path is register to register). One result per cycle; in_valid may
// have gaps. rst_n is synchronous and clears out_valid and y; the operand
// registers load only on in_valid and are not reset, so idle cycles do not
// toggle the datapath. y holds its value between results.
module cim_dot #(
  parameter N = 16,       // lanes
  parameter A_W = 8,      // activation width
  parameter W_W = 8,      // weight width (signed two's complement)
  parameter A_SIGNED = 0, // 0: unsigned activations (after ReLU); 1: signed
  parameter OUT_W = 16,   // output width (signed)
  parameter SHIFT = 6,    // low bits dropped before rounding (>= 0); MSB-aligned
                          // output is SHIFT = A_W + W_W + $clog2(N) - OUT_W
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

  reg [N*A_W-1:0] a_r;
  reg [N*W_W-1:0] w_r;
  reg             v_r;

  wire signed [ACC_W-1:0] acc;
  wire signed [OUT_W-1:0] y_next;

  always @(posedge clk) begin
    if (in_valid) begin
      a_r <= a;
      w_r <= w;
    end
  end

  cim_dot_sum #(.N(N), .A_W(A_W), .W_W(W_W), .A_SIGNED(A_SIGNED), .DROP(0),
                .S_W(ACC_W))
    u_sum (.a(a_r), .w(w_r), .s(acc));

  cim_requant #(.IN_W(ACC_W), .SHIFT(SHIFT), .OUT_W(OUT_W), .ROUND(ROUND), .SAT(SAT))
    u_out (.x(acc), .y(y_next));

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
