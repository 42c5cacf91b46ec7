import Foundation
import Testing
@testable import AuditStore

/// A fresh database per test on the PostgreSQL server that `Deploy/test.sh` starts.
/// Fails (does not skip) when no server is configured.
struct TestDatabase {
    let url: String
    let name: String

    static var serverURL: String {
        get throws {
            guard let url = ProcessInfo.processInfo.environment["PLUTCHIK_TEST_DATABASE_URL"], !url.isEmpty else {
                throw TestSetupError("PLUTCHIK_TEST_DATABASE_URL is not set: run the tests with Deploy/test.sh, which installs and starts a local PostgreSQL (Deploy/postgres.sh)")
            }
            return url
        }
    }

    static var migrations: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Schemas/postgres")
    }

    /// Creates an empty database; the name is unique to this test.
    init() throws {
        let server = try Self.serverURL
        name = "t_\(UInt32.random(in: 0...UInt32.max))"
        let admin = try PostgresConnection(url: server)
        try admin.execute("CREATE DATABASE \(name)")
        // Swap the database name at the end of the server URL.
        guard let slash = server.lastIndex(of: "/") else { throw TestSetupError("bad PLUTCHIK_TEST_DATABASE_URL \(server)") }
        url = server[..<slash] + "/" + name
    }

    /// A writer on a fresh database with the migrations applied.
    static func migratedWriter(hashTexts: Bool = false) async throws -> AuditWriter {
        let writer = try AuditWriter(configuration: .init(url: try TestDatabase().url, hashTexts: hashTexts))
        try await writer.migrate(directory: migrations)
        return writer
    }
}

struct TestSetupError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
