/// Which inbox names are someone's upload still in progress, and so not ours to take yet.
/// rsync and browsers write `.name.XYZ` or `name.part` and rename when done; editors leave `name~`.
struct InboxRules: Sendable {
    let ignoredSuffixes: [[UInt8]]

    init(ignoredSuffixes: [String]) {
        self.ignoredSuffixes = ignoredSuffixes.map { Array($0.utf8) }
    }

    /// Why `name` is left alone, or nil when it is a candidate.
    func reasonToIgnore(_ name: [UInt8]) -> String? {
        if name.first == UInt8(ascii: ".") { return "a dotfile (hidden or an upload in progress)" }
        for suffix in ignoredSuffixes where name.count >= suffix.count && Array(name.suffix(suffix.count)) == suffix {
            return "a temporary name (\(String(decoding: suffix, as: UTF8.self)))"
        }
        return nil
    }
}
