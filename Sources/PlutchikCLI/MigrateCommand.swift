import ArgumentParser
import AuditStore
import Foundation

/// `plutchik migrate`: applies the SQL migrations to `DATABASE_URL`.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Apply the PostgreSQL migrations (idempotent).")

    @OptionGroup var pipeline: PipelineOptions
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = try logging.makeLogger(label: "plutchik.migrate")
        let writer = try AuditWriter(configuration: .init(url: try pipeline.database()))
        let applied = try await writer.migrate(directory: try pipeline.migrationsDirectory())
        logger.info("migrations applied", metadata: ["db.url": "\(writer.redactedURL)", "db.applied": "\(applied)"])
        print(applied.isEmpty ? "migrate: up to date" : "migrate: applied \(applied.joined(separator: ", "))")
    }
}
