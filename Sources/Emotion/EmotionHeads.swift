import Foundation
import Contracts

/// The trained emotion, sarcasm and intensity heads over MiniLM sentence embeddings.
///
/// Load them from a directory holding `manifest.json` and the weight file it names (the committed
/// ones live in `Models/heads/` at the repository top). Immutable, so safe to share between tasks.
public final class EmotionHeads: Sendable {
    /// What the heads are; `manifest.version` goes into every event.
    public let manifest: HeadsManifest
    package let network: HeadsNetwork
    package let builder: HeadsFeatureBuilder
    /// The word channel, fused into the emotion logits of turns without emoji.
    package let lexicalHead: LexicalHead?
    /// The linear head over the embedding, fused into the outputs of turns without emoji.
    package let embeddingHead: EmbeddingHead?
    /// `network` laid out for batch-invariant inference (nil without AVX-512 or AVX2+FMA).
    let packed: PackedHeadsNetwork?

    /// The fine-tuned encoder adapter the heads read embeddings from (`encoder/` in their directory;
    /// pass it to the encoder), nil for heads over the base encoder.
    public let encoderAdapterDirectory: URL?

    /// The emoji vocabulary the heads were trained with.
    public var emojiVocabulary: EmojiVocabulary { builder.vocabulary }
    /// The embedding width the heads expect.
    public var embeddingDimension: Int { builder.embeddingDimension }
    /// The encoder layers whose mean-pooled hidden states the heads read for the current turn
    /// (pass them to `MiniLMEncoder.encode(_:layers:)`; empty: sentence embeddings only).
    public var encoderLayers: [Int] { manifest.encoderLayers }
    /// The width of the layer features `predict` expects (384 per encoder layer).
    public var layerFeatureDimension: Int { builder.layerDimension }

    /// Splits a vector from `TextEmbedder.embed(_:layers: encoderLayers)` (embedding, then layer
    /// features) into its parts; a bare embedding gives no layer features.
    public func split(_ vector: [Float]) -> (embedding: [Float], layerFeatures: [Float]) {
        let e = builder.embeddingDimension
        return vector.count > e ? (Array(vector[0..<e]), Array(vector[e...])) : (vector, [])
    }

