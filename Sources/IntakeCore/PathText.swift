/// Paths taken apart at their '/' bytes.
///
/// Swift's String operations work on Characters (grapheme clusters), and a name may start with
/// a combining mark, which joins the '/' before it into one Character that is not "/": split, or
/// searched for its last '/', such a path gives the wrong folder (a grandparent synced instead of
/// the parent, a meter folder taken for a file name). The kernel reads paths as bytes; so does
/// this.
public enum PathText {
    /// The names between the '/'s, empty ones left out: `a//b/` is `a`, `b`.
    public static func components(_ path: String) -> [String] {
        Array(path.utf8).split(separator: slash).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Everything before the last '/': `.` when there is none, `/` for a name at the root.
    public static func folder(of path: String) -> String {
        let bytes = Array(path.utf8)
        guard let last = bytes.lastIndex(of: slash) else { return "." }
        return last == 0 ? "/" : String(decoding: bytes[..<last], as: UTF8.self)
    }

    /// Everything after the last '/' (the whole path when there is none).
    public static func lastComponent(_ path: String) -> String {
        let bytes = Array(path.utf8)
        guard let last = bytes.lastIndex(of: slash) else { return path }
        return String(decoding: bytes[(last + 1)...], as: UTF8.self)
    }

    private static let slash = UInt8(ascii: "/")
}
