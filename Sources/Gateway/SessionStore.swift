import Contracts
import Foundation
import Synchronization

/// The web view's sign-in sessions: an opaque random id (256 bits) per sign-in, mapped to the
/// tenant of the key that signed in, until it expires or the browser signs out. The key itself
/// never leaves the `POST /login` body; the store keeps only digests of the ids.
final class SessionStore: Sendable {
    struct Session {
        var tenant: String
        var expires: ContinuousClock.Instant
    }

    private let sessions = Mutex<[[UInt8]: Session]>([:])
    let lifetime: Duration
    let maxSessions: Int

    init(lifetime: Duration, maxSessions: Int) {
        self.lifetime = lifetime
        self.maxSessions = max(1, maxSessions)
    }

    /// A new session of `tenant`; returns its id (64 hex digits from the system's CSPRNG). When the
    /// store is full, expired sessions go first, then the one closest to expiry.
    func create(tenant: String, now: ContinuousClock.Instant = .now) -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<4).flatMap { _ in withUnsafeBytes(of: generator.next() as UInt64) { Array($0) } }
        let id = bytes.map { String(format: "%02x", $0) }.joined()
        let digest = SHA256.hash(Data(id.utf8))
        sessions.withLock { s in
            if s.count >= maxSessions { s = s.filter { $0.value.expires > now } }
            if s.count >= maxSessions, let soonest = s.min(by: { $0.value.expires < $1.value.expires }) { s[soonest.key] = nil }
            s[digest] = Session(tenant: tenant, expires: now + lifetime)
        }
        return id
    }

    /// The tenant of session `id`, if it exists and has not expired.
    func tenant(of id: String, now: ContinuousClock.Instant = .now) -> String? {
        let digest = SHA256.hash(Data(id.utf8))
        return sessions.withLock { s in
            guard let session = s[digest] else { return nil }
            guard session.expires > now else {
                s[digest] = nil
                return nil
            }
            return session.tenant
        }
    }

    /// Ends session `id` (signing out).
    func remove(_ id: String) {
        let digest = SHA256.hash(Data(id.utf8))
        _ = sessions.withLock { $0.removeValue(forKey: digest) }
    }

    var count: Int { sessions.withLock { $0.count } }
}
