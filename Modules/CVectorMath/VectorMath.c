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

// The recurrent cells work on one time step of a block of n sequences, feature-major: each
// quantity is a [features × n] matrix whose row r starts at base + r·stride, so the inner loop
// runs over the n sequences (contiguous) and vectorises. mask (n values, NULL = all 1): where it
// is 0 the state is carried over, nothing is saved, and no gradient reaches the parameters.

REVISIT_MULTIVERSION
void revisit_lstm_forward_step(long h, long n, const float *restrict a, long a_stride,
                               const float *restrict h_prev, const float *restrict c_prev,
                               float *restrict h_out, float *restrict c_out, long state_stride,
                               float *restrict saved, long saved_stride, const float *restrict mask) {
    for (long j = 0; j < h; j++) {
        const float *ai = a + j * a_stride, *af = a + (h + j) * a_stride;
        const float *ag = a + (2 * h + j) * a_stride, *ao = a + (3 * h + j) * a_stride;
        const float *hp = h_prev + j * state_stride, *cp = c_prev + j * state_stride;
        float *ho = h_out + j * state_stride, *co = c_out + j * state_stride;
        float *si = saved + j * saved_stride, *sf = saved + (h + j) * saved_stride, *sg = saved + (2 * h + j) * saved_stride;
        float *so = saved + (3 * h + j) * saved_stride, *sc = saved + (4 * h + j) * saved_stride;
        for (long s = 0; s < n; s++) {
            float i = sigmoid_one(ai[s]), f = sigmoid_one(af[s]), g = tanh_one(ag[s]), o = sigmoid_one(ao[s]);
            float c = f * cp[s] + i * g;
            float tc = tanh_one(c);
            int real = mask[s] != 0.0f;
            ho[s] = real ? o * tc : hp[s];
            co[s] = real ? c : cp[s];
            si[s] = real ? i : 0.0f;
            sf[s] = real ? f : 0.0f;
            sg[s] = real ? g : 0.0f;
            so[s] = real ? o : 0.0f;
            sc[s] = real ? tc : 0.0f;
        }
    }
}

REVISIT_MULTIVERSION
void revisit_lstm_backward_step(long h, long n, const float *restrict dy, long dy_stride, float *restrict dh_next,
                                float *restrict dc, const float *restrict saved, long saved_stride,
                                const float *restrict c_prev, long state_stride,
                                float *restrict da, long da_stride, const float *restrict mask) {
    for (long j = 0; j < h; j++) {
        const float *si = saved + j * saved_stride, *sf = saved + (h + j) * saved_stride, *sg = saved + (2 * h + j) * saved_stride;
        const float *so = saved + (3 * h + j) * saved_stride, *sc = saved + (4 * h + j) * saved_stride;
        const float *cp = c_prev + j * state_stride, *dyj = dy + j * dy_stride;
        float *dhj = dh_next + j * n, *dcj = dc + j * n;
        float *di = da + j * da_stride, *df = da + (h + j) * da_stride, *dg = da + (2 * h + j) * da_stride;
        float *d_o = da + (3 * h + j) * da_stride;
        for (long s = 0; s < n; s++) {
            float i = si[s], f = sf[s], g = sg[s], o = so[s], tc = sc[s];
            float dh = dyj[s] + dhj[s];
            float dcell = dcj[s] + dh * o * (1.0f - tc * tc);
            int real = mask[s] != 0.0f;
            di[s] = real ? dcell * g * i * (1.0f - i) : 0.0f;
            df[s] = real ? dcell * cp[s] * f * (1.0f - f) : 0.0f;
            dg[s] = real ? dcell * i * (1.0f - g * g) : 0.0f;
            d_o[s] = real ? dh * tc * o * (1.0f - o) : 0.0f;
            dcj[s] = real ? dcell * f : dcj[s];
            dhj[s] = real ? 0.0f : dh;
        }
    }
}

