import Contracts
import Emotion

extension ConversationReport.Faithfulness {
    /// Measures the word explanations (``EmotionHeads/attributions(_:emotions:greedy:embed:)``) of up
    /// to `turns` of `inputs` (the turns as the heads see them, each with its context), drawn
    /// (seeded) among those with at least `minimumWords` words (default and least: `k` + 1);
    /// `embed` embeds texts as `TextEmbedder.embed(_:layers: heads.encoderLayers)` does.
    public init(heads: EmotionHeads, inputs: [HeadsInput], turns: Int, k: Int = 3, minimumWords: Int = 0, seed: UInt64 = 0,
                embed: ([String]) throws -> [[Float]]) rethrows {
        var rng = SeededGenerator(seed: seed)
        let least = max(minimumWords, k + 1)
        var order = inputs.indices.filter { EmotionHeads.attributionUnits(inputs[$0].text).count >= least }
        seededShuffle(&order, &rng)
        let sample = order.prefix(turns).sorted().map { inputs[$0] }
        let full = heads.predict(sample), emotions = full.map(\.label)
        let attributions = try heads.attributions(sample, emotions: emotions, greedy: k, embed: embed)
        // Per turn: without the top k, without k random, the top k alone, k random alone.
        var texts: [String] = [], tied = 0
        for a in attributions {
            let units = a.units.map(\.word), c = a.units.map(\.contribution)
            if c.allSatisfy({ $0 == c[0] }) { tied += 1 }
            let top = Set(a.ranking.prefix(k))
            var shuffled = Array(c.indices)
            seededShuffle(&shuffled, &rng)
            let random = Set(shuffled.prefix(k))
            texts += [EmotionHeads.text(units, removing: top), EmotionHeads.text(units, removing: random),
                      EmotionHeads.text(units, keeping: top), EmotionHeads.text(units, keeping: random)]
        }
        let vectors = texts.isEmpty ? [] : try embed(texts)
        var sums = [Float](repeating: 0, count: 5)
        for (i, input) in sample.enumerated() {
            let p = heads.probabilities(of: emotions[i], input, texts: Array(texts[(4 * i)..<(4 * i + 4)]),
                                        vectors: Array(vectors[(4 * i)..<(4 * i + 4)]))
            let base = full[i].probabilities[emotions[i].index]
            for j in 0..<4 { sums[j] += base - p[j] }
            sums[4] += base
        }
        let n = Float(max(sample.count, 1))
        self.init(turns: sample.count, k: k, minimumWords: least, comprehensiveness: sums[0] / n, comprehensivenessRandom: sums[1] / n,
                  sufficiency: sums[2] / n, sufficiencyRandom: sums[3] / n, probability: sums[4] / n, tiedTurns: tied)
    }
}
