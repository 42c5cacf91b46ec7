import Foundation

/// `manifest.json` beside the heads' weights: what they are, what they were trained on, how good they were.
public struct HeadsManifest: Sendable, Codable, Equatable {
    /// The model version events carry in `model.version`.
    public var version: String
    /// When training finished (RFC 3339).
    public var created: String
    public var seed: UInt64
    /// SHA-256 of the training and validation files.
    public var trainingDataSHA256: String
    public var validationDataSHA256: String
    /// SHA-256 of the encoder's model.safetensors the embeddings came from.
    public var encoderSHA256: String
    public var embeddingDimension: Int
    /// The factor embeddings are multiplied by in the input vector.
    public var embeddingScale: Float
    public var hidden: Int
    public var inputs: Int
    public var emojiVocabulary: EmojiVocabulary
    /// The weight file (little-endian float32: W1 (H, D), b1, W2 (34, H), b2) and its SHA-256.
    public var weightsFile: String
    public var weightsSHA256: String
    /// The epoch early stopping kept, and the metrics on the validation file at that epoch.
    public var bestEpoch: Int
    public var validation: EvaluationReport
    /// Free-form notes on the training configuration.
    public var training: [String: String]

    enum CodingKeys: String, CodingKey {
        case version, created, seed
        case trainingDataSHA256 = "training_data_sha256", validationDataSHA256 = "validation_data_sha256"
        case encoderSHA256 = "encoder_sha256", embeddingDimension = "embedding_dimension", embeddingScale = "embedding_scale", hidden, inputs
        case emojiVocabulary = "emoji_vocabulary", weightsFile = "weights_file", weightsSHA256 = "weights_sha256"
        case bestEpoch = "best_epoch", validation = "val_metrics", training
    }
}
