#define _GNU_SOURCE
#include "ckernels.h"
#include <math.h>
#include <string.h>
#if defined(__linux__)
#include <sched.h>
#endif
#if defined(__GLIBC__)
#include <malloc.h>
#endif

int ck_set_mmap_threshold(int bytes) {
#if defined(__GLIBC__)
    return mallopt(M_MMAP_THRESHOLD, bytes);
#else
    (void)bytes;
    return 0;
#endif
}

int ck_affinity_cpus(void) {
#if defined(__linux__)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
#endif
    return 0;
}

// ---------------------------------------------------------------------------------------
// Portable C, for every CPU: packing, and plain versions of the GEMMs (no intrinsics) that
// compute each output element in exactly the order the vector kernels do.
// ---------------------------------------------------------------------------------------

// fp32 -> bf16, round to nearest even (inputs are finite).
static inline uint16_t to_bf16(float f) {
    uint32_t b;
    memcpy(&b, &f, 4);
    b += 0x7FFF + ((b >> 16) & 1);
    return (uint16_t)(b >> 16);
}

// fp32 -> bf16 as vcvtne2ps2bf16 converts: denormals become signed zero, NaN stays a quiet
// NaN, everything else rounds to nearest even.
static inline uint16_t to_bf16_cvtne(float f) {
    uint32_t b;
    memcpy(&b, &f, 4);
    if ((b & 0x7F800000u) == 0) return (uint16_t)((b >> 16) & 0x8000u);
    if ((b & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((b >> 16) | 0x40u);
    b += 0x7FFF + ((b >> 16) & 1);
    return (uint16_t)(b >> 16);
}

static inline float from_bf16(uint16_t h) {
    uint32_t b = (uint32_t)h << 16;
    float f;
    memcpy(&f, &b, 4);
    return f;
}

size_t ck_bf16_packed_count(int n, int k) { return (size_t)n * (size_t)k; }

void ck_bf16_pack_weights(uint16_t *packed, const float *w, int n, int k) {
    int pairs = k / 2;
    for (int p = 0; p < n / 32; p++)
        for (int q = 0; q < pairs; q++)
            for (int c = 0; c < 32; c++)
                for (int e = 0; e < 2; e++)
                    packed[(((size_t)p * pairs + q) * 32 + c) * 2 + e] = to_bf16(w[(size_t)(p * 32 + c) * k + 2 * q + e]);
}

void ck_bf16_pack_from_f32_panels(uint16_t *packed, const float *wpanels, int n, int k) {
    int pairs = k / 2;
    for (int p = 0; p < n / 32; p++)
        for (int q = 0; q < pairs; q++)
            for (int c = 0; c < 32; c++)
                for (int e = 0; e < 2; e++)
                    packed[(((size_t)p * pairs + q) * 32 + c) * 2 + e] = to_bf16(wpanels[((size_t)p * k + 2 * q + e) * 32 + c]);
}

enum { MR = 12 };

size_t ck_bf16_scratch_count(int m, int k) { return (size_t)((m + MR - 1) / MR * MR) * (size_t)k; }

size_t ck_f32_packed_count(int n, int k) { return (size_t)n * (size_t)k; }

void ck_f32_pack_weights(float *packed, const float *w, int n, int k) {
    for (int p = 0; p < n / 32; p++)
        for (int kk = 0; kk < k; kk++)
            for (int c = 0; c < 32; c++)
                packed[((size_t)p * k + kk) * 32 + c] = w[(size_t)(p * 32 + c) * k + kk];
}

static void bf16_convert_portable(uint16_t *abf, const float *a, int m, int k) {
    int mp = (m + MR - 1) / MR * MR;
    for (size_t i = 0; i < (size_t)m * (size_t)k; i++) abf[i] = to_bf16_cvtne(a[i]);
    memset(abf + (size_t)m * k, 0, (size_t)(mp - m) * k * 2);
}

// As vdpbf16ps accumulates a pair (Intel SDM): the odd element's product first, then the
// even one's; the products of two bf16 values are exact in fp32. (Unlike the instruction,
// denormal sums are not flushed to zero.)
static void bf16_gemm_portable(float *out, const uint16_t *abf, const uint16_t *wpacked, const float *bias,
                               const float *residual, int m, int n, int k, int p0, int p1) {
    int pairs = k / 2;
    for (int p = p0; p < p1; p++) {
        const uint16_t *bp = wpacked + (size_t)p * k * 32;
        for (int i = 0; i < m; i++) {
            const uint16_t *ar = abf + (size_t)i * k;
            for (int c = 0; c < 32; c++) {
                float acc = 0;
                for (int q = 0; q < pairs; q++) {
                    const uint16_t *b = bp + ((size_t)q * 32 + c) * 2;
                    acc = fmaf(from_bf16(ar[2 * q + 1]), from_bf16(b[1]), acc);
                    acc = fmaf(from_bf16(ar[2 * q]), from_bf16(b[0]), acc);
                }
                size_t o = (size_t)i * n + p * 32 + c;
                float r = acc + bias[p * 32 + c];
                if (residual) r = r + residual[o];
                out[o] = r;
            }
        }
    }
}

// out[i, c] = ((fma over k = 0..K-1, from 0) + bias[c]) [+ residual[i, c]]: the order of the
// vector kernels, so the results are bit-identical to theirs.
static void f32_gemm_portable(float *out, const float *a, const float *wpacked, const float *bias,
                              const float *residual, int m, int n, int k, int p0, int p1) {
    for (int p = p0; p < p1; p++) {
        const float *bp = wpacked + (size_t)p * k * 32;
        for (int i = 0; i < m; i++) {
            const float *ar = a + (size_t)i * k;
            float acc[32] = {0};
            for (int kk = 0; kk < k; kk++) {
                float av = ar[kk];
                const float *b = bp + (size_t)kk * 32;
                for (int c = 0; c < 32; c++) acc[c] = fmaf(av, b[c], acc[c]);
            }
            for (int c = 0; c < 32; c++) {
                size_t o = (size_t)i * n + p * 32 + c;
                float r = acc[c] + bias[p * 32 + c];
                if (residual) r = r + residual[o];
                out[o] = r;
            }
        }
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))
#define AVX512BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,fma")))
#define AVX2FMA __attribute__((target("avx2,fma")))

static int isa_limit = CK_ISA_AUTO;

void ck_limit_isa(int isa) { isa_limit = isa; }

int ck_has_avx512(void) {
    __builtin_cpu_init();
    if (isa_limit != CK_ISA_AUTO && (isa_limit < CK_ISA_AVX512 || isa_limit == CK_ISA_AVXVNNI)) return 0;
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
}

int ck_has_avx512bf16(void) {
    return ck_has_avx512() && __builtin_cpu_supports("avx512bf16");
}

int ck_has_avx2fma(void) {
    __builtin_cpu_init();
    if (isa_limit == CK_ISA_PORTABLE) return 0;
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

int ck_has_avxvnni(void) {
    if (isa_limit == CK_ISA_AVX2) return 0;
    return ck_has_avx2fma() && __builtin_cpu_supports("avxvnni");
}

// A (M, K) fp32 -> bf16 rows, padded with zero rows to a multiple of MR.
AVX512BF16 static void bf16_convert_avx512(uint16_t *abf, const float *a, int m, int k) {
    int mp = (m + MR - 1) / MR * MR;
    for (int i = 0; i < m; i++) {
        const float *ar = a + (size_t)i * k;
        uint16_t *br = abf + (size_t)i * k;
        for (int c = 0; c < k; c += 32) {
            __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(ar + c + 16), _mm512_loadu_ps(ar + c));
            _mm512_storeu_si512(br + c, (__m512i)v);
        }
    }
    memset(abf + (size_t)m * k, 0, (size_t)(mp - m) * k * 2);
}

// One MR x 32 tile over the full K.
AVX512BF16 static inline void tile(float *out, const uint16_t *abf, const uint16_t *bp, const float *bias,
                                   const float *residual, int rows, int n, int k, int n0) {
    __m512 acc[MR][2];
    for (int i = 0; i < MR; i++) { acc[i][0] = _mm512_setzero_ps(); acc[i][1] = _mm512_setzero_ps(); }
    int pairs = k / 2;
    for (int q = 0; q < pairs; q++) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(bp + (size_t)q * 64);
        __m512bh b1 = (__m512bh)_mm512_loadu_si512(bp + (size_t)q * 64 + 32);
        for (int i = 0; i < MR; i++) {
            int32_t pair;
            memcpy(&pair, abf + (size_t)i * k + 2 * q, 4);
            __m512bh av = (__m512bh)_mm512_set1_epi32(pair);
            acc[i][0] = _mm512_dpbf16_ps(acc[i][0], av, b0);
            acc[i][1] = _mm512_dpbf16_ps(acc[i][1], av, b1);
        }
    }
    __m512 bias0 = _mm512_loadu_ps(bias + n0), bias1 = _mm512_loadu_ps(bias + n0 + 16);
    // Index acc only with constants so it stays in registers: a partial tile goes
    // through a stack buffer.
    float part[MR * 32];
    int full = rows == MR;
    for (int i = 0; i < MR; i++) {
        __m512 r0 = _mm512_add_ps(acc[i][0], bias0), r1 = _mm512_add_ps(acc[i][1], bias1);
        if (full) {
            if (residual) {
                r0 = _mm512_add_ps(r0, _mm512_loadu_ps(residual + (size_t)i * n + n0));
                r1 = _mm512_add_ps(r1, _mm512_loadu_ps(residual + (size_t)i * n + n0 + 16));
            }
            _mm512_storeu_ps(out + (size_t)i * n + n0, r0);
            _mm512_storeu_ps(out + (size_t)i * n + n0 + 16, r1);
        } else {
            _mm512_storeu_ps(part + i * 32, r0);
            _mm512_storeu_ps(part + i * 32 + 16, r1);
        }
    }
    if (!full) {
        for (int i = 0; i < rows; i++) {
            __m512 r0 = _mm512_loadu_ps(part + i * 32), r1 = _mm512_loadu_ps(part + i * 32 + 16);
            if (residual) {
                r0 = _mm512_add_ps(r0, _mm512_loadu_ps(residual + (size_t)i * n + n0));
                r1 = _mm512_add_ps(r1, _mm512_loadu_ps(residual + (size_t)i * n + n0 + 16));
            }
            _mm512_storeu_ps(out + (size_t)i * n + n0, r0);
            _mm512_storeu_ps(out + (size_t)i * n + n0 + 16, r1);
        }
    }
}

AVX512BF16 static void bf16_gemm_avx512(float *out, const uint16_t *abf, const uint16_t *wpacked, const float *bias,
                                        const float *residual, int m, int n, int k, int p0, int p1) {
    for (int p = p0; p < p1; p++) {
        const uint16_t *bp = wpacked + (size_t)p * k * 32;
        for (int i0 = 0; i0 < m; i0 += MR) {
            int rows = m - i0 < MR ? m - i0 : MR;
            tile(out + (size_t)i0 * n, abf + (size_t)i0 * k, bp, bias,
                 residual ? residual + (size_t)i0 * n : NULL, rows, n, k, p * 32);
        }
    }
}

// One rows x 32 tile (rows <= MR) over the full K, A read in place. Always inlined with
// a constant `rows`, so the accumulators stay in registers.
#define TILE_F32_ATTR AVX512 __attribute__((always_inline))
TILE_F32_ATTR static inline void tile_f32(float *out, const float *a, const float *bp, const float *bias,
                                          const float *residual, const int rows, int n, int k, int n0) {
    __m512 acc[MR][2];
    for (int i = 0; i < rows; i++) { acc[i][0] = _mm512_setzero_ps(); acc[i][1] = _mm512_setzero_ps(); }
    for (int kk = 0; kk < k; kk++) {
        __m512 b0 = _mm512_loadu_ps(bp + (size_t)kk * 32), b1 = _mm512_loadu_ps(bp + (size_t)kk * 32 + 16);
        for (int i = 0; i < rows; i++) {
            __m512 av = _mm512_set1_ps(a[(size_t)i * k + kk]);
            acc[i][0] = _mm512_fmadd_ps(av, b0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(av, b1, acc[i][1]);
        }
    }
    __m512 bias0 = _mm512_loadu_ps(bias + n0), bias1 = _mm512_loadu_ps(bias + n0 + 16);
    for (int i = 0; i < rows; i++) {
        __m512 r0 = _mm512_add_ps(acc[i][0], bias0), r1 = _mm512_add_ps(acc[i][1], bias1);
        if (residual) {
            r0 = _mm512_add_ps(r0, _mm512_loadu_ps(residual + (size_t)i * n + n0));
            r1 = _mm512_add_ps(r1, _mm512_loadu_ps(residual + (size_t)i * n + n0 + 16));
        }
        _mm512_storeu_ps(out + (size_t)i * n + n0, r0);
        _mm512_storeu_ps(out + (size_t)i * n + n0 + 16, r1);
    }
}

#define TILE_CASE(R) case R: tile_f32(o, ar, bp, bias, res, R, n, k, n0); break;
AVX512 static void tile_f32_rows(float *o, const float *ar, const float *bp, const float *bias,
                                 const float *res, int rows, int n, int k, int n0) {
    switch (rows) {
        TILE_CASE(1) TILE_CASE(2) TILE_CASE(3) TILE_CASE(4) TILE_CASE(5) TILE_CASE(6)
        TILE_CASE(7) TILE_CASE(8) TILE_CASE(9) TILE_CASE(10) TILE_CASE(11)
        default: break;
    }
}

AVX512 static void f32_gemm_avx512(float *out, const float *a, const float *wpacked, const float *bias,
                                   const float *residual, int m, int n, int k, int p0, int p1) {
    for (int p = p0; p < p1; p++) {
        const float *bp = wpacked + (size_t)p * k * 32;
        for (int i0 = 0; i0 < m; i0 += MR) {
            float *o = out + (size_t)i0 * n;
            const float *ar = a + (size_t)i0 * k, *res = residual ? residual + (size_t)i0 * n : NULL;
            if (m - i0 >= MR) tile_f32(o, ar, bp, bias, res, MR, n, k, p * 32);
            else tile_f32_rows(o, ar, bp, bias, res, m - i0, n, k, p * 32);
        }
    }
}

// AVX2 + FMA: a 6-row x 16-column tile (12 ymm accumulators) over one half of a 32-column
// panel, full K, A read in place. Each element's accumulator runs the FMA chain over k in
// order from zero, then adds the bias and the residual, as tile_f32 does: the results are
// bit-identical to the AVX-512 kernel's and do not depend on M or on a row's tile position.
enum { MR2 = 6 };

// One output row of 16 columns: acc + bias [+ residual], stored. Shared by the AVX2 tiles.
AVX2FMA __attribute__((always_inline)) static inline void store_row_avx2(float *out, __m256 acc0, __m256 acc1, __m256 bias0,
                                                                         __m256 bias1, const float *residual) {
    __m256 r0 = _mm256_add_ps(acc0, bias0), r1 = _mm256_add_ps(acc1, bias1);
    if (residual) {
        r0 = _mm256_add_ps(r0, _mm256_loadu_ps(residual));
        r1 = _mm256_add_ps(r1, _mm256_loadu_ps(residual + 8));
    }
    _mm256_storeu_ps(out, r0);
    _mm256_storeu_ps(out + 8, r1);
}

#define TILE_AVX2_ATTR AVX2FMA __attribute__((always_inline))
TILE_AVX2_ATTR static inline void tile_avx2(float *out, const float *a, const float *bp, const float *bias,
                                            const float *residual, const int rows, int n, int k, int n0) {
    __m256 acc[MR2][2];
    for (int i = 0; i < rows; i++) { acc[i][0] = _mm256_setzero_ps(); acc[i][1] = _mm256_setzero_ps(); }
    for (int kk = 0; kk < k; kk++) {
        __m256 b0 = _mm256_loadu_ps(bp + (size_t)kk * 32), b1 = _mm256_loadu_ps(bp + (size_t)kk * 32 + 8);
        for (int i = 0; i < rows; i++) {
            __m256 av = _mm256_broadcast_ss(a + (size_t)i * k + kk);
            acc[i][0] = _mm256_fmadd_ps(av, b0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(av, b1, acc[i][1]);
        }
    }
    __m256 bias0 = _mm256_loadu_ps(bias + n0), bias1 = _mm256_loadu_ps(bias + n0 + 8);
    for (int i = 0; i < rows; i++)
        store_row_avx2(out + (size_t)i * n + n0, acc[i][0], acc[i][1], bias0, bias1,
                       residual ? residual + (size_t)i * n + n0 : NULL);
}

#define TILE_AVX2_CASE(R) case R: tile_avx2(o, ar, bp, bias, res, R, n, k, n0); break;
AVX2FMA static void tile_avx2_rows(float *o, const float *ar, const float *bp, const float *bias,
                                   const float *res, int rows, int n, int k, int n0) {
    switch (rows) {
        TILE_AVX2_CASE(1) TILE_AVX2_CASE(2) TILE_AVX2_CASE(3) TILE_AVX2_CASE(4) TILE_AVX2_CASE(5)
        default: break;
    }
}

AVX2FMA static void f32_gemm_avx2(float *out, const float *a, const float *wpacked, const float *bias,
                                  const float *residual, int m, int n, int k, int p0, int p1) {
    for (int p = p0; p < p1; p++) {
        for (int half = 0; half < 2; half++) {
            const float *bp = wpacked + (size_t)p * k * 32 + half * 16;
            int n0 = p * 32 + half * 16;
            for (int i0 = 0; i0 < m; i0 += MR2) {
                float *o = out + (size_t)i0 * n;
                const float *ar = a + (size_t)i0 * k, *res = residual ? residual + (size_t)i0 * n : NULL;
                if (m - i0 >= MR2) tile_avx2(o, ar, bp, bias, res, MR2, n, k, n0);
                else tile_avx2_rows(o, ar, bp, bias, res, m - i0, n, k, n0);
            }
        }
    }
}

// bf16 on AVX2 + FMA, for CPUs without AVX512-BF16: the same numbers as vdpbf16ps without
// its speed (it validates the bf16 path's quality on any x86 machine). A packed pair of a
// column is one 32-bit lane: its even element in the low half, its odd one in the high half,
// so a bf16 becomes an fp32 by a mask or a shift. Each accumulator takes the odd product
// first, then the even one, as bf16_gemm_portable does, so the results are identical to it.
enum { MRB = 4 };

#define TILE_BF16_AVX2_ATTR AVX2FMA __attribute__((always_inline))
TILE_BF16_AVX2_ATTR static inline void tile_bf16_avx2(float *out, const uint16_t *abf, const uint16_t *bp,
                                                      const float *bias, const float *residual,
                                                      const int rows, int n, int k, int n0) {
    const __m256i high = _mm256_set1_epi32((int)0xFFFF0000u);
    __m256 acc[MRB][2];
    for (int i = 0; i < rows; i++) { acc[i][0] = _mm256_setzero_ps(); acc[i][1] = _mm256_setzero_ps(); }
    int pairs = k / 2;
    for (int q = 0; q < pairs; q++) {
        __m256i b0 = _mm256_loadu_si256((const __m256i *)(bp + (size_t)q * 64));
        __m256i b1 = _mm256_loadu_si256((const __m256i *)(bp + (size_t)q * 64 + 16));
        __m256 b0o = _mm256_castsi256_ps(_mm256_and_si256(b0, high)), b1o = _mm256_castsi256_ps(_mm256_and_si256(b1, high));
        __m256 b0e = _mm256_castsi256_ps(_mm256_slli_epi32(b0, 16)), b1e = _mm256_castsi256_ps(_mm256_slli_epi32(b1, 16));
        for (int i = 0; i < rows; i++) {
            uint32_t pair;
            memcpy(&pair, abf + (size_t)i * k + 2 * q, 4);
            __m256 ao = _mm256_castsi256_ps(_mm256_set1_epi32((int)(pair & 0xFFFF0000u)));
            __m256 ae = _mm256_castsi256_ps(_mm256_set1_epi32((int)(pair << 16)));
            acc[i][0] = _mm256_fmadd_ps(ae, b0e, _mm256_fmadd_ps(ao, b0o, acc[i][0]));
            acc[i][1] = _mm256_fmadd_ps(ae, b1e, _mm256_fmadd_ps(ao, b1o, acc[i][1]));
        }
    }
    __m256 bias0 = _mm256_loadu_ps(bias + n0), bias1 = _mm256_loadu_ps(bias + n0 + 8);
    for (int i = 0; i < rows; i++)
        store_row_avx2(out + (size_t)i * n + n0, acc[i][0], acc[i][1], bias0, bias1,
                       residual ? residual + (size_t)i * n + n0 : NULL);
}

#define TILE_BF16_AVX2_CASE(R) case R: tile_bf16_avx2(o, ar, bp, bias, res, R, n, k, n0); break;
AVX2FMA static void bf16_gemm_avx2(float *out, const uint16_t *abf, const uint16_t *wpacked, const float *bias,
                                   const float *residual, int m, int n, int k, int p0, int p1) {
    for (int p = p0; p < p1; p++) {
        for (int half = 0; half < 2; half++) {
            // A half panel's pair q: its 16 columns' lanes start at ((p * K/2 + q) * 32 + 16 * half) * 2.
            const uint16_t *bp = wpacked + (size_t)p * k * 32 + half * 32;
            int n0 = p * 32 + half * 16;
            for (int i0 = 0; i0 < m; i0 += MRB) {
                float *o = out + (size_t)i0 * n;
                const uint16_t *ar = abf + (size_t)i0 * k;
                const float *res = residual ? residual + (size_t)i0 * n : NULL;
                switch (m - i0 >= MRB ? MRB : m - i0) {
                    TILE_BF16_AVX2_CASE(1) TILE_BF16_AVX2_CASE(2) TILE_BF16_AVX2_CASE(3) TILE_BF16_AVX2_CASE(4)
                    default: break;
                }
            }
        }
    }
}

// Horner coefficients, highest degree first, shared by the 512- and 256-bit kernels: e^r for
// |r| ≤ ln2/2 (Taylor, degree 7) and P(t) of the erfc fit (the same as Kernels.gelu16's).
static const float exp_poly[8] = {1.0f / 5040, 1.0f / 720, 1.0f / 120, 1.0f / 24, 1.0f / 6, 0.5f, 1.0f, 1.0f};
static const float erfc_poly[8] = {-0.051091600f, 0.34036958f, -0.87855190f, 0.97611260f,
                                   -0.34981775f, 0.43216145f, 0.24562173f, 0.28519592f};

// kt[e, j] = k[j, e] · scale for the T keys of one head, zero for the padding up to Tp. (D, Tp)
static void transpose_keys(float *kt, const float *k0, int qkv_stride, int t, int tp, int d, float scale) {
    for (int j = 0; j < t; j++)
        for (int e = 0; e < d; e++) kt[(size_t)e * tp + j] = k0[(size_t)j * qkv_stride + e] * scale;
    for (int e = 0; e < d; e++)
        for (int j = t; j < tp; j++) kt[(size_t)e * tp + j] = 0;
}

// e^x for x <= 0 region and beyond; same scheme as the Swift exp16 (0 below -87.3).
AVX512 static inline __m512 exp512(__m512 x) {
    __mmask16 under = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.3f), _CMP_LT_OQ);
    x = _mm512_max_ps(x, _mm512_set1_ps(-87.3f));
    x = _mm512_min_ps(x, _mm512_set1_ps(88.7f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.69314575f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.4286068e-6f), r);
    __m512 p = _mm512_set1_ps(exp_poly[0]);
    for (int i = 1; i < 8; i++) p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(exp_poly[i]));
    __m512 y = _mm512_scalef_ps(p, n);
    return _mm512_maskz_mov_ps((__mmask16)~under, y);
}

