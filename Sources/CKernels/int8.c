// int8 GEMM: weights symmetric int8 per output channel, activations unsigned 8-bit per row
// (token) with a zero point, exact int32 accumulation, dequantised in an fp32 epilogue.
// Every path computes the same integers and the same epilogue (a multiply, then adds, never
// fused), so the results are bit-identical across ISAs and independent of the other rows.
#include "ckernels.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { I8_MR = 8 };

size_t ck_i8_packed_count(int n, int k) { return (size_t)n * (size_t)k; }

void ck_i8_pack_weights(int8_t *packed, float *scales, int32_t *colsums, const float *w, int n, int k, int panels32) {
    for (int c = 0; c < n; c++) {
        // W[c][j] in either layout: row-major (N, K), or ck_f32_pack_weights' panels.
        #define W(c, j) (panels32 ? w[((size_t)((c) / 32) * k + (j)) * 32 + (c) % 32] : w[(size_t)(c) * k + (j)])
        float top = 0;
        for (int j = 0; j < k; j++) { float v = fabsf(W(c, j)); if (v > top) top = v; }
        float scale = top > 0 ? top / 127.0f : 1.0f, inv = 1.0f / scale;
        int32_t sum = 0;
        int p = c / 32, col = c % 32;
        for (int j = 0; j < k; j++) {
            long q = lrintf(W(c, j) * inv);
            q = q > 127 ? 127 : q < -127 ? -127 : q;
            packed[(((size_t)p * (k / 4) + j / 4) * 32 + col) * 4 + j % 4] = (int8_t)q;
            sum += (int32_t)q;
        }
        #undef W
        scales[c] = scale;
        colsums[c] = sum;
    }
}

size_t ck_u8_scratch_count(int m, int k) { return (size_t)((m + I8_MR - 1) / I8_MR * I8_MR) * (size_t)k; }

// One row's scale and zero point; shared by the scalar and the vector quantisers.
static inline void u8_row_params(float lo, float hi, float *scale, float *inv, long *zp) {
    *scale = hi > lo ? (hi - lo) / 255.0f : 1.0f;
    *inv = 1.0f / *scale;
    long z = lrintf(-lo * *inv);
    *zp = z < 0 ? 0 : z > 255 ? 255 : z;
}

static void u8_quantize_rows(uint8_t *aq, float *scales, int32_t *zero_points, const float *a, int m, int k) {
    for (int i = 0; i < m; i++) {
        const float *ar = a + (size_t)i * k;
        float lo = 0, hi = 0, scale, inv;
        long zp;
        for (int j = 0; j < k; j++) { if (ar[j] < lo) lo = ar[j]; if (ar[j] > hi) hi = ar[j]; }
        u8_row_params(lo, hi, &scale, &inv, &zp);
        uint8_t *qr = aq + (size_t)i * k;
        for (int j = 0; j < k; j++) {
            long q = lrintf(ar[j] * inv) + zp;
            qr[j] = (uint8_t)(q < 0 ? 0 : q > 255 ? 255 : q);
        }
        scales[i] = scale;
        zero_points[i] = (int32_t)zp;
    }
}

#if defined(__x86_64__)
#include <immintrin.h>
// The same numbers 16 at a time: min and max are exact, and vcvtps2dq rounds to nearest even
// as lrintf does under the default rounding mode. K must be a multiple of 16.
__attribute__((target("avx512f,avx512bw"))) static void u8_quantize_rows_avx512(
    uint8_t *aq, float *scales, int32_t *zero_points, const float *a, int m, int k) {
    for (int i = 0; i < m; i++) {
        const float *ar = a + (size_t)i * k;
        __m512 vlo = _mm512_setzero_ps(), vhi = _mm512_setzero_ps();
        for (int j = 0; j < k; j += 16) {
            __m512 v = _mm512_loadu_ps(ar + j);
            vlo = _mm512_min_ps(vlo, v); vhi = _mm512_max_ps(vhi, v);
        }
        float lo = _mm512_reduce_min_ps(vlo), hi = _mm512_reduce_max_ps(vhi), scale, inv;
        long zp;
        u8_row_params(lo, hi, &scale, &inv, &zp);
        __m512 vinv = _mm512_set1_ps(inv);
        __m512i vzp = _mm512_set1_epi32((int)zp), zero = _mm512_setzero_si512(), top = _mm512_set1_epi32(255);
        uint8_t *qr = aq + (size_t)i * k;
        for (int j = 0; j < k; j += 16) {
            __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(ar + j), vinv)), vzp);
            q = _mm512_min_epi32(_mm512_max_epi32(q, zero), top);
            _mm_storeu_si128((__m128i *)(qr + j), _mm512_cvtepi32_epi8(q));
        }
        scales[i] = scale;
        zero_points[i] = (int32_t)zp;
    }
}