REVISIT_MULTIVERSION
void revisit_gru_forward_step(long h, long n, const float *restrict xp, long xp_stride, const float *restrict rp,
                              const float *restrict h_prev, float *restrict h_out, long state_stride,
                              float *restrict saved, long saved_stride, const float *restrict mask) {
    for (long j = 0; j < h; j++) {
        const float *xr = xp + j * xp_stride, *xz = xp + (h + j) * xp_stride, *xn = xp + (2 * h + j) * xp_stride;
        const float *rr = rp + j * n, *rz = rp + (h + j) * n, *rn = rp + (2 * h + j) * n;
        const float *hp = h_prev + j * state_stride;
        float *ho = h_out + j * state_stride;
        float *sr = saved + j * saved_stride, *sz = saved + (h + j) * saved_stride;
        float *sn = saved + (2 * h + j) * saved_stride, *sp = saved + (3 * h + j) * saved_stride;
        for (long s = 0; s < n; s++) {
            float r = sigmoid_one(xr[s] + rr[s]), z = sigmoid_one(xz[s] + rz[s]);
            float candidate = tanh_one(xn[s] + r * rn[s]);
            int real = mask[s] != 0.0f;
            ho[s] = real ? (1.0f - z) * candidate + z * hp[s] : hp[s];
            sr[s] = real ? r : 0.0f;
            sz[s] = real ? z : 0.0f;
            sn[s] = real ? candidate : 0.0f;
            sp[s] = real ? rn[s] : 0.0f;
        }
    }
}

REVISIT_MULTIVERSION
void revisit_gru_backward_step(long h, long n, const float *restrict dy, long dy_stride, float *restrict dh_next,
                               const float *restrict saved, long saved_stride, const float *restrict h_prev, long state_stride,
                               float *restrict dxp, float *restrict drp, long d_stride, const float *restrict mask) {
    for (long j = 0; j < h; j++) {
        const float *sr = saved + j * saved_stride, *sz = saved + (h + j) * saved_stride;
        const float *sn = saved + (2 * h + j) * saved_stride, *sp = saved + (3 * h + j) * saved_stride;
        const float *hp = h_prev + j * state_stride, *dyj = dy + j * dy_stride;
        float *dhj = dh_next + j * n;
        float *dxr = dxp + j * d_stride, *dxz = dxp + (h + j) * d_stride, *dxn = dxp + (2 * h + j) * d_stride;
        float *drr = drp + j * d_stride, *drz = drp + (h + j) * d_stride, *drn = drp + (2 * h + j) * d_stride;
        for (long s = 0; s < n; s++) {
            float r = sr[s], z = sz[s], candidate = sn[s], recurrent_candidate = sp[s];
            float dh = dyj[s] + dhj[s];
            float dn = dh * (1.0f - z) * (1.0f - candidate * candidate);
            float dz = dh * (hp[s] - candidate) * z * (1.0f - z);
            float dr = dn * recurrent_candidate * r * (1.0f - r);
            int real = mask[s] != 0.0f;
            dxr[s] = real ? dr : 0.0f;
            dxz[s] = real ? dz : 0.0f;
            dxn[s] = real ? dn : 0.0f;
            drr[s] = real ? dr : 0.0f;
            drz[s] = real ? dz : 0.0f;
            drn[s] = real ? dn * r : 0.0f;
            dhj[s] = real ? dh * z : dh;
        }
    }
}

REVISIT_MULTIVERSION
void revisit_tanh_rnn_forward_step(long h, long n, const float *restrict a, long a_stride,
                                   const float *restrict h_prev, float *restrict h_out, long state_stride,
                                   float *restrict saved, long saved_stride, const float *restrict mask) {
    for (long j = 0; j < h; j++) {
        const float *aj = a + j * a_stride, *hp = h_prev + j * state_stride;
        float *ho = h_out + j * state_stride, *sj = saved + j * saved_stride;
        for (long s = 0; s < n; s++) {
            float value = tanh_one(aj[s]);
            int real = mask[s] != 0.0f;
            ho[s] = real ? value : hp[s];
            sj[s] = real ? value : 0.0f;
        }
    }
}

