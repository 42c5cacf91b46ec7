import Escalation

/// One of two fixed halves of a development set, by a hash of each dialogue's (or comment's) id:
/// training chooses its epochs, weights and calibration on `select`, so figures on `report` are of
/// data that chose nothing (`plutchik eval --dev-half report`).
public enum DevelopmentHalf: String, Sendable, Codable, CaseIterable {
    case select, report

    /// The half `key` (a dialogue or comment id) falls in.
    public init(of key: String) {
        self = EscalationRandom.fnv1a("dev-half:" + key) % 2 == 0 ? .select : .report
    }
}

extension HeadsTrainingData {
    /// The turns of the dialogues and the comments in `half`, in their order.
    public func keeping(_ half: DevelopmentHalf) -> HeadsTrainingData {
        let kept = comments.indices.filter { DevelopmentHalf(of: comments[$0].id) == half }
        return subset(turns.indices.filter { DevelopmentHalf(of: turns[$0].dialogueID) == half })
            .adding(comments: kept.map { comments[$0] }, embeddings: kept.map { commentEmbeddings[$0] },
                    layerFeatures: kept.map { commentLayerFeatures[$0] })
    }
}
