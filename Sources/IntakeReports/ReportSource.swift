public import IntakeStore
public import IntakeCore
import IntakeConfig

#if canImport(Glibc)
import Glibc
#endif

/// Why a report cannot be made: a sentence that says what to do.
public struct ReportError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Where `intake` finds the daemon's state: `--db PATH`, else `--root DIR`, else the state root
/// the configuration names (./var in a checkout). The database is opened read-only, so reports
/// run safely while intaked writes.
public struct ReportSource {
    /// The state root's layout, as the configuration describes it (a host's spool in a shared one).
    public let stateRoot: StateRoot
    public let database: Database

    public var root: String { stateRoot.path }

    /// This host's name when the store is PostgreSQL, shared by hosts: `intake retry` sends back
    /// only its own dead letters, whose files are in this root. A SQLite file (even one given by
    /// `--db`) is this root's own: every row in it is ours.
    public var host: String? { Database.isPostgreSQL(stateRoot.database) ? stateRoot.host : nil }

    /// The state root and database path the options name, whether or not the file exists yet.
    public static func locate(root: String?, databasePath: String?, configPath: String?) throws(ReportError) -> (root: String, database: String) {
        let located = try locateStateRoot(root: root, databasePath: databasePath, configPath: configPath)
        return (located.path, located.database)
    }

    static func locateStateRoot(root: String?, databasePath: String?, configPath: String?) throws(ReportError) -> StateRoot {
        let configuration = Result { try ConfigurationFile.load(explicitPath: configPath) }
        let host = (try? configuration.get())?.daemon.host
        if let databasePath, Database.isPostgreSQL(databasePath) {
            // A shared store names no folder: the state root is the one given, or the configuration's,
            // shared with other hosts as the configuration says (where `intake retry` hands files
            // back, and which lock it shares with retention, depend on it).
            let configured = try? configuration.get()
            return StateRoot(
                path: root ?? configured?.daemon.root ?? ".", store: databasePath, host: host, sharedInbox: configured?.sharesInbox ?? false)
        }
        if let databasePath { return StateRoot(path: root ?? PathText.folder(of: databasePath), store: databasePath) }
        // Without --db, the configuration's store: its [store] url, else the file in the state root.
        switch configuration {
        case .success(let configuration):
            return configuration.stateRoot(path: root)
        case .failure(let error):
            if let root { return StateRoot(path: root) }
            throw ReportError("\(error)")
        }
    }

    public init(root: String?, databasePath: String?, configPath: String?) throws(ReportError) {
        let located = try Self.locateStateRoot(root: root, databasePath: databasePath, configPath: configPath)
        let path = located.database
        guard Database.exists(at: path) else {
            throw ReportError("no database at \(PostgresURL.redacted(path)): has intaked run on this state root? Name one with --root DIR or --db PATH.")
        }
        do {
            database = try Database(path: path, readOnly: true)
        } catch {
            throw ReportError("cannot read \(PostgresURL.redacted(path)): \(error)")
        }
        if let version = try? database.storedSchemaVersion(), version < Database.schemaVersion {
            throw Self.olderSchema(at: path, version: version)
        }
        stateRoot = located
    }

    /// A store of an older schema is intaked's to migrate: commands neither read it as it is nor
    /// migrate it under a running intaked, which would then find it newer than itself.
    public static func olderSchema(at path: String, version: Int) -> ReportError {
        ReportError(
            "\(PostgresURL.redacted(path)) has schema version \(version), older than this intake's \(Database.schemaVersion): "
                + "start this version of intaked once and it migrates the database")
    }
}

extension Cell {
    /// A database value as a report cell; reals keep `decimals` places in tables.
    init(_ value: SQLValue?, decimals: Int = 1) {
        switch value {
        case .text(let text): self = .text(text)
        case .integer(let number): self = .integer(number)
        case .real(let number): self = .real(number, decimals: decimals)
        case .blob(let bytes): self = .text("<\(bytes.count) bytes>")
        case .null, nil: self = .null
        }
    }
}
