import Contracts
import Emotion
import Encoder
import Escalation
import Foundation
import Tokenizer

extension ModelAnalyzer {
    /// The model in use as the processor sees it outside analysis.
    struct Summary {
        var version: String
        var embeddingDimension: Int
        var initialEscalation: EscalationState
        var alarm: EscalationAlarm
        var neutralBaseRate: Float?

        init(_ model: Model) {
            version = model.version
            embeddingDimension = model.heads.embeddingDimension
            initialEscalation = model.forecaster.initialState()
            alarm = model.forecaster.alarm
            neutralBaseRate = model.heads.neutralBaseRate
        }
    }

    /// The directories and settings a model is loaded from.
    struct Source: Sendable {
        var modelDirectory: URL, headsDirectory: URL, escalationDirectory: URL
        var encoder: EncoderConfiguration
        var cacheCapacity: Int

        /// SHA-256 over the heads' and the forecaster's manifests (which carry the SHA-256 of every
        /// weight file) and the name, size and modification time of every file in their
        /// directories: it changes whenever any model file does, including a weight file copied in
        /// after its manifest.
        func fingerprint() throws -> String {
            var data = Data()
            let fm = FileManager.default
            for dir in [headsDirectory, escalationDirectory] {
                let url = dir.appendingPathComponent("manifest.json")
                do { data += try Data(contentsOf: url) } catch {
                    throw ModelError(.fileNotFound, "cannot read \(url.path)", cause: error)
                }
                let files = (fm.enumerator(atPath: dir.path)?.allObjects as? [String] ?? []).sorted()
                for name in files {
                    guard let a = try? fm.attributesOfItem(atPath: dir.appendingPathComponent(name).path),
                          a[.type] as? FileAttributeType == .typeRegular else { continue }
                    let size = (a[.size] as? NSNumber)?.int64Value ?? -1
                    let modified = (a[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
                    data += Data("\(dir.path)/\(name) \(size) \(modified)\n".utf8)
                }
            }
            return SHA256.hex(data)
        }
    }

    /// One loaded model: tokenizer, encoder, heads, forecaster and the embedding cache that goes with
    /// them.
    struct Model {
        let tokenizer: WordPieceTokenizer
        let encoder: MiniLMEncoder
        let heads: EmotionHeads
        let forecaster: EscalationForecaster
        var cache: EmbeddingCache
        let version: String
        let fingerprint: String

        /// Loads the model `source` names; `fingerprint` is the source's, taken before loading.
        init(_ source: Source, fingerprint: String) throws {
            self.fingerprint = fingerprint
            tokenizer = try WordPieceTokenizer(vocabulary: source.modelDirectory.appendingPathComponent("vocab.txt"))
            heads = try EmotionHeads(directory: source.headsDirectory)
            let modelFile = source.modelDirectory.appendingPathComponent("model.safetensors")
            // The heads record the encoder they were trained on (its weights' SHA-256, with their adapter's).
            if !heads.manifest.encoderSHA256.isEmpty {
                let sha = EncoderAdapter.encoderSHA256(model: try SHA256.hex(fileAt: modelFile), adapter: heads.manifest.encoderAdapterSHA256)
                guard sha == heads.manifest.encoderSHA256 else {
                    throw ModelError(.invalidFile, "\(modelFile.path) is not the encoder heads \(heads.manifest.version) were trained on "
                                     + "(SHA-256 \(sha), expected \(heads.manifest.encoderSHA256)): run Deploy/fetch-model.sh")
                }
            }
            encoder = try MiniLMEncoder(modelFile: modelFile, adapter: heads.encoderAdapterDirectory, configuration: source.encoder)
            forecaster = try EscalationForecaster(directory: source.escalationDirectory)
            cache = EmbeddingCache(capacity: source.cacheCapacity)
            let escalationManifest = try? JSONDecoder().decode(
                EscalationManifest.self, from: Data(contentsOf: source.escalationDirectory.appendingPathComponent("manifest.json")))
            version = "minilm-l6-v2+\(heads.manifest.version)+escalation-\(escalationManifest?.version ?? 0)"
        }
    }
}
