import CKernels
import Foundation

/// What this CPU can run, detected once at start-up.
public enum CPUFeatures {
    /// The instruction sets the kernels may use, at most.
    public enum Limit: String, Sendable, CaseIterable {
        case none, avx2, portable
        /// AVX2 with AVX-VNNI, without AVX-512 (as on Intel's Alder Lake and Sierra Forest).
        case avxVNNI = "avx-vnni"
    }

    /// Runs the kernels as on a CPU without the instruction sets above `limit` (to measure the
    /// AVX2 and plain-C paths on a machine that has more). Call before any kernel runs: the
    /// features below are read once.
    public static func limit(_ limit: Limit) {
        let isa: GemmISA = switch limit { case .none: .auto; case .avx2: .avx2; case .portable: .portable; case .avxVNNI: .avxvnni }
        ck_limit_isa(isa.rawValue)
    }

    /// AVX-512 F/BW/VL/DQ: GELU, attention and the packed fp32 GEMM use 512-bit code.
    public static let avx512: Bool = ck_has_avx512() != 0
    /// AVX512-BF16: the bf16 GEMM runs on `vdpbf16ps` (elsewhere emulated, no faster than fp32).
    public static let avx512bf16: Bool = ck_has_avx512bf16() != 0
    /// AVX512-VNNI: the int8 GEMM runs on `vpdpbusd` (elsewhere on AVX-VNNI, AVX2 or plain C, same results).
    public static let avx512vnni: Bool = ck_has_avx512vnni() != 0
    /// AVX-VNNI: without AVX512-VNNI, the int8 GEMM runs on 256-bit `vpdpbusd`.
    public static let avxvnni: Bool = ck_has_avxvnni() != 0
    /// AVX2 and FMA: the packed fp32 GEMM's 256-bit kernel.
    public static let avx2fma: Bool = ck_has_avx2fma() != 0
    /// `matmulPacked` has a vector kernel here (AVX-512 or AVX2+FMA): pack weights with
    /// `packPanels32` and use it instead of OpenBLAS (faster, and batch-invariant).
    public static let packedGemm: Bool = avx512 || avx2fma
    /// The CPUs this process may run on: its affinity mask, lowered by a cgroup v2 CPU quota
    /// (`/sys/fs/cgroup/cpu.max`, as a container's CPU limit sets it) rounded up.
    public static let usableCPUs: Int = {
        var n = ProcessInfo.processInfo.activeProcessorCount
        let affinity = Int(ck_affinity_cpus())
        if affinity > 0 { n = min(n, affinity) }
        if let text = try? String(contentsOfFile: "/sys/fs/cgroup/cpu.max", encoding: .utf8), let quota = cgroupCPUs(text) {
            n = min(n, quota)
        }
        return max(1, n)
    }()

    /// CPUs a cgroup v2 `cpu.max` grants ("QUOTA PERIOD", rounded up; nil for "max PERIOD").
    static func cgroupCPUs(_ text: String) -> Int? {
        let parts = text.split(whereSeparator: \.isWhitespace)
        guard parts.count == 2, let quota = Double(parts[0]), let period = Double(parts[1]), period > 0, quota > 0 else { return nil }
        return Int((quota / period).rounded(.up))
    }
}
