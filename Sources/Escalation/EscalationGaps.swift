import Foundation
import Contracts

/// Synthetic inter-turn gaps for dialogues without timestamps.
///
/// A reply's gap = typing time + reaction latency:
/// - typing: the reply's characters at `typingCharsPerSecond` (4 chars/s ≈ 45 words a minute);
/// - latency: log-normal, median `latencyMedianSeconds` (6 s), log-sd `latencySigma` (1.0), i.e.
///   heavy-tailed: the 90th percentile is about 3.6× the median, and one reply in a few hundred
///   waits over 2 minutes;
/// clamped to [`minSeconds`, `maxSeconds`]. A ~80-character reply thus has a median gap of ~26 s.
/// Gaps are drawn independently of the emotions (no timing signal is planted), from a generator
/// seeded by (seed, dialogue id), so a dialogue gets the same gaps on every run.
public struct EscalationGaps: Sendable, Codable, Equatable {
    public var typingCharsPerSecond = 4.0
    public var latencyMedianSeconds = 6.0
    public var latencySigma = 1.0
    public var minSeconds = 1.0
    public var maxSeconds = 3600.0

    public init() {}

    /// Timestamps (first turn at 0) for turns with these character counts.
    public func timestamps(characters: [Int], dialogueID: String, seed: UInt64) -> [Double] {
        var rng = EscalationRandom(seed: seed ^ EscalationRandom.fnv1a(dialogueID))
        var t = 0.0, out: [Double] = []
        for (i, c) in characters.enumerated() {
            if i > 0 {
                let latency = latencyMedianSeconds * exp(latencySigma * rng.gaussian())
                t += min(max(Double(c) / typingCharsPerSecond + latency, minSeconds), maxSeconds)
            }
            out.append(t)
        }
        return out
    }
}

/// ``SeededGenerator``'s SplitMix64 stream with double-precision draws and a Box–Muller normal:
/// small, seedable, identical on every platform.
package struct EscalationRandom {
    private var base: SeededGenerator
    package init(seed: UInt64) { base = SeededGenerator(seed: seed) }

    package mutating func next() -> UInt64 { base.next() }

    /// Uniform in [0, 1).
    package mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }

    package mutating func gaussian() -> Double {
        let u1 = max(uniform(), 1e-300), u2 = uniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }

    /// Fisher–Yates, the same on every platform.
    package mutating func shuffle(_ a: inout [Int]) {
        guard a.count > 1 else { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, Int(next() % UInt64(i + 1))) }
    }

    package static func fnv1a(_ s: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }
}