// GELU with erfc(a) = t·P(t)·e^(-a²), t = 1/(1 + a/2): the same fit as Kernels.gelu16.
AVX512 static inline __m512 gelu512(__m512 x) {
    __m512 a = _mm512_abs_ps(_mm512_mul_ps(x, _mm512_set1_ps(0.70710677f)));
    a = _mm512_min_ps(a, _mm512_set1_ps(10.0f));
    __m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_fmadd_ps(a, _mm512_set1_ps(0.5f), _mm512_set1_ps(1.0f)));
    __m512 p = _mm512_set1_ps(erfc_poly[0]);
    for (int i = 1; i < 8; i++) p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(erfc_poly[i]));
    __m512 e = exp512(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_mul_ps(a, a)));
    __m512 half_erfc = _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), t), _mm512_mul_ps(p, e));
    __mmask16 neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
    __m512 phi = _mm512_mask_mov_ps(_mm512_sub_ps(_mm512_set1_ps(1.0f), half_erfc), neg, half_erfc);
    return _mm512_mul_ps(x, phi);
}

// Queries are taken four at a time so that every K and V load feeds four independent
// FMA chains (one chain per query is latency-bound at these sizes).
AVX512 void ck_attention_avx512(float *out, int out_stride, const float *qkv, int qkv_stride,
                                int t, int heads, int d, float *scratch) {
    enum { Q = 4, D = 32 };
    if (d != D) return;
    int c = heads * D, tp = (t + 15) & ~15, chunks = tp / 16;
    float *kt = scratch, *s = scratch + (size_t)D * tp;   // kt (D, Tp), s (Q, Tp)
    float scale = 1.0f / sqrtf((float)D);
    int rem = t - (chunks - 1) * 16;
    __mmask16 tail = (__mmask16)(rem == 16 ? 0xFFFF : (1u << rem) - 1);
    for (int h = 0; h < heads; h++) {
        const float *q0 = qkv + h * D, *k0 = qkv + c + h * D, *v0 = qkv + 2 * c + h * D;
        transpose_keys(kt, k0, qkv_stride, t, tp, D, scale);
        for (int i0 = 0; i0 < t; i0 += Q) {
            int nq = t - i0 < Q ? t - i0 : Q;
            const float *qr[Q];
            for (int qi = 0; qi < Q; qi++) qr[qi] = q0 + (size_t)(i0 + (qi < nq ? qi : 0)) * qkv_stride;
            __m512 mx[Q];
            for (int qi = 0; qi < Q; qi++) mx[qi] = _mm512_set1_ps(-INFINITY);
            for (int ch = 0; ch < chunks; ch++) {
                __m512 acc[Q];
                for (int qi = 0; qi < Q; qi++) acc[qi] = _mm512_setzero_ps();
                for (int e = 0; e < D; e++) {
                    __m512 kv = _mm512_loadu_ps(kt + (size_t)e * tp + ch * 16);
                    for (int qi = 0; qi < Q; qi++) acc[qi] = _mm512_fmadd_ps(_mm512_set1_ps(qr[qi][e]), kv, acc[qi]);
                }
                for (int qi = 0; qi < Q; qi++) {
                    if (ch == chunks - 1) acc[qi] = _mm512_mask_mov_ps(_mm512_set1_ps(-INFINITY), tail, acc[qi]);
                    mx[qi] = _mm512_max_ps(mx[qi], acc[qi]);
                    _mm512_storeu_ps(s + qi * tp + ch * 16, acc[qi]);
                }
            }
            __m512 inv[Q];
            for (int qi = 0; qi < Q; qi++) {
                __m512 mv = _mm512_set1_ps(_mm512_reduce_max_ps(mx[qi]));
                __m512 sum = _mm512_setzero_ps();
                for (int ch = 0; ch < chunks; ch++) {
                    __m512 e = exp512(_mm512_sub_ps(_mm512_loadu_ps(s + qi * tp + ch * 16), mv));
                    sum = _mm512_add_ps(sum, e);
                    _mm512_storeu_ps(s + qi * tp + ch * 16, e);
                }
                inv[qi] = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
            }
            __m512 a0[Q], a1[Q];
            for (int qi = 0; qi < Q; qi++) { a0[qi] = _mm512_setzero_ps(); a1[qi] = _mm512_setzero_ps(); }
            const float *vr = v0;
            for (int j = 0; j < t; j++, vr += qkv_stride) {
                __m512 va = _mm512_loadu_ps(vr), vb = _mm512_loadu_ps(vr + 16);
                for (int qi = 0; qi < Q; qi++) {
                    __m512 p = _mm512_set1_ps(s[qi * tp + j]);
                    a0[qi] = _mm512_fmadd_ps(p, va, a0[qi]);
                    a1[qi] = _mm512_fmadd_ps(p, vb, a1[qi]);
                }
            }
            for (int qi = 0; qi < nq; qi++) {
                float *o = out + (size_t)(i0 + qi) * out_stride + h * D;
                _mm512_storeu_ps(o, _mm512_mul_ps(a0[qi], inv[qi]));
                _mm512_storeu_ps(o + 16, _mm512_mul_ps(a1[qi], inv[qi]));
            }
        }
    }
}