REVISIT_MULTIVERSION
void revisit_tanh_rnn_backward_step(long h, long n, const float *restrict dy, long dy_stride, float *restrict dh_next,
                                    const float *restrict saved, long saved_stride,
                                    float *restrict da, long da_stride, const float *restrict mask) {
    for (long j = 0; j < h; j++) {
        const float *sj = saved + j * saved_stride, *dyj = dy + j * dy_stride;
        float *dhj = dh_next + j * n, *daj = da + j * da_stride;
        for (long s = 0; s < n; s++) {
            float dh = dyj[s] + dhj[s];
            int real = mask[s] != 0.0f;
            daj[s] = real ? dh * (1.0f - sj[s] * sj[s]) : 0.0f;
            dhj[s] = real ? 0.0f : dh;
        }
    }
}

REVISIT_MULTIVERSION
void revisit_adam_update(long n, float *restrict p, const float *restrict gradient, float *restrict m, float *restrict v,
                         float learning_rate, float beta1, float beta2, float epsilon, float coupled_decay,
                         float decoupled_decay, float bias_correction1, float bias_correction2_root) {
    float step = learning_rate / bias_correction1, shrink = 1.0f - learning_rate * decoupled_decay;
    for (long i = 0; i < n; i++) {
        float g = gradient[i] + coupled_decay * p[i];
        float parameter = p[i] * shrink;
        float first = beta1 * m[i] + (1.0f - beta1) * g;
        float second = beta2 * v[i] + (1.0f - beta2) * g * g;
        m[i] = first;
        v[i] = second;
        p[i] = parameter - step * first / (sqrtf(second) / bias_correction2_root + epsilon);
    }
}

REVISIT_MULTIVERSION
void revisit_row_sums(long rows, long n, const float *restrict x, long stride, float *restrict out, int accumulate) {
    for (long r = 0; r < rows; r++) {
        const float *row = x + r * stride;
        float lanes[16] = {0};
        long c = 0;
        for (; c + 16 <= n; c += 16) {
            for (int k = 0; k < 16; k++) lanes[k] += row[c + k];
        }
        float total = 0.0f;
        for (int k = 0; k < 16; k++) total += lanes[k];
        for (; c < n; c++) total += row[c];
        out[r] = accumulate ? out[r] + total : total;
    }
}

void revisit_transpose(long rows, long columns, const float *restrict src, long srcStride, float *restrict dst,
                       long dstStride) {
    enum { TILE = 8 };
    for (long r0 = 0; r0 < rows; r0 += TILE) {
        long r1 = r0 + TILE < rows ? r0 + TILE : rows;
        for (long c0 = 0; c0 < columns; c0 += TILE) {
            long c1 = c0 + TILE < columns ? c0 + TILE : columns;
            for (long c = c0; c < c1; c++) {
                float *out = dst + c * dstStride;
                for (long r = r0; r < r1; r++) out[r] = src[r * srcStride + c];
            }
        }
    }
}

REVISIT_MULTIVERSION
void revisit_activation_backward(int kind, long n, const float *restrict dy, const float *restrict y,
                                 float *restrict dx) {
    switch (kind) {
    case 0:
        for (long i = 0; i < n; i++) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
        break;
    case 1:
        for (long i = 0; i < n; i++) {
            // Two statements, so that no clone fuses 1 − y² into an FMA (clang contracts within
            // an expression): the same rounding as the Swift loop on every instruction set.
            float square = y[i] * y[i];
            dx[i] = dy[i] * (1.0f - square);
        }
        break;
    default:
        for (long i = 0; i < n; i++) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
        break;
    }
}
