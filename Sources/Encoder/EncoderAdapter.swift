import Contracts
import Foundation
import Kernels

/// What `plutchik finetune` records next to an encoder adapter (`manifest.json`).
public struct EncoderAdapterManifest: Codable, Sendable {
    /// One epoch's figures on the dev sets.
    public struct Epoch: Codable, Sendable {
        public var epoch: Int
        public var seconds: Double
        public var trainLoss: Double
        /// Macro-F1 over the 16 Plutchik classes GoEmotions maps to (argmax of the 32-way head;
        /// a prediction outside the 16 counts as wrong).
        public var goEmotionsClassMacroF1: Double
        /// Accuracy of the 8-way sector head on rows with a sector.
        public var goEmotionsSectorAccuracy: Double
        /// Accuracy of the sector of the 32-way head's argmax on the same rows.
        public var goEmotionsSectorAccuracyFromClass: Double
        /// AUROC of the neutral head on all rows.
        public var goEmotionsNeutralAUROC: Double
        /// 32-class macro-F1 on the seed val turns, emoji stripped.
        public var seedValMacroF1TextOnly: Double
        /// The mean of the three GoEmotions figures (class macro-F1, sector accuracy from the
        /// sector head, neutral AUROC): the epoch selection score.
        public var selection: Double

        enum CodingKeys: String, CodingKey {
            case epoch, seconds, trainLoss = "train_loss"
            case goEmotionsClassMacroF1 = "goemotions_class_macro_f1", goEmotionsSectorAccuracy = "goemotions_sector_accuracy"
            case goEmotionsSectorAccuracyFromClass = "goemotions_sector_accuracy_from_class"
            case goEmotionsNeutralAUROC = "goemotions_neutral_auroc", seedValMacroF1TextOnly = "seed_val_macro_f1_text_only"
            case selection
        }
        package init(epoch: Int, seconds: Double, trainLoss: Double, goEmotionsClassMacroF1: Double, goEmotionsSectorAccuracy: Double, goEmotionsSectorAccuracyFromClass: Double, goEmotionsNeutralAUROC: Double, seedValMacroF1TextOnly: Double, selection: Double) {
            self.epoch = epoch; self.seconds = seconds; self.trainLoss = trainLoss; self.goEmotionsClassMacroF1 = goEmotionsClassMacroF1; self.goEmotionsSectorAccuracy = goEmotionsSectorAccuracy; self.goEmotionsSectorAccuracyFromClass = goEmotionsSectorAccuracyFromClass; self.goEmotionsNeutralAUROC = goEmotionsNeutralAUROC; self.seedValMacroF1TextOnly = seedValMacroF1TextOnly; self.selection = selection
        }
    }

    /// A data file the run read.
    public struct DataFile: Codable, Sendable {
        public var role: String
        public var path: String
        public var sha256: String
        public var rows: Int
        package init(role: String, path: String, sha256: String, rows: Int) {
            self.role = role; self.path = path; self.sha256 = sha256; self.rows = rows
        }
    }

    public var format = EncoderAdapter.format
    public var baseModel: String
    public var baseModelSHA256: String
    public var rank: Int
    public var alpha: Float
    /// Trained layers (the top ones), e.g. [0, 1, 2, 3, 4, 5].
    public var layers: [Int]
    public var trainsBiasesAndNorms: Bool
    public var adapterFile: String
    /// SHA-256 of `adapterFile`, 64 hex digits; checked when the adapter is loaded.
    public var adapterSHA256: String
    public var headsFile: String
    public var headsSHA256: String
    /// Rows of the heads file's tensors, in order: `head.emotion` (32, PlutchikEmotion order),
    /// `head.sector` (8, PlutchikSector order), `head.neutral` (1), `head.goemotions` (28, `goEmotionsLabels`).
    public var goEmotionsLabels: [String]
    public var command: String
    public var data: [DataFile]
    public var configuration: [String: String]
    public var epochs: [Epoch]
    /// The epoch whose weights were kept (best selection score), 1-based.
    public var bestEpoch: Int
    public var trainingSeconds: Double
    public var createdAt: String