AVX512 void ck_gelu_avx512(float *out, const float *x, long count) {
    long i = 0;
    for (; i + 16 <= count; i += 16) _mm512_storeu_ps(out + i, gelu512(_mm512_loadu_ps(x + i)));
    if (i < count) {
        __mmask16 m = (__mmask16)((1u << (count - i)) - 1);
        _mm512_mask_storeu_ps(out + i, m, gelu512(_mm512_maskz_loadu_ps(m, x + i)));
    }
}

// The same GELU 8 lanes at a time on AVX2 + FMA. 2^n is built in the exponent bits (n ≥ −126
// after the clamp), where AVX-512 has vscalefps.
AVX2FMA static inline __m256 exp256(__m256 x) {
    __m256 under = _mm256_cmp_ps(x, _mm256_set1_ps(-87.3f), _CMP_LT_OQ);
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.3f));
    x = _mm256_min_ps(x, _mm256_set1_ps(88.0f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.69314575f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.4286068e-6f), r);
    __m256 p = _mm256_set1_ps(exp_poly[0]);
    for (int i = 1; i < 8; i++) p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(exp_poly[i]));
    __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    __m256 y = _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
    return _mm256_andnot_ps(under, y);
}

AVX2FMA static inline __m256 gelu256(__m256 x) {
    __m256 a = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), _mm256_mul_ps(x, _mm256_set1_ps(0.70710677f)));
    a = _mm256_min_ps(a, _mm256_set1_ps(10.0f));
    __m256 t = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_fmadd_ps(a, _mm256_set1_ps(0.5f), _mm256_set1_ps(1.0f)));
    __m256 p = _mm256_set1_ps(erfc_poly[0]);
    for (int i = 1; i < 8; i++) p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(erfc_poly[i]));
    __m256 e = exp256(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(a, a)));
    __m256 half_erfc = _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), t), _mm256_mul_ps(p, e));
    __m256 neg = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ);
    __m256 phi = _mm256_blendv_ps(_mm256_sub_ps(_mm256_set1_ps(1.0f), half_erfc), half_erfc, neg);
    return _mm256_mul_ps(x, phi);
}

