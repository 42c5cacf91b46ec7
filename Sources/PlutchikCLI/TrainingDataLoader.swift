import Emotion
import Encoder
import Foundation
import Training

/// Builds `HeadsTrainingData` for the training commands: labelled turns (as given and
/// emoji-stripped) and GoEmotions comments with their embeddings and layer features, encoded once
/// and cached by the embedder.
struct TrainingDataLoader {
    let embedder: TextEmbedder
    let layers: [Int]

    /// `turns` with their embeddings, as given and emoji-stripped.
    func data(_ turns: [LabelledTurn], _ name: String) throws -> HeadsTrainingData {
        let texts = turns.map(\.text)
        let all = try embedder.embed(texts + texts.map(EmojiFeatures.strip), layers: layers) { done, total in
            if done == total || done % 256 < 32 { printError("encoding \(name): \(done)/\(total)") }
        }
        let e = embedder.encoder.dimension
        let emb = all.map { Array($0[0..<e]) }, lf = all.map { Array($0[e...]) }
        return HeadsTrainingData(turns: turns, embeddings: Array(emb[0..<turns.count]), textOnlyEmbeddings: Array(emb[turns.count...]),
                                 layerFeatures: Array(lf[0..<turns.count]), textOnlyLayerFeatures: Array(lf[turns.count...]))
    }

    /// `base` with the comments of `file` (GoEmotions JSONL) and their embeddings added.
    func adding(comments file: String?, to base: HeadsTrainingData, _ name: String) throws -> HeadsTrainingData {
        guard let file else { return base }
        let comments = try GoEmotionsComment.load(URL(fileURLWithPath: file))
        let all = try embedder.embed(comments.map(\.text), layers: layers) { done, total in
            if done == total || done % 2048 < 32 { printError("encoding \(name) comments: \(done)/\(total)") }
        }
        let e = embedder.encoder.dimension
        return base.adding(comments: comments, embeddings: all.map { Array($0[0..<e]) }, layerFeatures: all.map { Array($0[e...]) })
    }

    /// The dialogues of a chat corpus (turn JSONL), at most `limit` turns, with their embeddings.
    func conversations(_ file: String, limit: Int) throws -> [HeadsTrainingData.Conversation] {
        let turns = try CorpusTurn.load(URL(fileURLWithPath: file)).prefix(limit)
        let vectors = try embedder.embed(turns.map(\.text), layers: []) { done, total in
            if done == total || done % 2048 < 32 { printError("encoding conversation turns: \(done)/\(total)") }
        }
        var out: [HeadsTrainingData.Conversation] = [], last: String?
        for (t, v) in zip(turns, vectors) {
            if t.dialogueID != last { out.append([]); last = t.dialogueID }
            out[out.count - 1].append((t.speaker, v))
        }
        return out
    }
}
