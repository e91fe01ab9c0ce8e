/// Reads one TOML table as a configuration section: typed values with defaults, each checked,
/// and a record of the keys asked for so that any other key can be reported as unknown.
///
/// Requirements are phrased once per key ("a positive integer") and used for both a wrong type and
/// a value out of range, so every message reads `"section.key" must be <requirement>, got <value>`.
struct SectionReader {
    let table: TOMLTable
    /// Key path of this table from the root; empty for the root.
    let path: [String]
    let fileName: String
    /// Line that opened this section, for problems with the section as a whole; nil for the root.
    let line: Int?
    /// Keys asked for so far, in the order asked: the order the documentation lists them.
    private(set) var knownKeys: [String] = []

    init(table: TOMLTable, path: [String], fileName: String, line: Int?) {
        self.table = table
        self.path = path
        self.fileName = fileName
        self.line = line
    }

    /// The last component of the path: the section's own name.
    var name: String { path.last ?? "" }

    /// `daemon.workers` for `workers` in `[daemon]`.
    func fullKey(_ key: String) -> String {
        TOMLSyntax.render(key: path + [key])
    }

    // MARK: Typed values

    mutating func integer(
        _ key: String, default defaultValue: Int, mustBe requirement: String, where isValid: (Int) -> Bool
    ) throws(ConfigurationError) -> Int {
        guard let value = lookUp(key) else { return defaultValue }
        guard case .integer(let integer) = value, isValid(integer) else {
            throw invalid(key, mustBe: requirement, got: value)
        }
        return integer
    }

    /// A duration that must be positive and finite; integers are accepted too (`60` means 60.0).
    mutating func seconds(_ key: String, default defaultValue: Double) throws(ConfigurationError) -> Double {
        guard let value = lookUp(key) else { return defaultValue }
        let seconds: Double? =
            switch value {
            case .integer(let integer): Double(integer)
            case .float(let float): float
            default: nil
            }
        // At most a hundred years (`DurationText.longestSeconds`): more is a mistake, and overflows
        // where it is turned into whole nanoseconds or milliseconds.
        guard let seconds, seconds > 0, seconds <= DurationText.longestSeconds else {
            throw invalid(key, mustBe: "a positive number of seconds, at most a hundred years", got: value)
        }
        return seconds
    }

    /// A string converted to some other type; `convert` returns nil for strings it rejects.
    mutating func string<Value>(
        _ key: String, default defaultValue: Value, mustBe requirement: String, _ convert: (String) -> Value?
    ) throws(ConfigurationError) -> Value {
        guard let value = lookUp(key) else { return defaultValue }
        try refuseNUL(in: value, key)
        guard case .string(let string) = value, let converted = convert(string) else {
            throw invalid(key, mustBe: requirement, got: value)
        }
        return converted
    }

    /// Every string setting is a path, a command, a pattern or a name, which the system reads up
    /// to a NUL: `root = "/srv/x\u0000y"` opened /srv/x, with a bare "disk I/O error".
    private func refuseNUL(in value: TOMLValue, _ key: String) throws(ConfigurationError) {
        switch value {
        case .string(let string) where string.unicodeScalars.contains("\u{0}"):
            throw error(at: key, "\"\(fullKey(key))\" holds U+0000 (NUL), which would cut it short where it is used")
        case .array(let elements):
            for element in elements { try refuseNUL(in: element, key) }
        default:
            break
        }
    }

    mutating func string(
        _ key: String, default defaultValue: String, mustBe requirement: String,
        where isValid: (String) -> Bool = { _ in true }
    ) throws(ConfigurationError) -> String {
        try string(key, default: defaultValue, mustBe: requirement) { isValid($0) ? $0 : nil }
    }

    /// An array whose elements `convert` checks one by one; the message quotes the first bad element.
    mutating func array<Element>(
        _ key: String, default defaultValue: [Element], mustBe requirement: String, _ convert: (TOMLValue) -> Element?
    ) throws(ConfigurationError) -> [Element] {
        guard let value = lookUp(key) else { return defaultValue }
        try refuseNUL(in: value, key)
        guard case .array(let elements) = value else { throw invalid(key, mustBe: requirement, got: value) }
        var converted: [Element] = []
        for element in elements {
            guard let element = convert(element) else { throw invalid(key, mustBe: requirement, got: element) }
            converted.append(element)
        }
        return converted
    }

    // MARK: Tables

    /// The sub-table `key` as a section of its own; an absent key reads as an empty table.
    mutating func section(_ key: String) throws(ConfigurationError) -> SectionReader {
        let empty = SectionReader(table: TOMLTable(), path: path + [key], fileName: fileName, line: nil)
        guard let value = lookUp(key) else { return empty }
        guard case .table(let table) = value else {
            throw invalid(key, mustBe: "a table ([\(fullKey(key))])", got: value)
        }
        return SectionReader(table: table, path: path + [key], fileName: fileName, line: self.table.line(of: key))
    }

    /// Every key of a table whose keys are names chosen by the user, each of which must hold a table.
    func subsections(mustBe requirement: String) throws(ConfigurationError) -> [SectionReader] {
        var subsections: [SectionReader] = []
        for entry in table.entries {
            guard case .table(let subtable) = entry.value else {
                throw invalid(entry.key, mustBe: requirement, got: entry.value)
            }
            subsections.append(SectionReader(table: subtable, path: path + [entry.key], fileName: fileName, line: entry.line))
        }
        return subsections
    }

    /// Throws for the first key in file order that no reader asked for.
    func rejectUnknownKeys() throws(ConfigurationError) {
        guard let unknown = table.entries.first(where: { !knownKeys.contains($0.key) }) else { return }
        let known = knownKeys.isEmpty ? "none" : knownKeys.map { TOMLSyntax.render(key: [$0]) }.joined(separator: ", ")
        throw error(at: unknown.key, "unknown key \"\(fullKey(unknown.key))\" (known: \(known))")
    }

    // MARK: Errors

    /// An error about `key` in this section, at the line that set it.
    func error(at key: String, _ message: String) -> ConfigurationError {
        ConfigurationError(file: fileName, line: table.line(of: key) ?? line, key: fullKey(key), message: message)
    }

    /// An error about the section as a whole, at its header.
    func error(_ message: String) -> ConfigurationError {
        ConfigurationError(file: fileName, line: line, key: path.isEmpty ? nil : TOMLSyntax.render(key: path), message: message)
    }

    private func invalid(_ key: String, mustBe requirement: String, got value: TOMLValue) -> ConfigurationError {
        error(at: key, "\"\(fullKey(key))\" must be \(requirement), got \(TOMLSyntax.render(value: value))")
    }

    private mutating func lookUp(_ key: String) -> TOMLValue? {
        knownKeys.append(key)
        return table[key]
    }
}
