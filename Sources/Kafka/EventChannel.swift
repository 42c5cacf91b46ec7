import Foundation

/// A bounded single-consumer channel from a plain thread (librdkafka's poll loop) to an async caller.
///
/// The buffer's capacity is soft: the sender never blocks on it (a consumer's poll thread must keep
/// polling to serve rebalances), but reads ``isFull`` and pauses fetching instead. `sendAndWaitForAck`
/// additionally blocks until the receiver has asked for the next element, which is how a
/// revocation waits for the caller to finish and commit its in-flight work.
final class EventChannel<Element: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private var buffer: [Element] = []
    private var head = 0
    private var waiter: CheckedContinuation<Element?, any Error>?
    private var finished = false
    private var failure: (any Error)?
    /// Sequence numbers: elements sent, delivered to the receiver, and acknowledged by its next call.
    private var sent = 0
    private var acknowledged = 0
    private var delivered = 0
    let capacity: Int

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    private var count: Int { buffer.count - head }

    /// Whether the buffer holds `capacity` elements or more.
    var isFull: Bool { condition.withLock { count >= capacity } }

    /// Whether the buffer has drained to half its capacity or less.
    var isHalfEmpty: Bool { condition.withLock { count <= capacity / 2 } }

    /// Sends an element without blocking. Returns its sequence number, or nil once the channel is finished.
    @discardableResult
    func send(_ element: Element) -> Int? {
        condition.lock()
        guard !finished else { condition.unlock(); return nil }
        sent += 1
        let seq = sent
        if let w = waiter {
            waiter = nil
            delivered = seq
            condition.unlock()
            w.resume(returning: element)
            return seq
        }
        buffer.append(element)
        condition.unlock()
        return seq
    }

    /// Sends an element and blocks until the receiver asks for the next one (or the channel finishes).
    func sendAndWaitForAck(_ element: Element) {
        guard let seq = send(element) else { return }
        condition.lock()
        while !finished && acknowledged < seq { condition.wait() }
        condition.unlock()
    }

    /// How many buffered (not yet delivered) elements there are per `key` (elements whose key is nil
    /// are not counted).
    func bufferedCounts<Key: Hashable>(by key: (Element) -> Key?) -> [Key: Int] {
        condition.withLock {
            var out: [Key: Int] = [:]
            for e in buffer[head...] { if let k = key(e) { out[k, default: 0] += 1 } }
            return out
        }
    }

    /// Drops buffered (not yet delivered) elements matching `predicate`; returns how many. Called from
    /// the sending thread, so no acknowledgement is awaited meanwhile.
    @discardableResult
    func removeBuffered(where predicate: (Element) -> Bool) -> Int {
        condition.lock()
        defer { condition.unlock() }
        let kept = buffer[head...].filter { !predicate($0) }
        let removed = count - kept.count
        buffer = Array(kept)
        head = 0
        // Sequence numbers count elements in the buffer; keep the next one contiguous.
        sent -= removed
        return removed
    }

    /// Ends the channel: the receiver gets nil (or `error`) and buffered elements are dropped.
    func finish(throwing error: (any Error)? = nil) {
        condition.lock()
        guard !finished else { condition.unlock(); return }
        finished = true
        failure = error
        buffer.removeAll()
        head = 0
        let w = waiter
        waiter = nil
        condition.broadcast()
        condition.unlock()
        if let w {
            if let error { w.resume(throwing: error) } else { w.resume(returning: nil) }
        }
    }

    /// Receives the next element, or nil after `timeout` with nothing received.
    /// Throws ``KafkaError/Code/closed`` once the channel is finished (or its failure, if any).
    func next(timeout: Duration) async throws -> Element? {
        let deadline = ContinuousClock.now + timeout
        let token = UInt64.random(in: 1...UInt64.max)
        // The timer may fire before the receive below registers as the waiter (a zero or short
        // timeout on a busy machine); the receive then sees the deadline passed and does not wait.
        let timer = Task {
            try await Task.sleep(until: deadline)
            self.cancelWaiter(token: token)
        }
        defer { timer.cancel() }
        return try await receive(token: token, deadline: deadline, finishedIsError: true)
    }

    private var waiterToken: UInt64 = 0

    private func cancelWaiter(token: UInt64) {
        condition.lock()
        guard waiterToken == token, let w = waiter else { condition.unlock(); return }
        waiter = nil
        condition.unlock()
        w.resume(returning: nil)
    }

    /// Receives the next element; also acknowledges every element received before.
    func next() async throws -> Element? {
        try await receive(token: 0, deadline: nil, finishedIsError: false)
    }

    private func receive(token: UInt64, deadline: ContinuousClock.Instant?, finishedIsError: Bool) async throws -> Element? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Element?, any Error>) in
                condition.lock()
                acknowledged = delivered
                if count > 0 {
                    let e = buffer[head]
                    head += 1
                    if head > 1024 && head * 2 > buffer.count {
                        buffer.removeFirst(head)
                        head = 0
                    }
                    delivered += 1
                    condition.broadcast()
                    condition.unlock()
                    c.resume(returning: e)
                } else if finished {
                    let f = failure ?? (finishedIsError ? KafkaError(.closed, "the consumer is closed") : nil)
                    failure = nil
                    condition.unlock()
                    if let f { c.resume(throwing: f) } else { c.resume(returning: nil) }
                } else if Task.isCancelled || deadline.map({ ContinuousClock.now >= $0 }) == true {
                    condition.unlock()
                    c.resume(returning: nil)
                } else {
                    waiter = c
                    waiterToken = token
                    condition.broadcast()
                    condition.unlock()
                }
            }
        } onCancel: {
            condition.lock()
            let w = waiter
            waiter = nil
            condition.unlock()
            w?.resume(returning: nil)
        }
    }
}
