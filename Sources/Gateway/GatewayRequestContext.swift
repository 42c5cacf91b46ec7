import Hummingbird

/// The gateway's request context: Hummingbird's core context and the caller's tenant once its
/// key is checked.
public struct GatewayRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The tenant the request's API key belongs to (``APIKeys/allTenants`` for an all-tenant key).
    var tenant: String?

    public init(source: Source) {
        coreContext = .init(source: source)
    }
}
