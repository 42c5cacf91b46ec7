import ArgumentParser
import Foundation
import Logging

/// `--log-level` and `--log-format`, shared by every subcommand. Only the CLI bootstraps logging.
struct LoggingOptions: ParsableArguments {
    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical. Env: PLUTCHIK_LOG_LEVEL.")
    var logLevel: String?

    @Option(name: .long, help: "Log format on stderr: text, or json (one object per line). Env: PLUTCHIK_LOG_FORMAT.")
    var logFormat: String?

    /// Bootstraps swift-log to stderr once and returns a logger.
    func makeLogger(label: String) throws -> Logger {
        let name = logLevel ?? Settings.environment["PLUTCHIK_LOG_LEVEL"] ?? "info"
        guard let level = Logger.Level(rawValue: name.lowercased()) else {
            throw ValidationError("log level '\(name)' is not one of trace, debug, info, notice, warning, error, critical")
        }
        let format = (logFormat ?? Settings.environment["PLUTCHIK_LOG_FORMAT"] ?? "text").lowercased()
        guard format == "text" || format == "json" else {
            throw ValidationError("log format '\(format)' is not text or json")
        }
        LoggingBootstrap.once {
            LoggingSystem.bootstrap { label in
                if format == "json" { return JSONLogHandler(label: label, logLevel: level) }
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
