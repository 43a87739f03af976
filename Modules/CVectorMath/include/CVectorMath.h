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

/// One LSTM step for one row (PyTorch gate order i, f, g, o; h = hidden size):
/// a = xp + rp (each 4h); i, f, o = σ(a_i, a_f, a_o); g = tanh(a_g); c = f·c_prev + i·g;
/// h_out = o·tanh(c). saved receives i, f, g, o, tanh(c) (5h values) for backward.
void revisit_lstm_forward_row(long h, const float *restrict xp, const float *restrict rp, const float *restrict c_prev,
                              float *restrict h_out, float *restrict c_out, float *restrict saved);

/// One GRU step for one row (PyTorch gate order r, z, n; rp includes b_hh, so b_hn sits inside
/// the reset product): r, z = σ(xp + rp); n = tanh(xp_n + r·rp_n); h_out = (1 − z)·n + z·h_prev.
/// saved receives r, z, n, rp_n (4h values).
void revisit_gru_forward_row(long h, const float *restrict xp, const float *restrict rp, const float *restrict h_prev,
                             float *restrict h_out, float *restrict saved);

/// One tanh-RNN step for one row: h_out = tanh(xp + rp); saved receives h_out (h values).
void revisit_tanh_rnn_forward_row(long h, const float *restrict xp, const float *restrict rp,
                                  float *restrict h_out, float *restrict saved);

#endif
