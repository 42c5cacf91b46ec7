/// A kind of sensitive data the redactor finds: a built-in entity or a tenant's named pattern.
public struct EntityKind: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The name used in settings, counts and tags: `card`, or a custom pattern's own name.
    public let name: String

    init(_ name: String) { self.name = name }

    public var description: String { name }
    public static func < (a: EntityKind, b: EntityKind) -> Bool { a.name < b.name }

    /// Payment card numbers: 13–19 digits, Luhn-valid, with a known issuer prefix.
    public static let card = EntityKind("card")
    /// International bank account numbers (ISO 13616: country length, mod-97).
    public static let iban = EntityKind("iban")
    /// E-mail addresses.
    public static let email = EntityKind("email")
    /// Phone numbers valid by libphonenumber's metadata: international, or national of the policy's regions.
    public static let phone = EntityKind("phone")
    /// US social security numbers.
    public static let ssn = EntityKind("ssn")
    /// UK National Insurance numbers.
    public static let ukNI = EntityKind("uk_ni")
    /// IPv4 and IPv6 addresses.
    public static let ip = EntityKind("ip")
    /// UK, US, German and Dutch postcodes, only next to an address context.
    public static let postcode = EntityKind("postcode")
    /// Dates after a birth-date context ("DOB", "born on").
    public static let dob = EntityKind("dob")
    /// Card expiry dates (MM/YY) after an expiry context or a card number.
    public static let expiry = EntityKind("expiry")
    /// Card security codes after a CVV/CVC context.
    public static let cvv = EntityKind("cvv")
    /// URLs carrying credentials or tokens.
    public static let url = EntityKind("url")

    /// Every built-in entity, in a fixed order.
    public static let builtIn: [EntityKind] = [.card, .iban, .email, .phone, .ssn, .ukNI, .ip, .postcode, .dob, .expiry, .cvv, .url]

    /// The built-in entity called `name`, if any.
    public static func builtIn(named name: String) -> EntityKind? {
        builtIn.first { $0.name == name }
    }

    /// The type tag that replaces a finding in `.tag` mode: `[CARD]`.
    public var tag: String { "[" + name.uppercased() + "]" }
}