    /// Loads `manifest.json` and the weights from `directory`.
    public convenience init(directory: URL) throws {
        let manifestURL = directory.appendingPathComponent("manifest.json")
        var manifest: HeadsManifest
        do {
            manifest = try JSONDecoder().decode(HeadsManifest.self, from: Data(contentsOf: manifestURL))
        } catch let e as DecodingError {
            throw ModelError(.invalidFile, "\(manifestURL.path): \(e)")
        } catch {
            throw ModelError(.fileNotFound, "cannot read \(manifestURL.path)", cause: error)
        }
        guard manifest.neutralThreshold != nil else {
            throw ModelError(.invalidFile, "\(manifestURL.path): heads \(manifest.version) have no neutral gate (no neutral_threshold); "
                             + "heads trained before heads-7 have 34 outputs, not 35: retrain them with plutchik train")
        }
        // A word channel fused with weight 0 (heads-8 to heads-8.3 ship one) changes no output:
        // it is neither checked nor read, and the heads carry on without it.
        if manifest.lexicalHead?.fusionWeight == 0 { manifest.lexicalHead = nil }
        let h = manifest.hidden, d = manifest.inputs, o = HeadsNetwork.outputs
        let url = directory.appendingPathComponent(manifest.weightsFile), count = h * d + h + o * h + o
        try SHA256.verify(fileAt: url, expected: manifest.weightsSHA256, what: "heads weights, \(manifest.version)")
        if let m = manifest.lexicalHead {
            try SHA256.verify(fileAt: directory.appendingPathComponent(m.weightsFile), expected: m.weightsSHA256,
                              what: "word channel, heads \(manifest.version)")
        }
        if let m = manifest.embeddingHead {
            try SHA256.verify(fileAt: directory.appendingPathComponent(m.weightsFile), expected: m.weightsSHA256,
                              what: "embedding head, heads \(manifest.version)")
        }
        let floats = manifest.weightsPrecision == .f16 ? try readLittleEndianHalfs(url, count: count) : try readLittleEndianFloats(url, count: count)
        let builder = HeadsFeatureBuilder(embeddingDimension: manifest.embeddingDimension, vocabulary: manifest.emojiVocabulary,
                                          embeddingScale: manifest.embeddingScale,
                                          layerDimension: manifest.encoderLayers.count * manifest.embeddingDimension)
        guard builder.count == d else {
            throw ModelError(.invalidFile, "manifest says \(d) inputs but the feature layout has \(builder.count)")
        }
        var off = 0
        func take(_ n: Int) -> [Float] { defer { off += n }; return Array(floats[off..<(off + n)]) }
        let network = HeadsNetwork(inputs: d, hidden: h, w1: take(h * d), b1: take(h), w2: take(o * h), b2: take(o))
        let lexical = try manifest.lexicalHead.map { try LexicalHead(manifest: $0, directory: directory) }
        let linear = try manifest.embeddingHead.map {
            try EmbeddingHead(manifest: $0, directory: directory, dimension: manifest.embeddingDimension)
        }
        var adapterDirectory: URL?
        if let sha = manifest.encoderAdapterSHA256 {
            let adapter = directory.appendingPathComponent("encoder")
            let file = adapter.appendingPathComponent("adapter.safetensors")
            guard FileManager.default.fileExists(atPath: file.path), try SHA256.hex(fileAt: file) == sha else {
                throw ModelError(.invalidFile, "\(file.path): the heads were trained on an encoder adapter with SHA-256 \(sha), which is missing or differs")
            }
            adapterDirectory = adapter
        }
        self.init(manifest: manifest, network: network, builder: builder, lexicalHead: lexical, embeddingHead: linear,
                  encoderAdapterDirectory: adapterDirectory)
    }

    package init(manifest: HeadsManifest, network: HeadsNetwork, builder: HeadsFeatureBuilder, lexicalHead: LexicalHead? = nil,
                 embeddingHead: EmbeddingHead? = nil, encoderAdapterDirectory: URL? = nil) {
        self.encoderAdapterDirectory = encoderAdapterDirectory
        self.manifest = manifest
        self.network = network
        self.builder = builder
        self.lexicalHead = lexicalHead
        self.embeddingHead = embeddingHead
        packed = PackedHeadsNetwork(network)
    }

    /// The same heads described by `manifest` (its weight files and hashes are rewritten by `save`).
    package func describing(_ manifest: HeadsManifest) -> EmotionHeads {
        EmotionHeads(manifest: manifest, network: network, builder: builder, lexicalHead: lexicalHead, embeddingHead: embeddingHead,
                     encoderAdapterDirectory: encoderAdapterDirectory)
    }

    /// The weights as the little-endian file `init(directory:)` reads, in `precision`.
    package static func weightData(_ network: HeadsNetwork, precision: WeightsPrecision = .f32) -> Data {
        let all = network.w1 + network.b1 + network.w2 + network.b2
        return precision == .f16 ? littleEndianHalfs(all) : littleEndianFloats(all)
    }

    /// Writes the weight files and `manifest.json` into `directory` (created if needed).
    public func save(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // The manifest records the full SHA-256 of what is written; loading checks it.
        var manifest = manifest
        let weights = Self.weightData(network, precision: manifest.weightsPrecision)
        try weights.write(to: directory.appendingPathComponent(manifest.weightsFile))
        manifest.weightsSHA256 = SHA256.hex(weights)
        if let lexicalHead, var m = manifest.lexicalHead {
            let data = lexicalHead.weightData
            try data.write(to: directory.appendingPathComponent(m.weightsFile))
            m.weightsSHA256 = SHA256.hex(data)
            manifest.lexicalHead = m
        }
        if let embeddingHead, var m = manifest.embeddingHead {
            let data = embeddingHead.weightData
            try data.write(to: directory.appendingPathComponent(m.weightsFile))
            m.weightsSHA256 = SHA256.hex(data)
            (m.classWeight, m.sectorWeight, m.gateKeep) = (embeddingHead.classWeight, embeddingHead.sectorWeight, embeddingHead.gateKeep)
            (m.firstTurnClassWeight, m.firstTurnSectorWeight) = (embeddingHead.firstTurnClassWeight, embeddingHead.firstTurnSectorWeight)
            manifest.embeddingHead = m
        }
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try enc.encode(manifest).write(to: directory.appendingPathComponent("manifest.json"))
    }