// The same numbers 32 at a time on AVX2; the packs keep values already clamped to 0...255, and
// the permutation undoes their lane interleaving. K must be a multiple of 32.
__attribute__((target("avx2"))) static void u8_quantize_rows_avx2(
    uint8_t *aq, float *scales, int32_t *zero_points, const float *a, int m, int k) {
    for (int i = 0; i < m; i++) {
        const float *ar = a + (size_t)i * k;
        __m256 vlo = _mm256_setzero_ps(), vhi = _mm256_setzero_ps();
        for (int j = 0; j < k; j += 8) {
            __m256 v = _mm256_loadu_ps(ar + j);
            vlo = _mm256_min_ps(vlo, v); vhi = _mm256_max_ps(vhi, v);
        }
        float los[8], his[8], lo = 0, hi = 0, scale, inv;
        _mm256_storeu_ps(los, vlo); _mm256_storeu_ps(his, vhi);
        for (int l = 0; l < 8; l++) { if (los[l] < lo) lo = los[l]; if (his[l] > hi) hi = his[l]; }
        long zp;
        u8_row_params(lo, hi, &scale, &inv, &zp);
        __m256 vinv = _mm256_set1_ps(inv);
        __m256i vzp = _mm256_set1_epi32((int)zp), zero = _mm256_setzero_si256(), top = _mm256_set1_epi32(255);
        __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
        uint8_t *qr = aq + (size_t)i * k;
        for (int j = 0; j < k; j += 32) {
            __m256i q[4];
            for (int t = 0; t < 4; t++) {
                q[t] = _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(ar + j + 8 * t), vinv)), vzp);
                q[t] = _mm256_min_epi32(_mm256_max_epi32(q[t], zero), top);
            }
            __m256i bytes = _mm256_packus_epi16(_mm256_packus_epi32(q[0], q[1]), _mm256_packus_epi32(q[2], q[3]));
            _mm256_storeu_si256((__m256i *)(qr + j), _mm256_permutevar8x32_epi32(bytes, order));
        }
        scales[i] = scale;
        zero_points[i] = (int32_t)zp;
    }
}
#endif

void ck_u8_quantize_with(uint8_t *aq, float *scales, int32_t *zero_points, const float *a, int m, int k, int isa) {
#if defined(__x86_64__)
    // CK_ISA_AVX2 asks for the AVX2 quantiser even where AVX-512 exists (tests compare them).
    if ((isa == CK_ISA_AUTO || (isa >= CK_ISA_AVX512 && isa != CK_ISA_AVXVNNI)) && k % 16 == 0 && ck_has_avx512())
        u8_quantize_rows_avx512(aq, scales, zero_points, a, m, k);
    else if (isa != CK_ISA_PORTABLE && k % 32 == 0 && ck_has_avx2fma()) u8_quantize_rows_avx2(aq, scales, zero_points, a, m, k);
    else
#endif
    u8_quantize_rows(aq, scales, zero_points, a, m, k);
    int mp = (m + I8_MR - 1) / I8_MR * I8_MR;
    memset(aq + (size_t)m * k, 0, (size_t)(mp - m) * k);
}

