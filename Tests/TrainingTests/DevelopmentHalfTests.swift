import Contracts
import Testing
@testable import Training

@Suite("Select and report halves")
struct DevelopmentHalfTests {
    @Test("a fixed hash splits dialogues and comments into two halves of about equal size, the same every time")
    func halves() {
        let turns = (0..<400).flatMap { d in
            (0..<3).map { t in LabelledTurn(dialogueID: "d\(d)", turnID: t, speaker: "s\(t % 2)", text: "turn \(t)", emotion: .joy, sarcasm: false) }
        }
        let comments = (0..<1000).map { GoEmotionsComment(id: "c\($0)", text: "comment", labels: ["neutral"], emotion: nil, sector: nil, neutral: true) }
        let data = HeadsTrainingData(turns: turns, embeddings: turns.map { _ in [0] }, textOnlyEmbeddings: turns.map { _ in [0] })
            .adding(comments: comments, embeddings: comments.map { _ in [0] })
        let select = data.keeping(.select), report = data.keeping(.report)
        #expect(select.turns.count + report.turns.count == turns.count && select.comments.count + report.comments.count == comments.count)
        #expect(Set(select.turns.map(\.dialogueID)).isDisjoint(with: report.turns.map(\.dialogueID)))
        #expect(Set(select.comments.map(\.id)).isDisjoint(with: report.comments.map(\.id)))
        #expect((540...660).contains(select.turns.count) && (440...560).contains(select.comments.count))
        #expect(select.turns.count % 3 == 0, "whole dialogues")
        #expect(data.keeping(.select).comments.map(\.id) == select.comments.map(\.id))
        #expect(DevelopmentHalf(of: "d1") == DevelopmentHalf(of: "d1"))
    }
}
