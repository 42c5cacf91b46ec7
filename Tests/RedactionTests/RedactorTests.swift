import Testing
import Contracts
@testable import Redaction

@Suite struct RedactorTests {
    let redactor = try! Redactor()

    func redacted(_ s: String) -> String { redactor.redact(s).text }

    @Test func cardAndExpiryAndCVVAreTagged() {
        let r = redactor.redact("my card is 4111 1111 1111 1111, exp 09/27 cvv 123")
        #expect(r.text == "my card is [CARD], exp [EXPIRY] cvv [CVV]")
        #expect(r.counts == ["card": 1, "expiry": 1, "cvv": 1])
    }

    @Test func cardsOfEachSchemeAndLayout() {
        for c in ["4111111111111111", "5500-0000-0000-0004", "3782 822463 10005", "6011 1111 1111 1117", "3530 1113 3330 0000",
                  "2221 0000 0000 0009", "4222222222222"] {
            #expect(redacted("card \(c) please") == "card [CARD] please", "\(c)")
        }
    }

    @Test func luhnInvalidAndUnknownIssuerAreKept() {
        #expect(redacted("card 4111 1111 1111 1112 please") == "card 4111 1111 1111 1112 please")
        #expect(redacted("number 9111 1111 1111 1116") == "number 9111 1111 1111 1116")
    }

    @Test func cardFollowedByItsCVVOnTheSameRun() {
        #expect(redacted("4111 1111 1111 1111 123") == "[CARD] 123")
    }

    @Test func ibanNeedsCountryLengthAndMod97() {
        #expect(redacted("IBAN DE89 3704 0044 0532 0130 00 thanks") == "IBAN [IBAN] thanks")
        #expect(redacted("to GB82WEST12345698765432.") == "to [IBAN].")
        #expect(redacted("nl91abna0417164300") == "[IBAN]")
        #expect(redacted("IBAN DE89 3704 0044 0532 0130 01") == "IBAN DE89 3704 0044 0532 0130 01")
        #expect(redacted("DE89 3704 0044 0532 0130") == "DE89 3704 0044 0532 0130")
    }

    @Test func email() {
        #expect(redacted("mail anna-lena.mueller+cc@mail.example.co.uk.") == "mail [EMAIL].")
        #expect(redacted("ping me @ 5pm, or @john") == "ping me @ 5pm, or @john")
    }

    @Test func phonesInNationalAndInternationalFormats() {
        for p in ["+44 20 7946 0958", "(415) 555-2671", "415-555-2671", "020 7946 0958", "07911 123456", "030 12345678", "+49 151 23456789",
                  "01 42 68 53 00", "+33 6 12 34 56 78", "612 34 56 78", "+39 312 345 6789", "06 12345678", "+31 20 123 4567",
                  "98765 43210", "+91 98765 43210", "(11) 91234-5678", "+55 11 91234-5678", "0049 30 1234567"] {
            #expect(redacted("call me on \(p) today") == "call me on [PHONE] today", "\(p)")
        }
    }

    @Test func bareDigitsNeedAPhoneWord() {
        #expect(redacted("my number is 4155552671") == "my number is [PHONE]")
        #expect(redacted("it was 4155552671") == "it was 4155552671")
    }

    @Test func numbersThatAreNotPhones() {
        for s in ["order #4155552671 is late", "shipped 2024-03-15 14:22:05", "invoice 4155552671", "it cost $1,299.99", "ref 0201234567",
                  "on 15/03/2024 at 10:30", "SKU-88213-XL", "LocationBot 4.31977192 | Report", "99.9999999% of them",
                  "Reason number 1523648856 is", "see 78701-1234", "is FI12 0168 6206 2853 31 right?"] {
            #expect(redacted(s) == s, "\(s)")
        }
    }

    @Test func nationalIDs() {
        #expect(redacted("SSN 078-05-1120") == "SSN [SSN]")
        #expect(redacted("my ssn is 078051120") == "my ssn is [SSN]")
        #expect(redacted("id 666-05-1120") == "id 666-05-1120")
        #expect(redacted("NI number AB 12 34 56 C") == "NI number [UK_NI]")
        #expect(redacted("AB123456C") == "[UK_NI]")
        #expect(redacted("GB123456A") == "GB123456A")
    }

    @Test func ipAddresses() {
        #expect(redacted("my IP is 192.168.1.20.") == "my IP is [IP].")
        #expect(redacted("from 2001:db8::8a2e:370:7334 today") == "from [IP] today")
        #expect(redacted("version 2.3.1.4 crashes") == "version 2.3.1.4 crashes")
        #expect(redacted("at 10:30:00 and 999.1.1.1") == "at 10:30:00 and 999.1.1.1")
    }