    package enum CodingKeys: String, CodingKey {
        case format, baseModel = "base_model", baseModelSHA256 = "base_model_sha256", rank, alpha, layers
        case trainsBiasesAndNorms = "trains_biases_and_norms", adapterFile = "adapter_file", adapterSHA256 = "adapter_sha256"
        case headsFile = "heads_file", headsSHA256 = "heads_sha256", goEmotionsLabels = "goemotions_labels"
        case command, data, configuration, epochs, bestEpoch = "best_epoch", trainingSeconds = "training_seconds"
        case createdAt = "created_at"
    }
    package init(format: String = EncoderAdapter.format, baseModel: String, baseModelSHA256: String, rank: Int, alpha: Float, layers: [Int], trainsBiasesAndNorms: Bool, adapterFile: String, adapterSHA256: String, headsFile: String, headsSHA256: String, goEmotionsLabels: [String], command: String, data: [DataFile], configuration: [String: String], epochs: [Epoch], bestEpoch: Int, trainingSeconds: Double, createdAt: String) {
        self.format = format; self.baseModel = baseModel; self.baseModelSHA256 = baseModelSHA256; self.rank = rank; self.alpha = alpha; self.layers = layers; self.trainsBiasesAndNorms = trainsBiasesAndNorms; self.adapterFile = adapterFile; self.adapterSHA256 = adapterSHA256; self.headsFile = headsFile; self.headsSHA256 = headsSHA256; self.goEmotionsLabels = goEmotionsLabels; self.command = command; self.data = data; self.configuration = configuration; self.epochs = epochs; self.bestEpoch = bestEpoch; self.trainingSeconds = trainingSeconds; self.createdAt = createdAt
    }
}

