#ifndef PLUTCHIK_CKERNELS_H
#define PLUTCHIK_CKERNELS_H
// Hand-written kernels with run-time CPU detection. The vector code is compiled for
// AVX-512 or AVX2+FMA through target attributes, so this file builds for baseline x86-64.
// The GEMMs dispatch by themselves (AVX-512, AVX2+FMA, portable C, all bit-identical for
// fp32); the attention and GELU kernels are AVX-512 only and callers check ck_has_avx512
// first. On other architectures the checks return 0 and the GEMMs run portable C.
#include <stddef.h>
#include <stdint.h>

/// SHA-256 (FIPS 180-4): compresses `blocks` 64-byte blocks at `p` into `state` (8 words).
void ck_sha256_blocks(uint32_t state[8], const uint8_t *p, size_t blocks);

/// 1 when the CPU has AVX-512 F/BW/VL/DQ (for the fp32 kernels).
int ck_has_avx512(void);
/// 1 when the CPU also has AVX512-BF16 (for the bf16 GEMM).
int ck_has_avx512bf16(void);
/// 1 when the CPU has AVX2 and FMA (for the fp32 GEMM).
int ck_has_avx2fma(void);
/// Runs no kernel above `isa` (CK_ISA_AVX2: none of AVX-512; CK_ISA_PORTABLE: plain C only;
/// CK_ISA_AUTO: no limit), as on a CPU without the rest. Call before any kernel runs.
void ck_limit_isa(int isa);
/// CPUs in this process's affinity mask (sched_getaffinity), or 0 when unknown.
int ck_affinity_cpus(void);
/// Fixes glibc's mmap threshold (mallopt M_MMAP_THRESHOLD); returns 1 on success, 0 elsewhere.
int ck_set_mmap_threshold(int bytes);

/// Instruction sets the GEMMs can be told to use (the *_with entry points; for tests).
enum {
    CK_ISA_AUTO = 0,        // the best this CPU has
    CK_ISA_PORTABLE = 1,    // plain C
    CK_ISA_AVX2 = 2,        // AVX2 + FMA (fp32 GEMM; bf16 GEMM emulated at fp32 speed)
    CK_ISA_AVX512 = 3,      // AVX-512 F/BW/VL/DQ (fp32 GEMM)
    CK_ISA_AVX512BF16 = 4,  // AVX512-BF16 (bf16 GEMM)
    CK_ISA_AVX512VNNI = 5,  // AVX512-VNNI (int8 GEMM)
    CK_ISA_AVXVNNI = 6,     // AVX2 + AVX-VNNI, no AVX-512 (int8 GEMM on 256-bit vpdpbusd)
};
/// 1 when the CPU has AVX512-VNNI besides AVX-512 F/BW/VL/DQ (for the int8 GEMM).
int ck_has_avx512vnni(void);
/// 1 when the CPU has AVX-VNNI (256-bit vpdpbusd) besides AVX2 + FMA, and no limit below it.
int ck_has_avxvnni(void);
/// 1 when this CPU can run `isa`.
int ck_isa_supported(int isa);
/// The ISA ck_f32_gemm runs on this CPU: CK_ISA_AVX512, CK_ISA_AVX2 or CK_ISA_PORTABLE.
int ck_f32_gemm_isa(void);
/// The ISA ck_bf16_gemm runs on this CPU: CK_ISA_AVX512BF16, CK_ISA_AVX2 (the same numbers, no
/// faster than fp32) or CK_ISA_PORTABLE.
int ck_bf16_gemm_isa(void);

/// bf16 GEMM: weights W (N, K) fp32 are packed once into panels of 32 output columns,
/// k in pairs: packed[((p * K/2 + q) * 32 + c) * 2 + e] = bf16(W[p*32 + c][2q + e]).
/// N must be a multiple of 32 and K a multiple of 32.
size_t ck_bf16_packed_count(int n, int k);
void ck_bf16_pack_weights(uint16_t *packed, const float *w, int n, int k);

/// The same packing from weights already in ck_f32_pack_weights' panel layout.
void ck_bf16_pack_from_f32_panels(uint16_t *packed, const float *wpanels, int n, int k);

/// uint16 elements ck_bf16_convert writes for an (M, K) input (M rounded up to the tile height).
size_t ck_bf16_scratch_count(int m, int k);

/// A (M, K) fp32 -> bf16 (round to nearest even), zero rows appended up to the tile height.
void ck_bf16_convert(uint16_t *abf, const float *a, int m, int k);

/// Columns [32·p0, 32·p1) of out (M, N) = A · Wᵀ + bias (N) [+ residual (M, N) if not NULL],
/// A already converted by ck_bf16_convert, fp32 accumulation. residual may not alias out.
/// Disjoint panel ranges may run on different threads.
void ck_bf16_gemm(float *out, const uint16_t *abf, const uint16_t *wpacked, const float *bias,
                  const float *residual, int m, int n, int k, int p0, int p1);