// The epilogue of one element: ((acc − zp·colsum) as fp32 · (row scale · column scale)) + bias,
// + residual; separate statements, so no compiler fuses the multiply and the add.
static inline float dequantise(int32_t acc, int32_t zp, int32_t colsum, float ascale, float wscale, float bias) {
    float scale = ascale * wscale;
    float t = (float)(acc - zp * colsum);
    t = t * scale;
    t = t + bias;
    return t;
}

static void i8_gemm_portable(float *out, const uint8_t *aq, const float *ascales, const int32_t *azps,
                             const int8_t *wpacked, const float *wscales, const int32_t *wcolsums, const float *bias,
                             const float *residual, int m, int n, int k, int p0, int p1) {
    for (int p = p0; p < p1; p++) {
        const int8_t *bp = wpacked + (size_t)p * k * 32;
        for (int i = 0; i < m; i++) {
            const uint8_t *ar = aq + (size_t)i * k;
            for (int col = 0; col < 32; col++) {
                int32_t acc = 0;
                for (int q = 0; q < k / 4; q++)
                    for (int e = 0; e < 4; e++) acc += (int32_t)ar[4 * q + e] * (int32_t)bp[((size_t)q * 32 + col) * 4 + e];
                int c = p * 32 + col;
                float t = dequantise(acc, azps[i], wcolsums[c], ascales[i], wscales[c], bias[c]);
                if (residual) t = t + residual[(size_t)i * n + c];
                out[(size_t)i * n + c] = t;
            }
        }
    }
}

#if defined(__x86_64__)
#define AVX512VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))
#define AVX2 __attribute__((target("avx2")))

int ck_has_avx512vnni(void) {
    return ck_has_avx512() && __builtin_cpu_supports("avx512vnni");
}

// One rows x 32 tile over the full K (vpdpbusd: 4 u8 x s8 products per lane into int32).
// Always inlined with a constant `rows`, so the accumulators stay in registers.
AVX512VNNI __attribute__((always_inline)) static inline void tile_vnni(
    float *out, const uint8_t *aq, const float *ascales, const int32_t *azps, const int8_t *bp, const float *wscales,
    const int32_t *wcolsums, const float *bias, const float *residual, const int rows, int n, int k, int n0) {
    __m512i acc[I8_MR][2];
    for (int i = 0; i < rows; i++) { acc[i][0] = _mm512_setzero_si512(); acc[i][1] = _mm512_setzero_si512(); }
    for (int q = 0; q < k / 4; q++) {
        __m512i b0 = _mm512_loadu_si512(bp + (size_t)q * 128), b1 = _mm512_loadu_si512(bp + (size_t)q * 128 + 64);
        for (int i = 0; i < rows; i++) {
            int32_t four;
            memcpy(&four, aq + (size_t)i * k + 4 * q, 4);
            __m512i av = _mm512_set1_epi32(four);
            acc[i][0] = _mm512_dpbusd_epi32(acc[i][0], av, b0);
            acc[i][1] = _mm512_dpbusd_epi32(acc[i][1], av, b1);
        }
    }
    __m512i cs0 = _mm512_loadu_si512(wcolsums + n0), cs1 = _mm512_loadu_si512(wcolsums + n0 + 16);
    __m512 ws0 = _mm512_loadu_ps(wscales + n0), ws1 = _mm512_loadu_ps(wscales + n0 + 16);
    __m512 bias0 = _mm512_loadu_ps(bias + n0), bias1 = _mm512_loadu_ps(bias + n0 + 16);
    for (int i = 0; i < rows; i++) {
        __m512i zp = _mm512_set1_epi32(azps[i]);
        __m512 as = _mm512_set1_ps(ascales[i]);
        __m512 r0 = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc[i][0], _mm512_mullo_epi32(zp, cs0)));
        __m512 r1 = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc[i][1], _mm512_mullo_epi32(zp, cs1)));
        r0 = _mm512_add_ps(_mm512_mul_ps(r0, _mm512_mul_ps(as, ws0)), bias0);
        r1 = _mm512_add_ps(_mm512_mul_ps(r1, _mm512_mul_ps(as, ws1)), bias1);
        if (residual) {
            r0 = _mm512_add_ps(r0, _mm512_loadu_ps(residual + (size_t)i * n + n0));
            r1 = _mm512_add_ps(r1, _mm512_loadu_ps(residual + (size_t)i * n + n0 + 16));
        }
        _mm512_storeu_ps(out + (size_t)i * n + n0, r0);
        _mm512_storeu_ps(out + (size_t)i * n + n0 + 16, r1);
    }
}