    /// The emoji features of a turn's raw text, over the heads' vocabulary.
    public func emojiFeatures(text: String) -> EmojiFeatures {
        EmojiFeatures(text: text, vocabulary: builder.vocabulary)
    }

    /// Predicts one turn from its embedding, its text (for the word channel), its emoji, the dialogue
    /// so far and its speaker. Afterwards, call `context.append(embedding:speaker:emoji:)` with the
    /// same turn. Heads with `encoderLayers` also need the turn's `layerFeatures` (`layerFeatureDimension` values).
    public func predict(embedding: [Float], layerFeatures: [Float] = [], text: String, emojiFeatures: EmojiFeatures,
                        context: DialogueContext, speaker: String) -> EmotionPrediction {
        predict([HeadsInput(embedding: embedding, layerFeatures: layerFeatures, text: text, emojiFeatures: emojiFeatures,
                            context: context, speaker: speaker)])[0]
    }

    /// Predicts a batch of turns in one pass (each input carries its own context).
    public func predict(_ inputs: [HeadsInput]) -> [EmotionPrediction] {
        guard !inputs.isEmpty else { return [] }
        let d = builder.count
        var x = [Float](repeating: 0, count: inputs.count * d)
        for (r, input) in inputs.enumerated() {
            var slice = x[(r * d)..<((r + 1) * d)]
            builder.write(into: &slice, embedding: input.embedding, layerFeatures: input.layerFeatures, emoji: input.emojiFeatures,
                          context: input.context, speaker: input.speaker)
            x.replaceSubrange((r * d)..<((r + 1) * d), with: slice)
        }
        var z = logits(x, batch: inputs.count)
        let hasEmoji = inputs.map(\.emojiFeatures.hasEmoji)
        lexicalHead?.fuse(into: &z, texts: inputs.map(\.text), hasEmoji: hasEmoji)
        embeddingHead?.fuse(into: &z, embeddings: inputs.map(\.embedding), hasEmoji: hasEmoji, firstTurn: inputs.map { $0.context.turns == 0 })
        return Self.predictions(logits: z, batch: inputs.count, neutralThreshold: neutralThreshold)
    }

    /// The neutral gate's threshold (`HeadsManifest.neutralThreshold`).
    public var neutralThreshold: Float { manifest.neutralThreshold ?? 0.5 }

    /// The neutral share the gate was calibrated at (`HeadsManifest.neutralBaseRate`), if known.
    public var neutralBaseRate: Float? { manifest.neutralBaseRate }

    /// The raw outputs (B, 35) of feature rows x: (B, D), each row computed the same way whatever
    /// the batch (packed kernel, or one row at a time without AVX-512 or AVX2+FMA).
    func logits(_ x: [Float], batch: Int) -> [Float] {
        if let packed { return packed.logits(x, batch: batch) }
        let d = builder.count
        return (0..<batch).flatMap { r in network.forward(Array(x[(r * d)..<((r + 1) * d)]), batch: 1).z }
    }

