public import IntakeCore

extension StateRoot {
    /// A connection to this root's store (its SQLite file, or `[store] url`) as the long-running
    /// parts use it: a PostgreSQL server that stops answering is given up after
    /// `storeAnswerSeconds`, not waited for. The commands' reports open `Database(path:)` itself,
    /// which waits as long as the server takes.
    public func openDatabase(readOnly: Bool = false) throws(StoreError) -> Database {
        try Database(path: database, readOnly: readOnly, answerTimeout: storeAnswerSeconds)
    }
}
