import Kernels

/// The arithmetic of the encoder's dense layers.
public enum EncoderPrecision: String, Sendable, CaseIterable {
    /// fp32 throughout.
    case fp32
    /// Dense layers in bf16: weights rounded once at load, activations rounded per GEMM, fp32
    /// accumulation. Native (`vdpbf16ps`, about 1.7× fp32) on AVX512-BF16; elsewhere emulated
    /// with the same numbers at no more than fp32 speed, which is for validating its quality only.
    case bf16
    /// Dense layers in int8: weights symmetric per output channel (scales fp32), quantised at
    /// load; activations unsigned 8-bit per token with a zero point, quantised per GEMM; int32
    /// accumulation, dequantised with bias and residual in fp32. Attention, softmax, LayerNorm and
    /// GELU stay fp32. QKV's and FFN-in's inputs are smoothed (SmoothQuant, factors from a
    /// calibration set at load). `vpdpbusd` on AVX512-VNNI; AVX2 and plain C give the same numbers.
    case int8
    /// bf16 where the CPU has AVX512-BF16, fp32 elsewhere.
    case auto

    /// What runs on this CPU: `auto` resolved, `fp32` or `bf16` as given.
    public var resolved: EncoderPrecision {
        self == .auto ? (Self.nativeBF16 ? .bf16 : .fp32) : self
    }

    /// Whether this CPU runs bf16 natively (AVX512-BF16).
    public static var nativeBF16: Bool { CPUFeatures.avx512bf16 }
}
