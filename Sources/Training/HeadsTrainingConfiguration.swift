import Foundation
import Contracts
import Emotion
import Escalation

/// How the heads are trained.
public struct HeadsTrainingConfiguration: Sendable {
    public var seed: UInt64 = 42
    public var hidden = 128
    public var maxEpochs = 150
    /// Stop after this many epochs without a better validation score.
    public var patience = 25
    public var batchSize = 64
    public var learningRate: Float = 1e-3
    public var weightDecay: Float = 1e-4
    /// Dropout on the hidden layer.
    public var dropout: Float = 0.5
    /// The chance a training example is shown as its emoji-stripped variant (text and context
    /// both stripped), so one model serves text with and without emoji.
    public var textOnlyProbability: Float = 0.3
    /// Class weights are (mean count / class count)^power.
    public var classWeightPower: Float = 1
    /// Emoji seen fewer times in training are left out of the vocabulary.
    public var emojiMinCount = 2
    public var sarcasmWeight: Float = 0.5
    public var intensityWeight: Float = 0.5
    /// The factor unit-length embeddings are multiplied by in the input vector.
    public var embeddingScale: Float = 0.5
    /// Encoder layers whose mean-pooled hidden states are features of the current turn (the
    /// training data must carry them); standardised on the training set, times `layerFeatureScale`
    /// (the standardisation is folded into the saved first layer).
    ///
    /// Layers 2–5 on val (seed 42), without layer dropout: scale 0.5 → macro-F1 0.453 / text-only
    /// 0.399; 0.05 → 0.691 / 0.431; 0.02 → 0.754 / 0.425; 0.01 → 0.777 / 0.409 (heads-1 without:
    /// 0.819 / 0.363). With `layerDropout` the emoji-driven figure keeps up, and the shipped heads
    /// read layers 2–5 (their manifest's `encoder_layers`).
    public var encoderLayers: [Int] = []
    public var layerFeatureScale: Float = 0.5
    /// The chance a training example's layer features are all dropped (set to the training mean),
    /// so the heads keep learning from the embedding and the emoji alone.
    public var layerDropout: Float = 0
    /// Epochs are scored by w·macro-F1 + (1 − w)·text-only macro-F1 on val; a member that will
    /// only see emoji-stripped turns is selected on text-only alone (w = 0).
    public var selectionWeight: Float = 0.5
    /// The val turns epochs are scored on. `.withEmoji` is for a member that serves only turns with
    /// emoji (`--route --specialise emoji`): its epoch is the one with the best macro-F1 on those
    /// turns as given (`selectionWeight` is then unused). heads-5 on val, seeds 42 / 142 / 242:
    /// 0.844 / 0.833 / 0.836 against 0.835 / 0.834 / 0.831 when selected on all val turns.
    public var selectionTurns: HeadsSelectionTurns = .all
    /// Real comments (`HeadsTrainingData.comments`, GoEmotions) drawn into each epoch beside every
    /// training turn, cycling through all of them over the epochs; nil: as many as there are turns × 4.
    public var commentsPerEpoch: Int?
    /// The comments' share of the training loss (the turns have the rest), so that neither source
    /// swamps the other whatever their sizes; 0 trains on the turns alone.
    public var commentShare: Float = 0.5
    /// Class weights within the comments are (mean count / class count)^power over their classes.
    public var commentClassWeightPower: Float = 0.5
    /// The weight of the neutral gate's loss.
    public var neutralWeight: Float = 1
    /// Whether the labelled turns train the neutral gate (towards "not neutral": every seed turn
    /// has an emotion). Off, only the comments do, so the gate cannot learn that context means emotion.
    public var turnGateLoss = true
    /// The chance a comment is shown after a stretch of a real conversation
    /// (`HeadsTrainingData.conversations`) instead of alone, so the context features see real
    /// conversation structure under real labels.
    public var commentContextProbability: Float = 0
    /// Epochs are scored by (1 − s)·(the turns' score) + s·(the comments' score: the mean of class
    /// macro-F1, sector accuracy and neutral AUROC on the val comments), when val has comments.
    public var commentSelectionShare: Float = 0.5
    /// Train exactly this many epochs and keep the last, without scoring epochs on val (as a refit
    /// on train + val must: `plutchik train --refit`). `nil`: early stopping.
    public var fixedEpochs: Int?

    public init() {}

    var summary: [String: String] {
        ["seed": "\(seed)", "hidden": "\(hidden)", "max_epochs": "\(maxEpochs)", "patience": "\(patience)",
         "batch_size": "\(batchSize)", "learning_rate": "\(learningRate)", "weight_decay": "\(weightDecay)",
         "dropout": "\(dropout)", "text_only_probability": "\(textOnlyProbability)",
         "class_weight_power": "\(classWeightPower)", "emoji_min_count": "\(emojiMinCount)",
         "sarcasm_weight": "\(sarcasmWeight)", "intensity_weight": "\(intensityWeight)", "embedding_scale": "\(embeddingScale)",
         "encoder_layers": "\(encoderLayers)", "layer_feature_scale": "\(layerFeatureScale)",
         "layer_dropout": "\(layerDropout)",
         "comments_per_epoch": commentsPerEpoch.map { "\($0)" } ?? "4 × turns", "comment_share": "\(commentShare)",
         "comment_class_weight_power": "\(commentClassWeightPower)", "neutral_weight": "\(neutralWeight)",
         "comment_selection_share": "\(commentSelectionShare)", "turn_gate_loss": "\(turnGateLoss)",
         "comment_context_probability": "\(commentContextProbability)",
         "selection": selectionTurns == .withEmoji ? "val emotion macro-F1 on the turns with emoji"
             : "\(selectionWeight) × val emotion macro-F1 + \(1 - selectionWeight) × text-only macro-F1"]
    }
}

/// Which val turns score a training epoch (`HeadsTrainingConfiguration.selectionTurns`).
public enum HeadsSelectionTurns: Sendable {
    /// Every turn, as given and emoji-stripped.
    case all
    /// The turns with emoji, as given.
    case withEmoji
}
