import Foundation
import Contracts
import Emotion
import Escalation

/// Labelled turns in dialogue order with their embeddings, as given and with emoji stripped.
public struct HeadsTrainingData: Sendable {
    public var turns: [LabelledTurn]
    public var embeddings: [[Float]]
    public var textOnlyEmbeddings: [[Float]]
    /// Per turn, the encoder layer features (empty without).
    public var layerFeatures: [[Float]]
    public var textOnlyLayerFeatures: [[Float]]
    /// Real single comments (GoEmotions) with their embeddings and layer features, trained beside
    /// the turns (train) or scored beside them (val); each is a dialogue of its own.
    public var comments: [GoEmotionsComment] = []
    public var commentEmbeddings: [[Float]] = []
    public var commentLayerFeatures: [[Float]] = []
    /// Real conversations (a chat corpus's dialogues, each turn's speaker and embedding) that
    /// comments can be placed after, so the context features see real conversation structure.
    public var conversations: [Conversation] = []

    /// A dialogue's turns as the context features read them.
    public typealias Conversation = [(speaker: String, embedding: [Float])]

    public init(turns: [LabelledTurn], embeddings: [[Float]], textOnlyEmbeddings: [[Float]],
                layerFeatures: [[Float]]? = nil, textOnlyLayerFeatures: [[Float]]? = nil) {
        precondition(turns.count == embeddings.count && turns.count == textOnlyEmbeddings.count)
        self.turns = turns; self.embeddings = embeddings; self.textOnlyEmbeddings = textOnlyEmbeddings
        self.layerFeatures = layerFeatures ?? .init(repeating: [], count: turns.count)
        self.textOnlyLayerFeatures = textOnlyLayerFeatures ?? .init(repeating: [], count: turns.count)
        precondition(self.layerFeatures.count == turns.count && self.textOnlyLayerFeatures.count == turns.count)
    }
}

extension HeadsTrainingData {
    /// The same data with `comments` (and their embeddings and layer features, empty without) added.
    public func adding(comments: [GoEmotionsComment], embeddings: [[Float]], layerFeatures: [[Float]]? = nil) -> HeadsTrainingData {
        precondition(comments.count == embeddings.count && (layerFeatures?.count ?? comments.count) == comments.count)
        var d = self
        d.comments += comments
        d.commentEmbeddings += embeddings
        d.commentLayerFeatures += layerFeatures ?? .init(repeating: [], count: comments.count)
        return d
    }

    /// Both data sets' turns, comments and conversations, `self`'s first (dialogue ids must not repeat across the two).
    public func appending(_ other: HeadsTrainingData) -> HeadsTrainingData {
        precondition(Set(turns.map(\.dialogueID)).isDisjoint(with: other.turns.map(\.dialogueID)),
                     "appended data shares dialogue ids: their turns would join one dialogue")
        var both = HeadsTrainingData(turns: turns + other.turns, embeddings: embeddings + other.embeddings,
                          textOnlyEmbeddings: textOnlyEmbeddings + other.textOnlyEmbeddings,
                          layerFeatures: layerFeatures + other.layerFeatures, textOnlyLayerFeatures: textOnlyLayerFeatures + other.textOnlyLayerFeatures)
            .adding(comments: comments + other.comments, embeddings: commentEmbeddings + other.commentEmbeddings,
                    layerFeatures: commentLayerFeatures + other.commentLayerFeatures)
        both.conversations = conversations + other.conversations
        return both
    }

    /// A context to place a comment after: a random prefix of 1 to 8 turns of a random conversation,
    /// and the comment's speaker: another than the last turn's four times in five.
    static func placedContext(_ conversations: [Conversation], rng: inout SeededGenerator) -> (context: DialogueContext, speaker: String) {
        var context = DialogueContext(), speaker = "comment"
        let turns = conversations[Int(rng.next() % UInt64(conversations.count))]
        for t in turns.prefix(1 + Int(rng.next() % UInt64(min(8, turns.count)))) {
            context.append(embedding: t.embedding, speaker: t.speaker)
        }
        if rng.nextUnit() < 0.2, let last = context.previousSpeaker { speaker = last }
        return (context, speaker)
    }

    /// The turns at `indices`, in that order (without the comments).
    public func subset(_ indices: [Int]) -> HeadsTrainingData {
        HeadsTrainingData(turns: indices.map { turns[$0] }, embeddings: indices.map { embeddings[$0] },
                          textOnlyEmbeddings: indices.map { textOnlyEmbeddings[$0] }, layerFeatures: indices.map { layerFeatures[$0] },
                          textOnlyLayerFeatures: indices.map { textOnlyLayerFeatures[$0] })
    }

    /// Each turn's fold of `folds`: whole dialogues, by a hash of their id.
    public func fold(_ folds: Int) -> [Int] {
        turns.map { Int(EscalationRandom.fnv1a($0.dialogueID) % UInt64(folds)) }
    }

    /// The heads' predictions of these turns in dialogue order with context, as given and emoji-stripped
    /// (the layer features are read if the heads have them).
    func predictions(by heads: EmotionHeads) -> (full: [EmotionPrediction], textOnly: [EmotionPrediction]) {
        let layers = heads.builder.layerDimension > 0
        return (heads.predictDialogues(turns.map { ($0.dialogueID, $0.speaker, $0.text) },
                                       embeddings: turns.indices.map { embeddings[$0] + (layers ? layerFeatures[$0] : []) }),
                heads.predictDialogues(turns.map { ($0.dialogueID, $0.speaker, EmojiFeatures.strip($0.text)) },
                                       embeddings: turns.indices.map { textOnlyEmbeddings[$0] + (layers ? textOnlyLayerFeatures[$0] : []) }))
    }
}
