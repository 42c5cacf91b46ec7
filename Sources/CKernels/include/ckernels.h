#ifndef PLUTCHIK_CKERNELS_H
#define PLUTCHIK_CKERNELS_H
// AVX-512 kernels with run-time CPU detection. Each function is compiled for AVX-512
// through target attributes, so this file builds for baseline x86-64 and callers check
// ck_has_* before calling. On other architectures the checks return 0.
#include <stddef.h>
#include <stdint.h>

/// 1 when the CPU has AVX-512 F/BW/VL/DQ (for the fp32 kernels).
int ck_has_avx512(void);
/// 1 when the CPU also has AVX512-BF16 (for the bf16 GEMM).
int ck_has_avx512bf16(void);

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

/// fp32 GEMM with weights packed once: packed[(p * K + k) * 32 + c] = W[p*32 + c][k].
/// N must be a multiple of 32.
size_t ck_f32_packed_count(int n, int k);
void ck_f32_pack_weights(float *packed, const float *w, int n, int k);

/// Columns [32·p0, 32·p1) of out (M, N) = A (M, K) · Wᵀ + bias (N) [+ residual (M, N) if
/// not NULL], fp32 with FMA. Disjoint panel ranges may run on different threads.
void ck_f32_gemm(float *out, const float *a, const float *wpacked, const float *bias,
                 const float *residual, int m, int n, int k, int p0, int p1);

/// Multi-head self-attention over one unpadded sequence (see Kernels.attention):
/// out (T, H·D) row stride out_stride; qkv (T, 3·H·D) row stride qkv_stride.
/// scratch: (D + 4) · roundup16(T) floats. D must be 32 (other sizes: no-op).
void ck_attention_avx512(float *out, int out_stride, const float *qkv, int qkv_stride,
                         int t, int heads, int d, float *scratch);

/// Exact GELU (erf form, error < 1e-6) over count floats; out may equal x.
void ck_gelu_avx512(float *out, const float *x, long count);

#endif