AVX2FMA static inline float hmax256(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}

AVX2FMA static inline float hsum256(__m256 v) {
    __m128 m = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_add_ps(m, _mm_movehl_ps(m, m));
    m = _mm_add_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}

// ck_attention_avx512's scheme on AVX2 + FMA: 8 keys per vector, four queries at a time; P·V
// in two halves of the head so that the accumulators fit AVX2's 16 registers.
AVX2FMA void ck_attention_avx2(float *out, int out_stride, const float *qkv, int qkv_stride,
                               int t, int heads, int d, float *scratch) {
    enum { Q = 4, D = 32 };
    if (d != D) return;
    int c = heads * D, tp = (t + 15) & ~15, chunks = tp / 8;
    float *kt = scratch, *s = scratch + (size_t)D * tp;   // kt (D, Tp), s (Q, Tp)
    float scale = 1.0f / sqrtf((float)D);
    const __m256 lanes = _mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7), minf = _mm256_set1_ps(-INFINITY);
    for (int h = 0; h < heads; h++) {
        const float *q0 = qkv + h * D, *k0 = qkv + c + h * D, *v0 = qkv + 2 * c + h * D;
        transpose_keys(kt, k0, qkv_stride, t, tp, D, scale);
        for (int i0 = 0; i0 < t; i0 += Q) {
            int nq = t - i0 < Q ? t - i0 : Q;
            const float *qr[Q];
            for (int qi = 0; qi < Q; qi++) qr[qi] = q0 + (size_t)(i0 + (qi < nq ? qi : 0)) * qkv_stride;
            __m256 mx[Q];
            for (int qi = 0; qi < Q; qi++) mx[qi] = minf;
            for (int ch = 0; ch < chunks; ch++) {
                __m256 acc[Q];
                for (int qi = 0; qi < Q; qi++) acc[qi] = _mm256_setzero_ps();
                for (int e = 0; e < D; e++) {
                    __m256 kv = _mm256_loadu_ps(kt + (size_t)e * tp + ch * 8);
                    for (int qi = 0; qi < Q; qi++) acc[qi] = _mm256_fmadd_ps(_mm256_set1_ps(qr[qi][e]), kv, acc[qi]);
                }
                // Keys past T (the zero padding) score −∞.
                __m256 pad = _mm256_cmp_ps(_mm256_add_ps(lanes, _mm256_set1_ps((float)(ch * 8))), _mm256_set1_ps((float)t), _CMP_GE_OQ);
                for (int qi = 0; qi < Q; qi++) {
                    acc[qi] = _mm256_blendv_ps(acc[qi], minf, pad);
                    mx[qi] = _mm256_max_ps(mx[qi], acc[qi]);
                    _mm256_storeu_ps(s + qi * tp + ch * 8, acc[qi]);
                }
            }
            __m256 inv[Q];
            for (int qi = 0; qi < Q; qi++) {
                __m256 mv = _mm256_set1_ps(hmax256(mx[qi]));
                __m256 sum = _mm256_setzero_ps();
                for (int ch = 0; ch < chunks; ch++) {
                    __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(s + qi * tp + ch * 8), mv));
                    sum = _mm256_add_ps(sum, e);
                    _mm256_storeu_ps(s + qi * tp + ch * 8, e);
                }
                inv[qi] = _mm256_set1_ps(1.0f / hsum256(sum));
            }
            for (int half = 0; half < 2; half++) {
                __m256 a0[Q], a1[Q];
                for (int qi = 0; qi < Q; qi++) { a0[qi] = _mm256_setzero_ps(); a1[qi] = _mm256_setzero_ps(); }
                const float *vr = v0 + half * 16;
                for (int j = 0; j < t; j++, vr += qkv_stride) {
                    __m256 va = _mm256_loadu_ps(vr), vb = _mm256_loadu_ps(vr + 8);
                    for (int qi = 0; qi < Q; qi++) {
                        __m256 p = _mm256_set1_ps(s[qi * tp + j]);
                        a0[qi] = _mm256_fmadd_ps(p, va, a0[qi]);
                        a1[qi] = _mm256_fmadd_ps(p, vb, a1[qi]);
                    }
                }
                for (int qi = 0; qi < nq; qi++) {
                    float *o = out + (size_t)(i0 + qi) * out_stride + h * D + half * 16;
                    _mm256_storeu_ps(o, _mm256_mul_ps(a0[qi], inv[qi]));
                    _mm256_storeu_ps(o + 8, _mm256_mul_ps(a1[qi], inv[qi]));
                }
            }
        }
    }
}