#define TILE_VNNI_CASE(R) case R: tile_vnni(o, a, ascales + i0, azps + i0, bp, wscales, wcolsums, bias, res, R, n, k, p * 32); break;
AVX512VNNI static void i8_gemm_vnni(float *out, const uint8_t *aq, const float *ascales, const int32_t *azps,
                                    const int8_t *wpacked, const float *wscales, const int32_t *wcolsums, const float *bias,
                                    const float *residual, int m, int n, int k, int p0, int p1) {
    for (int p = p0; p < p1; p++) {
        const int8_t *bp = wpacked + (size_t)p * k * 32;
        for (int i0 = 0; i0 < m; i0 += I8_MR) {
            int rows = m - i0 < I8_MR ? m - i0 : I8_MR;
            float *o = out + (size_t)i0 * n;
            const uint8_t *a = aq + (size_t)i0 * k;
            const float *res = residual ? residual + (size_t)i0 * n : NULL;
            switch (rows) {
            TILE_VNNI_CASE(1) TILE_VNNI_CASE(2) TILE_VNNI_CASE(3) TILE_VNNI_CASE(4)
            TILE_VNNI_CASE(5) TILE_VNNI_CASE(6) TILE_VNNI_CASE(7) TILE_VNNI_CASE(8)
            }
        }
    }
}

// AVX2: u8 and s8 widened to int16, then vpmaddwd (pairs of exact products into int32), which
// cannot saturate as vpmaddubsw's int16 pair sums of u8 x s8 can. Widening costs shuffles, so
// it is done once per panel for the weights (into `w16`) and once per call for the
// activations, not in the inner loop, which is two loads, vpmaddwd and vpaddd.

// A panel's 32 columns x K int8 as int16: for each k pair, four groups of 8 columns, each lane
// one column's (k, k+1) pair. (K / 2, 4, 8, 2)
static void widen_panel(int16_t *w16, const int8_t *bp, int k) {
    for (int j = 0; j < k; j += 2)
        for (int col = 0; col < 32; col++) {
            int16_t *o = w16 + ((size_t)(j / 2) * 32 + col) * 2;
            o[0] = bp[((size_t)(j / 4) * 32 + col) * 4 + j % 4];
            o[1] = bp[((size_t)(j / 4) * 32 + col) * 4 + j % 4 + 1];
        }
}

// Eight columns c0... of one row: dequantise() on int32 sums, in 256-bit code (the AVX2 and
// AVX-VNNI kernels' epilogue). `out` and `residual` point at the row.
AVX2 __attribute__((always_inline)) static inline void dequantise8(
    float *out, __m256i acc, int32_t zp, float ascale, const float *wscales, const int32_t *wcolsums,
    const float *bias, const float *residual, int c0) {
    __m256i cs = _mm256_loadu_si256((const __m256i *)(wcolsums + c0));
    __m256 t = _mm256_cvtepi32_ps(_mm256_sub_epi32(acc, _mm256_mullo_epi32(_mm256_set1_epi32(zp), cs)));
    t = _mm256_mul_ps(t, _mm256_mul_ps(_mm256_set1_ps(ascale), _mm256_loadu_ps(wscales + c0)));
    t = _mm256_add_ps(t, _mm256_loadu_ps(bias + c0));
    if (residual) t = _mm256_add_ps(t, _mm256_loadu_ps(residual + c0));
    _mm256_storeu_ps(out + c0, t);
}

