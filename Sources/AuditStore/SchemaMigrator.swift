import Foundation

/// Applies `NNN_name.sql` files in name order, each once per database, each in its own
/// transaction, under an advisory lock so replicas starting together do not race.
public struct SchemaMigrator: Sendable {
    /// The directory holding the `.sql` files.
    public var directory: URL

    public init(directory: URL) {
        self.directory = directory
    }

    /// The migration files, in the order they apply.
    public func files() throws -> [URL] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw PostgresError(.migration, "cannot read migrations directory \(directory.path): \(error.localizedDescription)")
        }
        let sql = names.filter { $0.hasSuffix(".sql") }.sorted()
        guard !sql.isEmpty else { throw PostgresError(.migration, "no .sql files in \(directory.path)") }
        return sql.map { directory.appendingPathComponent($0) }
    }

    /// Applies what has not been applied yet; returns the versions it applied now. Blocks.
    @discardableResult
    public func migrate(_ connection: PostgresConnection) throws -> [String] {
        try connection.execute("""
            CREATE TABLE IF NOT EXISTS plutchik_schema_migrations (
                version text PRIMARY KEY, sha256 text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
            """)
        var applied: [String] = []
        for file in try files() {
            let version = file.deletingPathExtension().lastPathComponent
            let data: Data
            do { data = try Data(contentsOf: file) } catch {
                throw PostgresError(.migration, "cannot read \(file.path): \(error.localizedDescription)")
            }
            let sql = String(decoding: data, as: UTF8.self)
            // The server computes the checksum, so no hashing code lives here.
            let digest = try connection.query("SELECT encode(sha256(convert_to($1, 'UTF8')), 'hex')", [sql])[0][0] ?? ""
            try connection.execute("BEGIN")
            do {
                try connection.execute("SELECT pg_advisory_xact_lock(7242519)")
                let existing = try connection.query("SELECT sha256 FROM plutchik_schema_migrations WHERE version = $1", [version])
                if let row = existing.first {
                    try connection.execute("COMMIT")
                    guard row[0] == digest else {
                        throw PostgresError(.migration, "migration \(version) was applied with different contents (sha256 \(row[0] ?? "?")); migrations must not change once applied")
                    }
                    continue
                }
                try connection.execute(sql)
                try connection.query("INSERT INTO plutchik_schema_migrations (version, sha256) VALUES ($1, $2)", [version, digest])
                try connection.execute("COMMIT")
                applied.append(version)
            } catch let error as PostgresError {
                try? connection.execute("ROLLBACK")
                if error.code == .migration { throw error }
                throw PostgresError(.migration, "\(file.lastPathComponent): \(error.message)", sqlState: error.sqlState,
                                    isRetriable: error.isRetriable, cause: error)
            }
        }
        return applied
    }
}
