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
    /// How faithful the word explanations are on a sample of the turns (`--faithfulness N`).
    public var faithfulness: Faithfulness?

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
        case file, dialogues, turns, goldNeutralShare = "gold_neutral_share", withContext = "with_context", turnAlone = "turn_alone", faithfulness
    }
}

extension ConversationReport {
    /// ERASER's faithfulness of the word explanations (DeYoung et al., 2020) on a sample of the
    /// file's turns, scored with context: for each turn's predicted emotion, how much its
    /// probability drops when the explanation's top `k` words are deleted (comprehensiveness) or
    /// are all that is kept (sufficiency: lower is better), against `k` words drawn at random.
    public struct Faithfulness: Sendable, Codable, Equatable {
        /// Turns measured, drawn among those with at least `minimumWords` words (more than `k`), and `k`.
        public var turns: Int
        public var k: Int
        public var minimumWords: Int
        /// Mean p(emotion | turn) − p(emotion | turn without the top `k` words), and without `k` random words.
        public var comprehensiveness: Float
        public var comprehensivenessRandom: Float
        /// Mean p(emotion | turn) − p(emotion | the top `k` words alone), and `k` random words alone.
        public var sufficiency: Float
        public var sufficiencyRandom: Float
        /// Mean p(emotion | turn).
        public var probability: Float
        /// Turns whose words all got the same contribution (an explanation that says nothing).
        public var tiedTurns: Int

        package init(turns: Int, k: Int, minimumWords: Int, comprehensiveness: Float, comprehensivenessRandom: Float, sufficiency: Float,
                     sufficiencyRandom: Float, probability: Float, tiedTurns: Int) {
            self.turns = turns; self.k = k; self.minimumWords = minimumWords; self.comprehensiveness = comprehensiveness; self.comprehensivenessRandom = comprehensivenessRandom
            self.sufficiency = sufficiency; self.sufficiencyRandom = sufficiencyRandom; self.probability = probability; self.tiedTurns = tiedTurns
        }

        enum CodingKeys: String, CodingKey {
            case turns, k, minimumWords = "minimum_words", comprehensiveness, comprehensivenessRandom = "comprehensiveness_random", sufficiency
            case sufficiencyRandom = "sufficiency_random", probability, tiedTurns = "tied_turns"
        }
    }
}