// One rows x 32 tile over the full K: 16 columns at a time, so the 8 accumulators, 2 weight
// vectors and a broadcast fit in AVX2's 16 registers. `a16` holds the rows as uint16. (rows, K)
AVX2 __attribute__((always_inline)) static inline void tile_avx2(
    float *out, const uint16_t *a16, const float *ascales, const int32_t *azps, const int16_t *w16, const float *wscales,
    const int32_t *wcolsums, const float *bias, const float *residual, const int rows, int n, int k, int n0) {
    for (int h = 0; h < 2; h++) {
        __m256i acc[4][2];
        for (int i = 0; i < rows; i++) { acc[i][0] = _mm256_setzero_si256(); acc[i][1] = _mm256_setzero_si256(); }
        for (int kp = 0; kp < k / 2; kp++) {
            const int16_t *w = w16 + ((size_t)kp * 4 + 2 * h) * 16;
            __m256i w0 = _mm256_loadu_si256((const __m256i *)w), w1 = _mm256_loadu_si256((const __m256i *)(w + 16));
            for (int i = 0; i < rows; i++) {
                int32_t pair;
                memcpy(&pair, a16 + (size_t)i * k + 2 * kp, 4);
                __m256i a = _mm256_set1_epi32(pair);
                acc[i][0] = _mm256_add_epi32(acc[i][0], _mm256_madd_epi16(a, w0));
                acc[i][1] = _mm256_add_epi32(acc[i][1], _mm256_madd_epi16(a, w1));
            }
        }
        for (int g = 0; g < 2; g++)
            for (int i = 0; i < rows; i++)
                dequantise8(out + (size_t)i * n, acc[i][g], azps[i], ascales[i], wscales, wcolsums, bias,
                            residual ? residual + (size_t)i * n : NULL, n0 + h * 16 + g * 8);
    }
}

#define TILE_AVX2_CASE(R) case R: tile_avx2(o, a16, ascales + i0, azps + i0, w16, wscales, wcolsums, bias, res, R, n, k, p * 32); break;
AVX2 static void i8_gemm_avx2(float *out, const uint8_t *aq, const float *ascales, const int32_t *azps,
                              const int8_t *wpacked, const float *wscales, const int32_t *wcolsums, const float *bias,
                              const float *residual, int m, int n, int k, int p0, int p1) {
    int16_t *w16 = malloc((size_t)k * 32 * sizeof(int16_t));
    uint16_t *a16all = malloc((size_t)m * k * sizeof(uint16_t));
    if (!w16 || !a16all) {   // out of memory: the same numbers without the scratch
        free(w16); free(a16all);
        i8_gemm_portable(out, aq, ascales, azps, wpacked, wscales, wcolsums, bias, residual, m, n, k, p0, p1);
        return;
    }
    // The activations widened once for every panel.   (M, K)
    size_t j = 0, mk = (size_t)m * k;
    for (; j + 16 <= mk; j += 16)
        _mm256_storeu_si256((__m256i *)(a16all + j), _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(aq + j))));
    for (; j < mk; j++) a16all[j] = aq[j];
    for (int p = p0; p < p1; p++) {
        widen_panel(w16, wpacked + (size_t)p * k * 32, k);
        for (int i0 = 0; i0 < m; i0 += 4) {
            int rows = m - i0 < 4 ? m - i0 : 4;
            const uint16_t *a16 = a16all + (size_t)i0 * k;
            float *o = out + (size_t)i0 * n;
            const float *res = residual ? residual + (size_t)i0 * n : NULL;
            switch (rows) { TILE_AVX2_CASE(1) TILE_AVX2_CASE(2) TILE_AVX2_CASE(3) TILE_AVX2_CASE(4) }
        }
    }
    free(w16);
    free(a16all);
}

