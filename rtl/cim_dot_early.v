// cim_dot_early: the interface and timing of cim_dot (see cim_dot.v), with a
// truncated datapath: each product drops DROP low bits (floor) before the
// adder tree, which is then DROP bits narrower, and the output stage drops the
// remaining SHIFT - DROP bits with the requested rounding:
//
//   DROP = min(max(SHIFT - GUARD, 0), A_W + W_W - 2)
//   y    = requantize(sum_i floor(a_i * w_i / 2^DROP), SHIFT - DROP)
//
// GUARD low bits of each product survive below the output LSB, so the
// truncation error (each term loses [0, 1) of 2^DROP, biasing the sum down by
// up to N * 2^DROP) stays below N / 2^GUARD output LSBs before rounding. It is
// smaller and approximate; the sweep reports what it saves and its error
// against the exact unit. GUARD is the only parameter cim_dot lacks; the
// default keeps the interface of cim_dot.
module cim_dot_early #(
  parameter N = 16,       // lanes
  parameter A_W = 8,      // activation width
  parameter W_W = 8,      // weight width (signed two's complement)
  parameter A_SIGNED = 0, // 0: unsigned activations (after ReLU); 1: signed
  parameter OUT_W = 16,   // output width (signed)
  parameter SHIFT = 6,    // low bits dropped in total (>= 0)
  parameter ROUND = 0,    // 0 floor (truncate), 1 round half up, 2 round half even
  parameter SAT = 1,      // 1 saturate to OUT_W, 0 wrap
  parameter GUARD = 2     // product bits kept below the output LSB (>= 0)
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
  localparam DROP_WANT = SHIFT > GUARD ? SHIFT - GUARD : 0;
  localparam DROP = DROP_WANT < A_W + W_W - 2 ? DROP_WANT : A_W + W_W - 2;
  localparam S_W = A_W + W_W - DROP + $clog2(N);

  reg [N*A_W-1:0] a_r;
  reg [N*W_W-1:0] w_r;
  reg             v_r;

  wire signed [S_W-1:0]   s;
  wire signed [OUT_W-1:0] y_next;

  always @(posedge clk) begin
    if (in_valid) begin
      a_r <= a;
      w_r <= w;
    end
  end

  cim_dot_sum #(.N(N), .A_W(A_W), .W_W(W_W), .A_SIGNED(A_SIGNED), .DROP(DROP),
                .S_W(S_W))
    u_sum (.a(a_r), .w(w_r), .s(s));

  cim_requant #(.IN_W(S_W), .SHIFT(SHIFT - DROP), .OUT_W(OUT_W), .ROUND(ROUND),
                .SAT(SAT))
    u_out (.x(s), .y(y_next));

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