/// ck_bf16_convert and ck_bf16_gemm on a given ISA (CK_ISA_AUTO, _PORTABLE, _AVX2 or _AVX512BF16;
/// it must be supported). The portable and AVX2 code accumulate each pair in vdpbf16ps's order.
void ck_bf16_convert_with(uint16_t *abf, const float *a, int m, int k, int isa);
void ck_bf16_gemm_with(float *out, const uint16_t *abf, const uint16_t *wpacked, const float *bias,
                       const float *residual, int m, int n, int k, int p0, int p1, int isa);

/// int8 GEMM (int8.c). Weights W (N, K): per output channel c, scale = max|W[c]| / 127 and
/// q = round(W[c][j] / scale) in −127...127, packed in panels of 32 columns, k in fours:
/// packed[((p * K/4 + q) * 32 + c) * 4 + e] = q(W[p*32 + c][4q + e]); colsums[c] = Σ_j q.
/// `panels32`: w is in ck_f32_pack_weights' layout instead of row-major. N a multiple of 32, K of 4.
size_t ck_i8_packed_count(int n, int k);
void ck_i8_pack_weights(int8_t *packed, float *scales, int32_t *colsums, const float *w, int n, int k, int panels32);
/// uint8 elements ck_u8_quantize writes for an (M, K) input (M rounded up to the tile height).
size_t ck_u8_scratch_count(int m, int k);
/// A (M, K) fp32 -> uint8 per row: scale = (max(0, max) − min(0, min)) / 255, zero point
/// round(−min/scale), q = clamp(round(x / scale) + zero point, 0, 255); zero rows appended.
/// AVX-512 where the CPU has it (the same numbers), plain C with CK_ISA_PORTABLE.
void ck_u8_quantize_with(uint8_t *aq, float *scales, int32_t *zero_points, const float *a, int m, int k, int isa);
/// The ISA ck_i8_gemm_with runs on by default: CK_ISA_AVX512VNNI, CK_ISA_AVX2 or CK_ISA_PORTABLE.
int ck_i8_gemm_isa(void);
/// Columns [32·p0, 32·p1) of out (M, N) = dequantised (A_q · W_qᵀ) + bias [+ residual]: per element
/// ((Σ a·w − zp·colsum) as fp32 · (a scale · w scale)) + bias, + residual; the sums are exact
/// int32, so every ISA gives the same bits. isa: CK_ISA_AUTO, _PORTABLE, _AVX2 or _AVX512VNNI.
void ck_i8_gemm_with(float *out, const uint8_t *aq, const float *ascales, const int32_t *azps,
                     const int8_t *wpacked, const float *wscales, const int32_t *wcolsums, const float *bias,
                     const float *residual, int m, int n, int k, int p0, int p1, int isa);

/// fp32 GEMM with weights packed once: packed[(p * K + k) * 32 + c] = W[p*32 + c][k].
/// N must be a multiple of 32.
size_t ck_f32_packed_count(int n, int k);
void ck_f32_pack_weights(float *packed, const float *w, int n, int k);

/// Columns [32·p0, 32·p1) of out (M, N) = A (M, K) · Wᵀ + bias (N) [+ residual (M, N) if
/// not NULL], fp32 with FMA. Disjoint panel ranges may run on different threads.
/// Every element is ((Σ over k = 0..K-1 as an in-order FMA chain from 0) + bias) + residual,
/// whatever the ISA: results are bit-identical across ISAs and independent of M and of the
/// other rows (batch-invariant).
void ck_f32_gemm(float *out, const float *a, const float *wpacked, const float *bias,
                 const float *residual, int m, int n, int k, int p0, int p1);
/// ck_f32_gemm on a given ISA (CK_ISA_AUTO, _PORTABLE, _AVX2 or _AVX512; it must be supported).
void ck_f32_gemm_with(float *out, const float *a, const float *wpacked, const float *bias,
                      const float *residual, int m, int n, int k, int p0, int p1, int isa);

/// Multi-head self-attention over one unpadded sequence (see Kernels.attention):
/// out (T, H·D) row stride out_stride; qkv (T, 3·H·D) row stride qkv_stride.
/// scratch: (D + 4) · roundup16(T) floats. D must be 32 (other sizes: no-op).
void ck_attention_avx512(float *out, int out_stride, const float *qkv, int qkv_stride,
                         int t, int heads, int d, float *scratch);

/// Exact GELU (erf form, error < 1e-6) over count floats; out may equal x.
void ck_gelu_avx512(float *out, const float *x, long count);
/// ck_attention_avx512 on AVX2 + FMA (the same scratch); callers check ck_has_avx2fma().
void ck_attention_avx2(float *out, int out_stride, const float *qkv, int qkv_stride,
                       int t, int heads, int d, float *scratch);
/// The same GELU on AVX2 + FMA (8 lanes); callers check ck_has_avx2fma().
void ck_gelu_avx2(float *out, const float *x, long count);

#endif
