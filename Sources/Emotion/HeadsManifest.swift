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
    /// SHA-256 of the GoEmotions files the heads were trained on and selected with, if any.
    public var goEmotionsTrainSHA256: String?
    public var goEmotionsDevSHA256: String?
    /// The half of the validation and dev files (`select`) that chose the epochs, weights and the
    /// gate's calibration, when only one did: the other half (`report`) chose nothing. Nil when the
    /// whole files selected.
    public var selectionHalf: String?
    /// SHA-256 of the encoder's model.safetensors the embeddings came from.
    public var encoderSHA256: String
    public var embeddingDimension: Int
    /// The factor embeddings are multiplied by in the input vector.
    public var embeddingScale: Float
    /// Encoder layers whose mean-pooled hidden states the heads read for the current turn
    /// (`MiniLMEncoder.encode(_:layers:)`); empty for sentence embeddings only.
    public var encoderLayers: [Int] = []
    /// The linear word-channel head fused into the emotion logits of turns without emoji, if any.
    public var lexicalHead: LexicalHead.Manifest? = nil
    /// The linear head over the embedding fused into the outputs of turns without emoji, if any.
    public var embeddingHead: EmbeddingHead.Manifest? = nil
    public var hidden: Int
    public var inputs: Int
    public var emojiVocabulary: EmojiVocabulary
    /// The weight file (little-endian, in `weightsPrecision`: W1 (H, D), b1, W2 (35, H), b2) and its SHA-256.
    public var weightsFile: String
    public var weightsSHA256: String
    /// How the weight file stores each value (read back as Float either way).
    public var weightsPrecision: WeightsPrecision = .f32
    /// The epoch early stopping kept, and the metrics on the validation file at that epoch.
    public var bestEpoch: Int
    public var validation: EvaluationReport
    /// The neutral gate's threshold: a turn whose `neutral` probability reaches it is reported as
    /// neutral (`emotion.is_neutral`). Nil in heads trained before the gate (heads-6 and earlier).
    public var neutralThreshold: Float?
    /// The share of neutral examples the gate was calibrated on: the prior its `neutral`
    /// probability assumes (`EmotionPrediction.shiftingNeutralPrior`). Nil in heads before heads-8.4.
    public var neutralBaseRate: Float?
    /// SHA-256 of the fine-tuned encoder adapter the heads were trained on (stored in the heads
    /// directory's `encoder/`), nil for heads over the base encoder.
    public var encoderAdapterSHA256: String?
    /// Free-form notes on the training configuration.
    public var training: [String: String]

    package init(version: String, created: String, seed: UInt64, trainingDataSHA256: String, validationDataSHA256: String, encoderSHA256: String, embeddingDimension: Int, embeddingScale: Float, encoderLayers: [Int] = [], lexicalHead: LexicalHead.Manifest? = nil, hidden: Int, inputs: Int, emojiVocabulary: EmojiVocabulary, weightsFile: String, weightsSHA256: String, weightsPrecision: WeightsPrecision = .f32, bestEpoch: Int, validation: EvaluationReport, neutralThreshold: Float? = nil, training: [String: String]) {
        self.version = version; self.created = created; self.seed = seed; self.trainingDataSHA256 = trainingDataSHA256; self.validationDataSHA256 = validationDataSHA256; self.encoderSHA256 = encoderSHA256; self.embeddingDimension = embeddingDimension; self.embeddingScale = embeddingScale; self.encoderLayers = encoderLayers; self.lexicalHead = lexicalHead; self.hidden = hidden; self.inputs = inputs; self.emojiVocabulary = emojiVocabulary; self.weightsFile = weightsFile; self.weightsSHA256 = weightsSHA256; self.weightsPrecision = weightsPrecision; self.bestEpoch = bestEpoch; self.validation = validation; self.neutralThreshold = neutralThreshold; self.training = training
    }

    enum CodingKeys: String, CodingKey {
        case version, created, seed
        case trainingDataSHA256 = "training_data_sha256", validationDataSHA256 = "validation_data_sha256"
        case encoderSHA256 = "encoder_sha256", embeddingDimension = "embedding_dimension", embeddingScale = "embedding_scale", hidden, inputs
        case encoderLayers = "encoder_layers", lexicalHead = "lexical_head", embeddingHead = "embedding_head"
        case emojiVocabulary = "emoji_vocabulary", weightsFile = "weights_file", weightsSHA256 = "weights_sha256"
        case weightsPrecision = "weights_precision"
        case bestEpoch = "best_epoch", validation = "val_metrics", training
        case goEmotionsTrainSHA256 = "goemotions_train_sha256", goEmotionsDevSHA256 = "goemotions_dev_sha256", selectionHalf = "selection_half"
        case neutralThreshold = "neutral_threshold", neutralBaseRate = "neutral_base_rate", encoderAdapterSHA256 = "encoder_adapter_sha256"
    }
}

