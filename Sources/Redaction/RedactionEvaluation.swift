/// Precision and recall per entity of a redactor on labelled texts, and its findings on texts
/// that hold no sensitive data.
package struct RedactionEvaluation: Sendable {
    package struct Tally: Sendable, Equatable {
        /// Labelled entities, and those a finding of the same kind overlaps.
        package var labelled = 0, recalled = 0
        /// Findings, and those that overlap a labelled entity of the same kind.
        package var found = 0, correct = 0

        package var recall: Double { labelled == 0 ? 1 : Double(recalled) / Double(labelled) }
        package var precision: Double { found == 0 ? 1 : Double(correct) / Double(found) }
    }

    /// Entity name → tally.
    package var entities: [String: Tally] = [:]
    /// Texts without a labelled entity, and findings in them.
    package var piiFreeTexts = 0, piiFreeFindings = 0

    package init() {}

    /// Findings in PII-free texts per 5,000 such texts.
    package var falsePositivesPer5000: Double { piiFreeTexts == 0 ? 0 : Double(piiFreeFindings) * 5000 / Double(piiFreeTexts) }

    mutating func add(_ sample: LabelledText, findings: [Finding]) {
        if sample.entities.isEmpty {
            piiFreeTexts += 1
            piiFreeFindings += findings.count
        }
        for e in sample.entities {
            entities[e.kind.name, default: Tally()].labelled += 1
            if findings.contains(where: { $0.kind == e.kind && $0.range.overlaps(e.range) }) { entities[e.kind.name]!.recalled += 1 }
        }
        for f in findings {
            entities[f.kind.name, default: Tally()].found += 1
            if sample.entities.contains(where: { $0.kind == f.kind && $0.range.overlaps(f.range) }) { entities[f.kind.name]!.correct += 1 }
        }
    }
}

extension Redactor {
    /// This redactor's precision, recall and false positives on `samples`.
    package func evaluate(_ samples: [LabelledText]) -> RedactionEvaluation {
        var e = RedactionEvaluation()
        for s in samples { e.add(s, findings: findings(in: s.text)) }
        return e
    }
}