    /// Turns raw outputs (B, 35) into predictions, the gate at `neutralThreshold`.
    package static func predictions(logits z: [Float], batch: Int, neutralThreshold: Float = 0.5) -> [EmotionPrediction] {
        let o = HeadsNetwork.outputs, c = PlutchikEmotion.count
        return (0..<batch).map { r in
            let row = z[(r * o)..<((r + 1) * o)]
            let mx = row.prefix(c).max()!
            var p = row.prefix(c).map { exp($0 - mx) }
            let sum = p.reduce(0, +)
            for i in p.indices { p[i] /= sum }
            let neutral = sigmoid(row[row.startIndex + HeadsNetwork.neutralOutput])
            return EmotionPrediction(probabilities: p, sarcasm: sigmoid(row[row.startIndex + HeadsNetwork.sarcasmOutput]),
                                     intensity: sigmoid(row[row.startIndex + HeadsNetwork.intensityOutput]),
                                     neutral: neutral, isNeutral: neutral >= neutralThreshold)
        }
    }
}

/// One turn as the heads see it.
public struct HeadsInput: Sendable {
    public var embedding: [Float]
    /// The turn's encoder layer features (empty for heads without `encoderLayers`).
    public var layerFeatures: [Float]
    /// The turn's text, for heads with a word channel.
    public var text: String
    public var emojiFeatures: EmojiFeatures
    public var context: DialogueContext
    public var speaker: String

    public init(embedding: [Float], layerFeatures: [Float] = [], text: String, emojiFeatures: EmojiFeatures, context: DialogueContext,
                speaker: String) {
        self.embedding = embedding
        self.layerFeatures = layerFeatures
        self.text = text
        self.emojiFeatures = emojiFeatures
        self.context = context
        self.speaker = speaker
    }
}

extension EmotionHeads {
    /// Predicts turns given in dialogue order (each dialogue's turns in order; dialogues may
    /// interleave), carrying a `DialogueContext` per dialogue as the stream does. `embeddings` are
    /// `TextEmbedder.embed(_:layers: encoderLayers)` vectors (embedding, then layer features).
    public func predictDialogues(_ turns: [(dialogueID: String, speaker: String, text: String)], embeddings: [[Float]]) -> [EmotionPrediction] {
        var contexts: [String: DialogueContext] = [:], out: [EmotionPrediction] = []
        let all = zip(turns, embeddings).map { (key: $0.dialogueID, vector: $1, text: $0.text, speaker: $0.speaker) }
        for start in stride(from: 0, to: all.count, by: 256) {
            out += predictNext(all[start..<min(start + 256, all.count)], contexts: &contexts)
        }
        return out
    }

    /// Predicts the next turns of dialogues, given in stream order (each dialogue's turns in
    /// order), from their `TextEmbedder.embed(_:layers: encoderLayers)` vectors and texts, in one
    /// pass; `contexts` carries each dialogue's context by key (a missing key
    /// starts a new dialogue) and gets every turn appended.
    public func predictNext<Key: Hashable>(_ turns: some Collection<(key: Key, vector: [Float], text: String, speaker: String)>,
                                          contexts: inout [Key: DialogueContext]) -> [EmotionPrediction] {
        let inputs = nextInputs(turns, contexts: &contexts)
        return predict(inputs)
    }

    /// The heads' inputs of the next turns of dialogues (as ``predictNext(_:contexts:)`` reads
    /// them), each with its dialogue's context before it; `contexts` gets every turn appended.
    public func nextInputs<Key: Hashable>(_ turns: some Collection<(key: Key, vector: [Float], text: String, speaker: String)>,
                                          contexts: inout [Key: DialogueContext]) -> [HeadsInput] {
        var inputs: [HeadsInput] = []
        inputs.reserveCapacity(turns.count)
        for t in turns {
            let emoji = emojiFeatures(text: t.text)
            let (embedding, layerFeatures) = split(t.vector)
            inputs.append(HeadsInput(embedding: embedding, layerFeatures: layerFeatures, text: t.text, emojiFeatures: emoji,
                                     context: contexts[t.key, default: DialogueContext()], speaker: t.speaker))
            contexts[t.key, default: DialogueContext()].append(embedding: embedding, speaker: t.speaker, emoji: emoji)
        }
        return inputs
    }
}