AVX2FMA void ck_gelu_avx2(float *out, const float *x, long count) {
    long i = 0;
    for (; i + 8 <= count; i += 8) _mm256_storeu_ps(out + i, gelu256(_mm256_loadu_ps(x + i)));
    if (i < count) {
        float in[8] = {0}, res[8];
        memcpy(in, x + i, (size_t)(count - i) * sizeof(float));
        _mm256_storeu_ps(res, gelu256(_mm256_loadu_ps(in)));
        memcpy(out + i, res, (size_t)(count - i) * sizeof(float));
    }
}

#else
void ck_limit_isa(int isa) { (void)isa; }
int ck_has_avx512(void) { return 0; }
int ck_has_avx512bf16(void) { return 0; }
int ck_has_avx2fma(void) { return 0; }
int ck_has_avxvnni(void) { return 0; }
void ck_gelu_avx512(float *out, const float *x, long count) { (void)out; (void)x; (void)count; }
void ck_gelu_avx2(float *out, const float *x, long count) { (void)out; (void)x; (void)count; }
void ck_attention_avx2(float *out, int out_stride, const float *qkv, int qkv_stride,
                       int t, int heads, int d, float *scratch) {
    (void)out; (void)out_stride; (void)qkv; (void)qkv_stride; (void)t; (void)heads; (void)d; (void)scratch;
}
void ck_attention_avx512(float *out, int out_stride, const float *qkv, int qkv_stride,
                         int t, int heads, int d, float *scratch) {
    (void)out; (void)out_stride; (void)qkv; (void)qkv_stride; (void)t; (void)heads; (void)d; (void)scratch;
}
#endif

