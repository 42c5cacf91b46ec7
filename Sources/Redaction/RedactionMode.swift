/// How a finding is shown in the redacted text.
public enum RedactionMode: String, Sendable, CaseIterable {
    /// A type tag: `[CARD]`.
    case tag
    /// Masked but for the last four letters or digits (`**** **** **** 1111`, PCI's last four);
    /// an e-mail keeps its domain (`***@example.com`).
    case partial
    /// A keyed hash, so equal values join without being readable: `[CARD:` and the first 16 hex
    /// digits of HMAC-SHA-256 over the normalised value (letters and digits, upper-cased) `]`.
    case hash
}
