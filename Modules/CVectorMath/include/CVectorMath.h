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

/// One LSTM step for one row (PyTorch gate order i, f, g, o; h = hidden size): `a` holds the
/// 4h pre-activations x·W_ihᵀ + b_ih + h₋₁·W_hhᵀ + b_hh; i, f, o = σ(a_i, a_f, a_o);
/// g = tanh(a_g); c = f·c_prev + i·g; h_out = o·tanh(c). saved receives i, f, g, o, tanh(c)
/// (5h values) for backward.
void revisit_lstm_forward_row(long h, const float *restrict a, const float *restrict c_prev,
                              float *restrict h_out, float *restrict c_out, float *restrict saved);

/// The LSTM step's backward for one row: with dh = dy + dh_next (the gradient reaching h from
/// above and from the next step) and dc the cell-state gradient from the next step,
/// dc_total = dc + dh·o·(1 − tanh²c); writes the pre-activation gradients
/// da = [dc_total·g·i(1−i), dc_total·c_prev·f(1−f), dc_total·i·(1−g²), dh·tanh(c)·o(1−o)]
/// and replaces dc by dc_total·f, the gradient for the previous step's cell state.
void revisit_lstm_backward_row(long h, const float *restrict dy, const float *restrict dh_next, float *restrict dc,
                               const float *restrict saved, const float *restrict c_prev, float *restrict da);

/// One GRU step for one row (PyTorch gate order r, z, n; rp includes b_hh, so b_hn sits inside
/// the reset product): r, z = σ(xp + rp); n = tanh(xp_n + r·rp_n); h_out = (1 − z)·n + z·h_prev.
/// saved receives r, z, n, rp_n (4h values).
void revisit_gru_forward_row(long h, const float *restrict xp, const float *restrict rp, const float *restrict h_prev,
                             float *restrict h_out, float *restrict saved);

/// One tanh-RNN step for one row: h_out = tanh(a), `a` the pre-activation x·W_ihᵀ + b_ih +
/// h₋₁·W_hhᵀ + b_hh; saved receives h_out (h values).
void revisit_tanh_rnn_forward_row(long h, const float *restrict a, float *restrict h_out, float *restrict saved);

#endif
