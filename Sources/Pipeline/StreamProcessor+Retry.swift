import AuditStore
import Foundation
import Kafka

// Dependency failures: retry with backoff, pause the partitions while a dependency is down,
// resume them after.

extension StreamProcessor {
    /// Retries a retriable failure with exponential backoff and jitter, without limit: a slow or
    /// absent database or broker holds the batch (and so the partitions) until it is back.
    func retrying<T: Sendable>(_ what: String, _ body: @Sendable () async throws -> T) async throws -> T {
        var attempt = 0
        var succeeded = false
        // However the retries end (also with an error that is not retried, such as a commit refused
        // because the partitions moved), the partitions paused for them are resumed.
        defer { if attempt > 0 { endRetries(what, succeeded: succeeded) } }
        while true {
            do {
                let result = try await body()
                succeeded = true
                return result
            } catch let e as PostgresError where e.isRetriable {
                attempt += 1
                failed(what, "\(e)", attempt: attempt)
            } catch let e as KafkaError where e.isRetriable && !e.isFatal {
                attempt += 1
                failed(what, "\(e)", attempt: attempt)
            }
            try await Task.sleep(for: backoff(attempt))
        }
    }

    /// A dependency failed: pause fetching, so memory stays bounded while we wait for it.
    func failed(_ what: String, _ error: String, attempt: Int) {
        metrics.retries.increment()
        lastFailure = "\(what): \(error)"
        if paused.isEmpty && !assigned.isEmpty {
            paused = Array(assigned)
            try? consumer.pause(paused)
        }
        logger.warning("dependency failed; retrying", metadata: [
            "pipeline.step": "\(what)", "error": "\(error)", "retry.attempt": "\(attempt)",
        ])
    }

    /// Retries ended: resume what ``failed(_:_:attempt:)`` paused. An error that ended them is
    /// the caller's to report.
    func endRetries(_ what: String, succeeded: Bool) {
        lastFailure = nil
        progress.dependencyRecovered()
        if !paused.isEmpty {
            consumer.resume(paused)
            paused = []
        }
        if succeeded { logger.info("dependency recovered", metadata: ["pipeline.step": "\(what)"]) }
    }

    func backoff(_ attempt: Int) -> Duration {
        let base = configuration.retryBackoff * (1 << min(attempt - 1, 6))
        return base * Double.random(in: 0.5...1.5)
    }
}