// ---------------------------------------------------------------------------------------
// Dispatch
// ---------------------------------------------------------------------------------------

int ck_isa_supported(int isa) {
    switch (isa) {
    case CK_ISA_AUTO: case CK_ISA_PORTABLE: return 1;
    case CK_ISA_AVX2: return ck_has_avx2fma();
    case CK_ISA_AVX512: return ck_has_avx512();
    case CK_ISA_AVX512BF16: return ck_has_avx512bf16();
    case CK_ISA_AVX512VNNI: return ck_has_avx512vnni();
    case CK_ISA_AVXVNNI: return ck_has_avxvnni();
    default: return 0;
    }
}

int ck_f32_gemm_isa(void) {
    return ck_has_avx512() ? CK_ISA_AVX512 : ck_has_avx2fma() ? CK_ISA_AVX2 : CK_ISA_PORTABLE;
}

void ck_f32_gemm_with(float *out, const float *a, const float *wpacked, const float *bias,
                      const float *residual, int m, int n, int k, int p0, int p1, int isa) {
    if (isa == CK_ISA_AUTO) isa = ck_f32_gemm_isa();
#if defined(__x86_64__)
    if (isa == CK_ISA_AVX512) { f32_gemm_avx512(out, a, wpacked, bias, residual, m, n, k, p0, p1); return; }
    if (isa == CK_ISA_AVX2) { f32_gemm_avx2(out, a, wpacked, bias, residual, m, n, k, p0, p1); return; }
#endif
    f32_gemm_portable(out, a, wpacked, bias, residual, m, n, k, p0, p1);
}

