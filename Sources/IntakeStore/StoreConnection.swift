/// What `Database` needs of an engine's connection: run one statement with arguments and hand
/// each row over, run a script, and say how many rows the last change touched and whether a
/// transaction is open. SQLite and PostgreSQL each have one.
protocol StoreConnection: AnyObject {
    /// Runs one statement with `?`/`?N` parameters bound to `arguments`, calling `each` per row;
    /// returns the column names.
    @discardableResult
    func run(_ sql: String, _ arguments: [SQLValue], _ each: (Row) throws(StoreError) -> Void) throws(StoreError) -> [String]
    /// Runs several statements with no arguments, as a migration script does.
    func executeScript(_ sql: String) throws(StoreError)
    /// Rows the last INSERT, UPDATE or DELETE changed.
    var changes: Int { get }
    /// Whether a transaction is open now.
    var isInTransaction: Bool { get }
    /// The statement that opens an outermost transaction, taking the write lock at once where the
    /// engine has one.
    var beginStatement: String { get }
}
