/// What a ``Redactor`` finds and how it shows each finding. The default finds every built-in
/// entity and replaces it by its type tag (`[CARD]`).
public struct RedactionPolicy: Sendable, Equatable {
    /// The built-in entities to find (custom patterns are always found).
    public var entities: Set<EntityKind>
    /// How each entity is shown; an entity not listed is shown as `defaultMode`.
    public var modes: [EntityKind: RedactionMode]
    public var defaultMode: RedactionMode
    /// The tenant's own named patterns.
    public var customPatterns: [CustomPattern]
    /// The HMAC-SHA-256 key of `.hash` mode (the tenant's secret; the caller reads it from wherever
    /// it is kept: this module never reads the environment). Required when any mode is `.hash`.
    public var hashKey: [UInt8]?
    /// The regions whose national phone formats are recognised (CLDR codes, in the order tried).
    public var phoneRegions: [String]

    /// The regions of the national phone formats recognised by default.
    public static let defaultPhoneRegions = ["US", "GB", "DE", "FR", "ES", "IT", "NL", "IN", "BR"]

    public init(entities: Set<EntityKind> = Set(EntityKind.builtIn), modes: [EntityKind: RedactionMode] = [:],
                defaultMode: RedactionMode = .tag, customPatterns: [CustomPattern] = [], hashKey: [UInt8]? = nil,
                phoneRegions: [String] = RedactionPolicy.defaultPhoneRegions) {
        self.entities = entities
        self.modes = modes
        self.defaultMode = defaultMode
        self.customPatterns = customPatterns
        self.hashKey = hashKey
        self.phoneRegions = phoneRegions
    }

    /// How `kind` is shown.
    public func mode(for kind: EntityKind) -> RedactionMode { modes[kind] ?? defaultMode }

    /// Checks that `.hash` has a key of at least 16 bytes and that phone regions are two-letter codes.
    /// - Throws: `RedactionError(.invalidPolicy)` naming the entity or region.
    public func validate() throws(RedactionError) {
        let hashed = (entities.map(\.self) + customPatterns.map(\.kind)).filter { mode(for: $0) == .hash }.sorted()
        if let first = hashed.first, (hashKey?.count ?? 0) < 16 {
            throw RedactionError(.invalidPolicy, "mode hash for \(first) needs a secret of at least 16 bytes")
        }
        for r in phoneRegions where r.utf8.count != 2 || !r.allSatisfy({ $0.isASCII && $0.isUppercase }) {
            throw RedactionError(.invalidPolicy, "phone region '\(r)' is not a two-letter upper-case code")
        }
    }
}
