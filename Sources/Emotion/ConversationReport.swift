/// How the heads do on one file of human-labelled conversations (neutral and Ekman's six per turn,
/// ``EkmanLabel``): what `plutchik eval --conversations` prints.
public struct ConversationReport: Sendable, Codable, Equatable {
    /// The file's name.
    public var file: String
    public var dialogues: Int
    public var turns: Int
    /// The share of turns the annotators call neutral.
    public var goldNeutralShare: Float
    /// The turns scored as the stream scores them: each dialogue in order, with its context.
    public var withContext: Figures
    /// Each turn scored as a dialogue of its own.
    public var turnAlone: Figures

    /// The figures of one way of scoring the turns.
    public struct Figures: Sendable, Codable, Equatable {
        /// F1 per label over the seven, averaged weighted by the gold support (MELD's metric).
        public var weightedF1: Float
        /// Micro-F1 over the six emotions, neutral excluded (DailyDialog's metric): precision over
        /// the turns predicted non-neutral, recall over the turns gold non-neutral, a hit when the
        /// labels agree.
        public var microF1: Float
        /// AUROC of the gate's `neutral` probability against gold neutral; nil without both kinds of turn.
        public var neutralAUROC: Float?
        /// The share of turns predicted neutral (``EkmanLabel/init(_:)``).
        public var predictedNeutralShare: Float
        /// 95 % percentile-bootstrap intervals over the dialogues (nil with `--bootstrap 0`).
        public var intervals: Intervals?

        package init(weightedF1: Float, microF1: Float, neutralAUROC: Float?, predictedNeutralShare: Float) {
            self.weightedF1 = weightedF1; self.microF1 = microF1; self.neutralAUROC = neutralAUROC
            self.predictedNeutralShare = predictedNeutralShare
        }

        enum CodingKeys: String, CodingKey {
            case weightedF1 = "weighted_f1", microF1 = "micro_f1", neutralAUROC = "neutral_auroc"
            case predictedNeutralShare = "predicted_neutral_share", intervals
        }
    }

    /// The dialogues drawn again with replacement, `resamples` times, each draw scored like the
    /// whole; each bound is the 2.5th or 97.5th percentile of a figure.
    public struct Intervals: Sendable, Codable, Equatable {
        public var resamples: Int
        public var weightedF1: ClosedRange<Float>
        public var microF1: ClosedRange<Float>
        /// Nil when no resample had both neutral and other turns.
        public var neutralAUROC: ClosedRange<Float>?

        package init(resamples: Int, weightedF1: ClosedRange<Float>, microF1: ClosedRange<Float>, neutralAUROC: ClosedRange<Float>?) {
            self.resamples = resamples; self.weightedF1 = weightedF1; self.microF1 = microF1; self.neutralAUROC = neutralAUROC
        }

        enum CodingKeys: String, CodingKey {
            case resamples, weightedF1 = "weighted_f1", microF1 = "micro_f1", neutralAUROC = "neutral_auroc"
        }
    }

    package init(file: String, dialogues: Int, turns: Int, goldNeutralShare: Float, withContext: Figures, turnAlone: Figures) {
        self.file = file; self.dialogues = dialogues; self.turns = turns; self.goldNeutralShare = goldNeutralShare
        self.withContext = withContext; self.turnAlone = turnAlone
    }

    enum CodingKeys: String, CodingKey {
        case file, dialogues, turns, goldNeutralShare = "gold_neutral_share", withContext = "with_context", turnAlone = "turn_alone"
    }
}