void ck_f32_gemm(float *out, const float *a, const float *wpacked, const float *bias,
                 const float *residual, int m, int n, int k, int p0, int p1) {
    ck_f32_gemm_with(out, a, wpacked, bias, residual, m, n, k, p0, p1, CK_ISA_AUTO);
}

int ck_bf16_gemm_isa(void) {
    return ck_has_avx512bf16() ? CK_ISA_AVX512BF16 : ck_has_avx2fma() ? CK_ISA_AVX2 : CK_ISA_PORTABLE;
}

void ck_bf16_convert_with(uint16_t *abf, const float *a, int m, int k, int isa) {
    if (isa == CK_ISA_AUTO) isa = ck_bf16_gemm_isa();
#if defined(__x86_64__)
    if (isa == CK_ISA_AVX512BF16) { bf16_convert_avx512(abf, a, m, k); return; }
#endif
    bf16_convert_portable(abf, a, m, k);
}

void ck_bf16_convert(uint16_t *abf, const float *a, int m, int k) {
    ck_bf16_convert_with(abf, a, m, k, CK_ISA_AUTO);
}

void ck_bf16_gemm_with(float *out, const uint16_t *abf, const uint16_t *wpacked, const float *bias,
                       const float *residual, int m, int n, int k, int p0, int p1, int isa) {
    if (isa == CK_ISA_AUTO) isa = ck_bf16_gemm_isa();
#if defined(__x86_64__)
    if (isa == CK_ISA_AVX512BF16) { bf16_gemm_avx512(out, abf, wpacked, bias, residual, m, n, k, p0, p1); return; }
    if (isa == CK_ISA_AVX2) { bf16_gemm_avx2(out, abf, wpacked, bias, residual, m, n, k, p0, p1); return; }
#endif
    bf16_gemm_portable(out, abf, wpacked, bias, residual, m, n, k, p0, p1);
}

void ck_bf16_gemm(float *out, const uint16_t *abf, const uint16_t *wpacked, const float *bias,
                  const float *residual, int m, int n, int k, int p0, int p1) {
    ck_bf16_gemm_with(out, abf, wpacked, bias, residual, m, n, k, p0, p1, CK_ISA_AUTO);
}