/// A LoRA adapter for the encoder's dense layers plus replacement biases and layernorm
/// parameters, merged into the base weights at load time: W += (alpha/r)·B·A.
///
/// Tensors (F32 or F16): `<base prefix>.lora_A` (r, in) and `.lora_B` (out, r) for each adapted
/// matrix (prefixes in `LoRATarget.name`; the query, key and value weights are fused into
/// `attention.self.qkv`, rows in that order), and any bias or layernorm tensor under its base
/// name. `__metadata__` holds `format`, `rank` and `alpha`.
package struct EncoderAdapter {
    package static let format = "plutchik-encoder-lora-1"
    package static let fileName = "adapter.safetensors"
    package static let headsFileName = "heads.safetensors"

    /// The encoder's identity as heads manifests record it (`encoder_sha256`): the weights' SHA-256,
    /// or with an adapter merged in, the SHA-256 of both digests' hex concatenated.
    package static func encoderSHA256(model: String, adapter: String?) -> String {
        guard let adapter else { return model }
        return SHA256.hex(Data((model + adapter).utf8))
    }

    package let file: SafeTensors
    package let rank: Int
    package let alpha: Float

    /// Opens an adapter: `url` is the adapter directory or its `adapter.safetensors`. The file's
    /// SHA-256 must match `adapter_sha256` in the `manifest.json` beside it.
    ///
    /// - Throws: `ModelError` naming the file when it or the manifest is missing or malformed,
    ///   or when the hash does not match.
    package init(url: URL) throws {
        var isDir: ObjCBool = false
        let fileURL = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) && isDir.boolValue
            ? url.appendingPathComponent(Self.fileName) : url
        let manifestURL = fileURL.deletingLastPathComponent().appendingPathComponent("manifest.json")
        let manifest: EncoderAdapterManifest
        do {
            manifest = try JSONDecoder().decode(EncoderAdapterManifest.self, from: Data(contentsOf: manifestURL))
        } catch {
            throw ModelError(.invalidFile, "\(manifestURL.path): cannot read the adapter's manifest: \(error)")
        }
        let file = try SafeTensors(url: fileURL)
        let sha = try SHA256.hex(fileAt: fileURL)
        guard sha == manifest.adapterSHA256.lowercased() else {
            throw ModelError(.invalidFile, "\(fileURL.path): SHA-256 \(sha) does not match adapter_sha256 \(manifest.adapterSHA256) in \(manifestURL.path) (the adapter was changed or belongs to another run)")
        }
        try self.init(file: file)
    }

    /// Reads an adapter file without a manifest check (tests).
    package init(file: SafeTensors) throws {
        let m = file.metadata
        guard m["format"] == Self.format, let r = m["rank"].flatMap(Int.init), r >= 0, let a = m["alpha"].flatMap(Float.init) else {
            throw ModelError(.invalidFile, "\(file.url.path): not an encoder adapter (__metadata__ needs format \(Self.format), rank, alpha; got \(m))")
        }
        self.file = file
        rank = r
        alpha = a
    }

    /// Checks every tensor of the adapter against `cf` (known name, layer in range, shape), so
    /// an adapter for another model fails to load instead of being partly ignored.
    package func validate(_ cf: MiniLMConfig) throws {
        var known: [String: [Int]] = [:]
        for l in 0..<cf.layers {
            for t in LoRATarget.allCases {
                let (o, i) = t.shape(cf)
                known[t.name(layer: l) + ".lora_A"] = [rank, i]
                known[t.name(layer: l) + ".lora_B"] = [o, rank]
            }
            for v in LayerVector.allCases {
                let names = v.baseNames(layer: l)
                for n in names { known[n] = [v.count(cf) / names.count] }
            }
        }
        for (name, t) in file.tensors.sorted(by: { $0.key < $1.key }) {
            guard let shape = known[name] else {
                throw ModelError(.invalidFile, "\(file.url.path): tensor '\(name)' is not an adapter tensor of this \(cf.layers)-layer encoder")
            }
            guard t.shape == shape else {
                throw ModelError(.invalidFile, "\(file.url.path): tensor '\(name)' has shape \(t.shape), expected \(shape)")
            }
        }
        for l in 0..<cf.layers {
            for t in LoRATarget.allCases where (file.tensors[t.name(layer: l) + ".lora_A"] == nil) != (file.tensors[t.name(layer: l) + ".lora_B"] == nil) {
                throw ModelError(.invalidFile, "\(file.url.path): \(t.name(layer: l)) has only one of lora_A and lora_B")
            }
        }
    }

    /// Merges the adapter into layer `l`'s row-major weights: W += (alpha/r)·B·A, and replaces
    /// the biases and layernorm parameters the adapter holds.
    package func apply(to w: MiniLMLayerWeights, layer l: Int, _ cf: MiniLMConfig) throws {
        let scale = rank > 0 ? alpha / Float(rank) : 0
        for t in LoRATarget.allCases {
            let name = t.name(layer: l)
            guard file.tensors[name + ".lora_A"] != nil else { continue }
            let (o, i) = t.shape(cf)
            let a = try file.floatsConverting(name + ".lora_A", shape: [rank, i])
            let b = try file.floatsConverting(name + ".lora_B", shape: [o, rank])
            let target: UnsafeMutablePointer<Float>
            switch t {
            case .qkv: target = w.qkvW
            case .attnOut: target = w.attnOutW
            case .ffnIn: target = w.ffnInW
            case .ffnOut: target = w.ffnOutW
            }
            sgemm(target, ldc: i, b, lda: rank, a, ldb: i, m: o, n: i, k: rank, alpha: scale, beta: 1)
        }
        for v in LayerVector.allCases {
            let names = v.baseNames(layer: l)
            let part = v.count(cf) / names.count
            for (k, n) in names.enumerated() where file.tensors[n] != nil {
                let values = try file.floatsConverting(n, shape: [part])
                (v.pointer(w) + k * part).update(from: values, count: part)
            }
        }
    }
}
