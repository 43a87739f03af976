#include "CVectorMath.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

// Each exported loop is compiled three times; the dynamic loader picks one per CPU (ifunc).
#define REVISIT_MULTIVERSION __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))

// e^x for x ≤ 0 (Cephes expf: range reduction x = n·ln2 + r with ln 2 split in two parts, a
// degree-6 polynomial for e^r, then 2^n built in the exponent bits). Clamped at −87.3 so 2^n
// stays a normal number; e^−87.3 ≈ 1.2e-38 is below every use's resolution (1 + e, 1 − e).
static inline float exp_nonpositive(float x) {
    x = x > -87.3365478515625f ? x : -87.3365478515625f;
    float n = floorf(x * 1.44269504088896341f + 0.5f);
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

// σ(x) from e = e^−|x| ≤ 1, never overflowing: 1/(1+e) for x ≥ 0, e/(1+e) below. Below the
// exponential's clamp the true value is under Float's smallest normal number, and 0 is returned.
static inline float sigmoid_one(float x) {
    float e = exp_nonpositive(-fabsf(x));
    float value = (x >= 0.0f ? 1.0f : e) / (1.0f + e);  // one rounding in the division
    return x < -87.3365478515625f ? 0.0f : value;
}

// tanh(x): Cephes's odd polynomial for |x| < 0.625 (where 1 − 2/(e^2x + 1) would cancel),
// (1 − e)/(1 + e) with e = e^−2|x| above, the sign put back. Both are computed and one is
// selected, so the loop has no branch and vectorises.
static inline float tanh_one(float x) {
    float a = fabsf(x);
    float z = x * x;
    float small = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z + 1.33314422036e-1f) * z
                   - 3.33332819422e-1f) * z * x + x;
    float e = exp_nonpositive(-2.0f * a);
    float large = (1.0f - e) / (1.0f + e);
    large = x < 0.0f ? -large : large;
    return a < 0.625f ? small : large;
}

REVISIT_MULTIVERSION
void revisit_sigmoid(long n, const float *restrict x, float *restrict y) {
    for (long i = 0; i < n; i++) y[i] = sigmoid_one(x[i]);
}

REVISIT_MULTIVERSION
void revisit_tanh(long n, const float *restrict x, float *restrict y) {
    for (long i = 0; i < n; i++) y[i] = tanh_one(x[i]);
}

REVISIT_MULTIVERSION
void revisit_lstm_forward_row(long h, const float *restrict a, const float *restrict c_prev,
                              float *restrict h_out, float *restrict c_out, float *restrict saved) {
    for (long j = 0; j < h; j++) {
        float i = sigmoid_one(a[j]);
        float f = sigmoid_one(a[h + j]);
        float g = tanh_one(a[2 * h + j]);
        float o = sigmoid_one(a[3 * h + j]);
        float c = f * c_prev[j] + i * g;
        float tc = tanh_one(c);
        saved[j] = i;
        saved[h + j] = f;
        saved[2 * h + j] = g;
        saved[3 * h + j] = o;
        saved[4 * h + j] = tc;
        c_out[j] = c;
        h_out[j] = o * tc;
    }
}

REVISIT_MULTIVERSION
void revisit_lstm_backward_row(long h, const float *restrict dy, const float *restrict dh_next, float *restrict dc,
                               const float *restrict saved, const float *restrict c_prev, float *restrict da) {
    for (long j = 0; j < h; j++) {
        float i = saved[j], f = saved[h + j], g = saved[2 * h + j], o = saved[3 * h + j], tc = saved[4 * h + j];
        float dh = dy[j] + dh_next[j];
        float dcell = dc[j] + dh * o * (1.0f - tc * tc);
        da[j] = dcell * g * i * (1.0f - i);
        da[h + j] = dcell * c_prev[j] * f * (1.0f - f);
        da[2 * h + j] = dcell * i * (1.0f - g * g);
        da[3 * h + j] = dh * tc * o * (1.0f - o);
        dc[j] = dcell * f;
    }
}

REVISIT_MULTIVERSION
void revisit_gru_forward_row(long h, const float *restrict xp, const float *restrict rp, const float *restrict h_prev,
                             float *restrict h_out, float *restrict saved) {
    for (long j = 0; j < h; j++) {
        float r = sigmoid_one(xp[j] + rp[j]);
        float z = sigmoid_one(xp[h + j] + rp[h + j]);
        float recurrent_candidate = rp[2 * h + j];
        float n = tanh_one(xp[2 * h + j] + r * recurrent_candidate);
        saved[j] = r;
        saved[h + j] = z;
        saved[2 * h + j] = n;
        saved[3 * h + j] = recurrent_candidate;
        h_out[j] = (1.0f - z) * n + z * h_prev[j];
    }
}

REVISIT_MULTIVERSION
void revisit_tanh_rnn_forward_row(long h, const float *restrict a, float *restrict h_out, float *restrict saved) {
    for (long j = 0; j < h; j++) {
        float value = tanh_one(a[j]);
        saved[j] = value;
        h_out[j] = value;
    }
}