/// The number format of a weight file: little-endian IEEE float32 or half floats.
public enum WeightsPrecision: String, Sendable, Codable {
    case f32, f16
}

extension HeadsManifest {
    /// Decodes a manifest; one without `encoder_layers` (heads-1) reads sentence embeddings only,
    /// one without `lexical_head` (heads-1 and -2) has no word channel, one without `embedding_head`
    /// (heads-8 and earlier) none over the embedding, one without
    /// `weights_precision` (heads-1 to -3) has float32 weights.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        version = try c.decode(String.self, forKey: .version)
        created = try c.decode(String.self, forKey: .created)
        seed = try c.decode(UInt64.self, forKey: .seed)
        trainingDataSHA256 = try c.decode(String.self, forKey: .trainingDataSHA256)
        validationDataSHA256 = try c.decode(String.self, forKey: .validationDataSHA256)
        encoderSHA256 = try c.decode(String.self, forKey: .encoderSHA256)
        embeddingDimension = try c.decode(Int.self, forKey: .embeddingDimension)
        embeddingScale = try c.decode(Float.self, forKey: .embeddingScale)
        encoderLayers = try c.decodeIfPresent([Int].self, forKey: .encoderLayers) ?? []
        lexicalHead = try c.decodeIfPresent(LexicalHead.Manifest.self, forKey: .lexicalHead)
        embeddingHead = try c.decodeIfPresent(EmbeddingHead.Manifest.self, forKey: .embeddingHead)
        hidden = try c.decode(Int.self, forKey: .hidden)
        inputs = try c.decode(Int.self, forKey: .inputs)
        emojiVocabulary = try c.decode(EmojiVocabulary.self, forKey: .emojiVocabulary)
        weightsFile = try c.decode(String.self, forKey: .weightsFile)
        weightsSHA256 = try c.decode(String.self, forKey: .weightsSHA256)
        weightsPrecision = try c.decodeIfPresent(WeightsPrecision.self, forKey: .weightsPrecision) ?? .f32
        bestEpoch = try c.decode(Int.self, forKey: .bestEpoch)
        validation = try c.decode(EvaluationReport.self, forKey: .validation)
        training = try c.decode([String: String].self, forKey: .training)
        neutralThreshold = try c.decodeIfPresent(Float.self, forKey: .neutralThreshold)
        neutralBaseRate = try c.decodeIfPresent(Float.self, forKey: .neutralBaseRate)
        goEmotionsTrainSHA256 = try c.decodeIfPresent(String.self, forKey: .goEmotionsTrainSHA256)
        goEmotionsDevSHA256 = try c.decodeIfPresent(String.self, forKey: .goEmotionsDevSHA256)
        selectionHalf = try c.decodeIfPresent(String.self, forKey: .selectionHalf)
        encoderAdapterSHA256 = try c.decodeIfPresent(String.self, forKey: .encoderAdapterSHA256)
    }
}
