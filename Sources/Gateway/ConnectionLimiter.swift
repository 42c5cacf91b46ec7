import NIOCore
import Synchronization

/// Caps the connections open at once: a connection over the cap is closed as it arrives, before
/// anything is read from it (so idle or slow clients cannot hold every descriptor).
final class ConnectionLimiter: Sendable {
    let maxConnections: Int
    private let open = Atomic<Int>(0)
    private let metrics = GatewayMetrics.shared

    init(maxConnections: Int) {
        self.maxConnections = max(1, maxConnections)
    }

    /// The connections open now.
    var count: Int { open.load(ordering: .relaxed) }

    /// A handler for one new connection's pipeline.
    func handler() -> any RemovableChannelHandler { Handler(limiter: self) }

    final class Handler: ChannelInboundHandler, RemovableChannelHandler, Sendable {
        typealias InboundIn = NIOAny
        let limiter: ConnectionLimiter
        private let counted = Atomic<Bool>(false)

        init(limiter: ConnectionLimiter) { self.limiter = limiter }

        func handlerAdded(context: ChannelHandlerContext) {
            let now = limiter.open.wrappingAdd(1, ordering: .relaxed).newValue
            counted.store(true, ordering: .relaxed)
            limiter.metrics.connections.increment()
            if now > limiter.maxConnections {
                limiter.metrics.refusedConnections.increment()
                context.close(promise: nil)
            }
        }

        func handlerRemoved(context: ChannelHandlerContext) {
            guard counted.exchange(false, ordering: .relaxed) else { return }
            limiter.open.wrappingSubtract(1, ordering: .relaxed)
            limiter.metrics.connections.decrement()
        }
    }
}
