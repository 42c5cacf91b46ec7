import Testing
@testable import Redaction

@Suite struct RedactionPolicyTests {
    static let key = Array("a-tenant-secret-of-32-bytes-long".utf8)

    @Test func partialKeepsTheLastFour() throws {
        let r = try Redactor(policy: RedactionPolicy(modes: [.card: .partial, .email: .partial, .iban: .partial]))
        #expect(r.redact("card 4111 1111 1111 1111").text == "card **** **** **** 1111")
        #expect(r.redact("card 4111-1111-1111-1111").text == "card ****-****-****-1111")
        #expect(r.redact("mail john@example.com").text == "mail ***@example.com")
        #expect(r.redact("DE89 3704 0044 0532 0130 00").text == "**** **** **** **** **30 00")
    }

    @Test func hashJoinsEqualValuesUnderOneKeyOnly() throws {
        let a = try Redactor(policy: RedactionPolicy(defaultMode: .hash, hashKey: Self.key))
        let b = try Redactor(policy: RedactionPolicy(defaultMode: .hash, hashKey: Array("another-tenant-secret-32-bytes!!".utf8)))
        let x = a.redact("4111 1111 1111 1111").text, y = a.redact("4111-1111-1111-1111").text, z = b.redact("4111 1111 1111 1111").text
        #expect(x == y)
        #expect(x != z)
        #expect(x.hasPrefix("[CARD:") && x.count == "[CARD:]".count + 16)
        #expect(!x.contains("1111"))
    }

    @Test func hashWithoutASecretIsRejected() {
        #expect(throws: RedactionError.self) { try Redactor(policy: RedactionPolicy(modes: [.phone: .hash])) }
        #expect(throws: RedactionError.self) { try Redactor(policy: RedactionPolicy(modes: [.phone: .hash], hashKey: [1, 2, 3])) }
    }

    @Test func onlyTheChosenEntities() throws {
        let r = try Redactor(policy: RedactionPolicy(entities: [.card]))
        let out = r.redact("card 4111 1111 1111 1111, mail john@example.com")
        #expect(out.text == "card [CARD], mail john@example.com")
        #expect(out.counts == ["card": 1])
        #expect(try Redactor(policy: RedactionPolicy(entities: [])).redact("card 4111 1111 1111 1111").text == "card 4111 1111 1111 1111")
        // An entity left out still wins its overlaps: a kept SSN or ZIP+4 does not turn into a phone number.
        let phonesOnly = try Redactor(policy: RedactionPolicy(entities: [.phone]))
        #expect(phonesOnly.redact("SSN 078-05-1120, my IP is 90.45.45.47").text == "SSN 078-05-1120, my IP is 90.45.45.47")
    }

    @Test func customPatterns() throws {
        let p = try CustomPattern(name: "member_id", pattern: "MBR-[0-9]{6}")
        let r = try Redactor(policy: RedactionPolicy(customPatterns: [p]))
        let out = r.redact("Grüße, member MBR-123456 and MBR-654321")
        #expect(out.text == "Grüße, member [MEMBER_ID] and [MEMBER_ID]")
        #expect(out.counts == ["member_id": 2])
        #expect(throws: RedactionError.self) { try CustomPattern(name: "bad", pattern: "([0-9]") }
        #expect(throws: RedactionError.self) { try CustomPattern(name: "card", pattern: "x") }
        #expect(throws: RedactionError.self) { try CustomPattern(name: "Has Space", pattern: "x") }
    }

    @Test func errorNamesTheSetting() {
        do {
            _ = try CustomPattern(name: "ref", pattern: "[")
            Issue.record("no error")
        } catch {
            #expect(error.code == .invalidPolicy)
            #expect(error.message.contains("ref"))
        }
    }
}
