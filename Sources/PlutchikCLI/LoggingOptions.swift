import ArgumentParser
import Foundation
import Logging

/// `--log-level`, shared by every subcommand. Only the CLI bootstraps logging.
struct LoggingOptions: ParsableArguments {
    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical. Env: PLUTCHIK_LOG_LEVEL.")
    var logLevel: String?

    /// Bootstraps swift-log to stderr once and returns a logger.
    func makeLogger(label: String) throws -> Logger {
        let name = logLevel ?? Settings.environment["PLUTCHIK_LOG_LEVEL"] ?? "info"
        guard let level = Logger.Level(rawValue: name.lowercased()) else {
            throw ValidationError("log level '\(name)' is not one of trace, debug, info, notice, warning, error, critical")
        }
        LoggingBootstrap.once {
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }
}

enum LoggingBootstrap {
    nonisolated(unsafe) private static var done = false
    private static let lock = NSLock()
    static func once(_ body: () -> Void) {
        lock.withLock {
            if !done { body(); done = true }
        }
    }
}