    @Test func postcodesOnlyNextToAnAddress() {
        #expect(redacted("I live at 10 Downing Street, London SW1A 2AA") == "I live at 10 Downing Street, London [POSTCODE]")
        #expect(redacted("ship to 12 Main St, Austin, TX 78701-1234") == "ship to 12 Main St, Austin, TX [POSTCODE]")
        #expect(redacted("Adresse: Hauptstraße 5, 10115 Berlin") == "Adresse: Hauptstraße 5, [POSTCODE] Berlin")
        #expect(redacted("mijn adres is Damrak 1, 1012 LG Amsterdam") == "mijn adres is Damrak 1, [POSTCODE] Amsterdam")
        #expect(redacted("I waited 10115 seconds") == "I waited 10115 seconds")
        #expect(redacted("flight SW1A 2AA") == "flight SW1A 2AA")
    }

    @Test func datesOfBirthOnlyInContext() {
        #expect(redacted("DOB: 14/03/1985") == "DOB: [DOB]")
        #expect(redacted("I was born on 3 March 1979.") == "I was born on [DOB].")
        #expect(redacted("date of birth March 3, 1979") == "date of birth [DOB]")
        #expect(redacted("delivered 14/03/1985") == "delivered 14/03/1985")
    }

    @Test func expiryAndCVVOnlyInContext() {
        #expect(redacted("expires 11/2026") == "expires [EXPIRY]")
        #expect(redacted("it's 11/26 of the boxes") == "it's 11/26 of the boxes")
        #expect(redacted("security code is 4821") == "security code is [CVV]")
        #expect(redacted("I have 482 points") == "I have 482 points")
    }

    @Test func urlsWithCredentialsOrTokens() {
        #expect(redacted("open https://shop.example.com/reset?token=abc123 now") == "open [URL] now")
        #expect(redacted("see https://user:hunter2@ftp.example.net/files.") == "see [URL].")
        #expect(redacted("www.example.com/session/8f14e45fceea167a5a36dedd4bea2543") == "[URL]")
        #expect(redacted("see https://help.example.com/articles/123-returns") == "see https://help.example.com/articles/123-returns")
    }

    @Test func nonASCIITextKeepsItsBytes() {
        #expect(redacted("Grüße — Karte 4111 1111 1111 1111 😡") == "Grüße — Karte [CARD] 😡")
    }
}

@Suite struct RedactorFragmentTests {
    @Test func fragmentsInsideAFindingBecomeItsTag() throws {
        let r = try Redactor()
        let (text, words) = r.redact("furious!! my card 4111 1111 1111 1111 was charged twice", fragments: ["furious!!", "1111", "4111", "twice", "absent"])
        #expect(text.text == "furious!! my card [CARD] was charged twice")
        #expect(words == ["furious!!", "[CARD]", "[CARD]", "twice", "absent"])
        #expect(r.redact("no pii here", fragments: ["john@example.com"]).fragments == ["[EMAIL]"])
    }
}

@Suite struct RedactorJSONTests {
    @Test("caller attributes: strings redacted through arrays and objects, a card sent as a number too, the rest kept")
    func attributes() throws {
        let value = AnyJSON.object([
            "queue": .string("vip"), "vip": .bool(true), "score": .number(0.5), "none": .null,
            "interaction_id": .integer(4_200_000_000_001),  // not Luhn-valid: kept as a number
            "card": .integer(4_111_111_111_111_111),
            "crm": .object(["notes": .array([.string("paid with 4111-1111-1111-1111"), .integer(7), .string("mail x.y@example.org")])]),
        ])
        var counts = ["phone": 1]
        let out = try Redactor().redact(value, counts: &counts)
        #expect(out == .object([
            "queue": .string("vip"), "vip": .bool(true), "score": .number(0.5), "none": .null,
            "interaction_id": .integer(4_200_000_000_001), "card": .string("[CARD]"),
            "crm": .object(["notes": .array([.string("paid with [CARD]"), .integer(7), .string("mail [EMAIL]")])]),
        ]))
        #expect(counts == ["phone": 1, "card": 2, "email": 1])
        var none: [String: Int] = [:]
        #expect(try Redactor(policy: RedactionPolicy(entities: [])).redact(value, counts: &none) == value && none.isEmpty)
    }
}
