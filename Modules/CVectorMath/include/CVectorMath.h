#ifndef REVISIT_CVECTORMATH_H
#define REVISIT_CVECTORMATH_H

/// Vectorised transcendental functions and the recurrent cells' per-row gate arithmetic.
///
/// Why C: Swift cannot yet express these loops so that LLVM vectorises them (its generic SIMD
/// types lower lane by lane at the baseline target; see Docs/PERFORMANCE.md), and one libm
/// call per gate element was half of a CNN-LSTM training step. These loops are plain C with
/// branch-free selects, compiled at -O3 with function multiversioning (x86-64-v4 = AVX-512,
/// x86-64-v3 = AVX2 + FMA, baseline), so the loader picks the widest the CPU has.
///
/// Accuracy (tested against libm on every float in the tested ranges, VectorMathTests):
/// sigmoid ≤ 3 ulp relative where σ(x) is a normal float, 0 below (x < −87.34); tanh ≤ 3 ulp relative for |x| ≥ 2⁻¹⁰ and ≤ 1e-7 absolute below.
/// Every pointer argument is restrict: inputs and outputs must not overlap.

/// y[i] = 1 / (1 + e^(−x[i])).
void revisit_sigmoid(long n, const float *restrict x, float *restrict y);
/// y[i] = tanh(x[i]).
void revisit_tanh(long n, const float *restrict x, float *restrict y);

// The recurrent cells, one time step of a block of n sequences, feature-major: every quantity
// is a [features × n] matrix whose row r starts at base + r·stride (the stride named beside
// it; dh_next, dc and the GRU's rp have stride n), so the inner loop runs over the sequences
// and vectorises. PyTorch's gate orders. `mask` (n values, required; all 1 when every sequence
// is real): where it is 0 the state is carried over unchanged, the saved values are 0, and
// backward sends the whole gradient on to the previous step and none to the parameters.
//
// Backward convention: on entry dh_next holds the gradient reaching h_t from step t+1 (through
// W_hh and any direct path); with dy (the gradient from the layer above) it makes
// dh = dy + dh_next. On exit dh_next holds the part of dL/dh_{t−1} that does not pass through
// W_hh (0 for the LSTM and the RNN, dh·z for the GRU, dh where masked); the caller adds
// W_hhᵀ·(recurrent pre-activation gradient) to it with a β = 1 product.

/// LSTM step: `a` [4h × n] holds x·W_ihᵀ + b_ih + h₋₁·W_hhᵀ + b_hh in gate order i, f, g, o;
/// i, f, o = σ, g = tanh, c = f·c_prev + i·g, h_out = o·tanh(c). h_prev/c_prev/h_out/c_out
/// [h × n] share state_stride. saved [5h × n] receives i, f, g, o, tanh(c).
void revisit_lstm_forward_step(long h, long n, const float *restrict a, long a_stride,
                               const float *restrict h_prev, const float *restrict c_prev,
                               float *restrict h_out, float *restrict c_out, long state_stride,
                               float *restrict saved, long saved_stride, const float *restrict mask);

/// LSTM step backward: with dh = dy + dh_next and dc (from step t+1, stride n) it writes
/// da [4h × n] = [dc'·g·i(1−i), dc'·c_prev·f(1−f), dc'·i(1−g²), dh·tanh(c)·o(1−o)] where
/// dc' = dc + dh·o·(1 − tanh²c), and replaces dc by dc'·f.
void revisit_lstm_backward_step(long h, long n, const float *restrict dy, long dy_stride, float *restrict dh_next,
                                float *restrict dc, const float *restrict saved, long saved_stride,
                                const float *restrict c_prev, long state_stride,
                                float *restrict da, long da_stride, const float *restrict mask);

/// GRU step (gate order r, z, n; rp [3h × n] = h₋₁·W_hhᵀ + b_hh, so b_hn sits inside the reset
/// product): r, z = σ(xp + rp); n = tanh(xp_n + r·rp_n); h_out = (1 − z)·n + z·h_prev.
/// saved [4h × n] receives r, z, n, rp_n.
void revisit_gru_forward_step(long h, long n, const float *restrict xp, long xp_stride, const float *restrict rp,
                              const float *restrict h_prev, float *restrict h_out, long state_stride,
                              float *restrict saved, long saved_stride, const float *restrict mask);

/// GRU step backward: writes dxp and drp [3h × n] (sharing d_stride) and leaves dh·z, the
/// direct path's gradient, in dh_next.
void revisit_gru_backward_step(long h, long n, const float *restrict dy, long dy_stride, float *restrict dh_next,
                               const float *restrict saved, long saved_stride, const float *restrict h_prev, long state_stride,
                               float *restrict dxp, float *restrict drp, long d_stride, const float *restrict mask);

/// tanh-RNN step: h_out = tanh(a), `a` [h × n] the pre-activation x·W_ihᵀ + b_ih + h₋₁·W_hhᵀ +
/// b_hh; saved [h × n] receives h_out.
void revisit_tanh_rnn_forward_step(long h, long n, const float *restrict a, long a_stride,
                                   const float *restrict h_prev, float *restrict h_out, long state_stride,
                                   float *restrict saved, long saved_stride, const float *restrict mask);

/// tanh-RNN step backward: da = dh·(1 − h²).
void revisit_tanh_rnn_backward_step(long h, long n, const float *restrict dy, long dy_stride, float *restrict dh_next,
                                    const float *restrict saved, long saved_stride,
                                    float *restrict da, long da_stride, const float *restrict mask);

/// Adam with bias correction (BRIEF §1; Optimizers.UpdateRule.adam is the per-value reference)
/// over n parameters: g = gradient + coupled_decay·p; p ← p·(1 − lr·decoupled_decay);
/// m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; p ← p − (lr/bc₁)·m / (√v/√bc₂ + ε).
void revisit_adam_update(long n, float *restrict p, const float *restrict gradient, float *restrict m, float *restrict v,
                         float learning_rate, float beta1, float beta2, float epsilon, float coupled_decay,
                         float decoupled_decay, float bias_correction1, float bias_correction2_root);

/// Row sums of a `[rows × n]` matrix with row stride `stride`: `out[r] = Σ_c x[r·stride + c]`,
/// added to `out[r]` when `accumulate` is non-zero. Sixteen partial sums per row (column c goes
/// to lane c mod 16) are added in a fixed order at the end, then the columns past the last
/// multiple of 16: the loop vectorises without reassociating, so every instruction set gives the
/// same bits. The recurrent layers' bias gradients.
void revisit_row_sums(long rows, long n, const float *x, long stride, float *out, int accumulate);

/// `dst[c·dstStride + r] = src[r·srcStride + c]` for a `[rows × columns]` block: a transpose
/// between strided matrices in 8 × 8 tiles, so that both sides stay in cache lines already
/// loaded. A copy (no arithmetic): the same bits everywhere. The recurrent blocks' batch-first
/// ↔ feature-major conversions.
void revisit_transpose(long rows, long columns, const float *src, long srcStride, float *dst, long dstStride);

/// An activation's input gradient from its output y and the output gradient dy, elementwise:
/// `kind` 0 ReLU (`dy` where y > 0, else 0), 1 tanh (`dy·(1 − y²)`), 2 sigmoid (`dy·y·(1 − y)`).
/// The same arithmetic, in the same order, as the Swift loops it replaced, without their
/// branch (ReLU's signs are random, so a branch mispredicts half the time).
void revisit_activation_backward(int kind, long n, const float *dy, const float *y, float *dx);

#endif
