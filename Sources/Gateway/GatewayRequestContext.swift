import Hummingbird
import NIOCore

/// The gateway's request context: Hummingbird's core context and the caller's tenant once its
/// key is checked.
public struct GatewayRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The tenant the request's API key belongs to (``APIKeys/allTenants`` for an all-tenant key).
    var tenant: String?
    /// The peer's IP address (nil when the transport has none, as in in-process tests).
    var remoteAddress: String?
    /// The connection, so a long response (`/events`) ends as soon as it closes.
    var channel: (any Channel)?

    public init(source: Source) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress?.ipAddress
        channel = source.channel
    }
}