// AVX-VNNI (AVX2 CPUs with 256-bit vpdpbusd): the packed int8 weights and u8 activations as they
// are, 4 products per lane per instruction, the AVX2 kernel's tile shape and epilogue.
#define AVXVNNI __attribute__((target("avx2,avxvnni")))
AVXVNNI __attribute__((always_inline)) static inline void tile_avxvnni(
    float *out, const uint8_t *aq, const float *ascales, const int32_t *azps, const int8_t *bp, const float *wscales,
    const int32_t *wcolsums, const float *bias, const float *residual, const int rows, int n, int k, int n0) {
    for (int h = 0; h < 2; h++) {
        __m256i acc[4][2];
        for (int i = 0; i < rows; i++) { acc[i][0] = _mm256_setzero_si256(); acc[i][1] = _mm256_setzero_si256(); }
        for (int q = 0; q < k / 4; q++) {
            // 32 columns x 4 k per q: each 32 bytes are 8 columns' 4 k values, as vpdpbusd reads them.
            const int8_t *b = bp + (size_t)q * 128 + h * 64;
            __m256i b0 = _mm256_loadu_si256((const __m256i *)b), b1 = _mm256_loadu_si256((const __m256i *)(b + 32));
            for (int i = 0; i < rows; i++) {
                int32_t four;
                memcpy(&four, aq + (size_t)i * k + 4 * q, 4);
                __m256i a = _mm256_set1_epi32(four);
                acc[i][0] = _mm256_dpbusd_avx_epi32(acc[i][0], a, b0);
                acc[i][1] = _mm256_dpbusd_avx_epi32(acc[i][1], a, b1);
            }
        }
        for (int g = 0; g < 2; g++)
            for (int i = 0; i < rows; i++)
                dequantise8(out + (size_t)i * n, acc[i][g], azps[i], ascales[i], wscales, wcolsums, bias,
                            residual ? residual + (size_t)i * n : NULL, n0 + h * 16 + g * 8);
    }
}

#define TILE_AVXVNNI_CASE(R) case R: tile_avxvnni(o, a, ascales + i0, azps + i0, bp, wscales, wcolsums, bias, res, R, n, k, p * 32); break;
AVXVNNI static void i8_gemm_avxvnni(float *out, const uint8_t *aq, const float *ascales, const int32_t *azps,
                                   const int8_t *wpacked, const float *wscales, const int32_t *wcolsums, const float *bias,
                                   const float *residual, int m, int n, int k, int p0, int p1) {
    for (int p = p0; p < p1; p++) {
        const int8_t *bp = wpacked + (size_t)p * k * 32;
        for (int i0 = 0; i0 < m; i0 += 4) {
            int rows = m - i0 < 4 ? m - i0 : 4;
            float *o = out + (size_t)i0 * n;
            const uint8_t *a = aq + (size_t)i0 * k;
            const float *res = residual ? residual + (size_t)i0 * n : NULL;
            switch (rows) { TILE_AVXVNNI_CASE(1) TILE_AVXVNNI_CASE(2) TILE_AVXVNNI_CASE(3) TILE_AVXVNNI_CASE(4) }
        }
    }
}
#else
int ck_has_avx512vnni(void) { return 0; }
#endif

int ck_i8_gemm_isa(void) {
    return ck_has_avx512vnni() ? CK_ISA_AVX512VNNI : ck_has_avxvnni() ? CK_ISA_AVXVNNI
         : ck_has_avx2fma() ? CK_ISA_AVX2 : CK_ISA_PORTABLE;
}

void ck_i8_gemm_with(float *out, const uint8_t *aq, const float *ascales, const int32_t *azps,
                     const int8_t *wpacked, const float *wscales, const int32_t *wcolsums, const float *bias,
                     const float *residual, int m, int n, int k, int p0, int p1, int isa) {
    if (isa == CK_ISA_AUTO) isa = ck_i8_gemm_isa();
#if defined(__x86_64__)
    if (isa == CK_ISA_AVX512VNNI) { i8_gemm_vnni(out, aq, ascales, azps, wpacked, wscales, wcolsums, bias, residual, m, n, k, p0, p1); return; }
    if (isa == CK_ISA_AVXVNNI) { i8_gemm_avxvnni(out, aq, ascales, azps, wpacked, wscales, wcolsums, bias, residual, m, n, k, p0, p1); return; }
    if (isa == CK_ISA_AVX2) { i8_gemm_avx2(out, aq, ascales, azps, wpacked, wscales, wcolsums, bias, residual, m, n, k, p0, p1); return; }
#endif
    i8_gemm_portable(out, aq, ascales, azps, wpacked, wscales, wcolsums, bias, residual, m, n, k, p0, p1);
}
