/// What a `postgresql://` URL says about its password, read as libpq reads it: the user part
/// runs to the first `@` that comes before the first `/` (a password may hold `?` or `#`), and
/// a password is what follows a `:` in it; query keywords (after the first `?` past the user
/// part) are percent-decoded, so that `?%70assword=` counts too. The configuration refuses a
/// password in a file others read, and a `--db` URL is never echoed with one.
public enum PostgresURLText {
    /// Whether `url` carries a password: `user:password@`, or a `password` keyword in its query
    /// (compared without case: stricter than libpq, which refuses `PASSWORD=` as unknown).
    public static func holdsPassword(_ url: String) -> Bool {
        let parts = split(url)
        if let user = parts.user, user.contains(":") { return true }
        return parts.query.contains { keyword in percentDecoded(keyword.split(separator: "=", maxSplits: 1).first.map(String.init) ?? "") == "password" }
    }

    /// `url` with what a password could be put as `…`: the user part after its first `:`, and
    /// the whole query, for messages and logs.
    public static func redacted(_ url: String) -> String {
        guard let scheme = url.firstRange(of: "://") else { return url }
        let parts = split(url)
        var text = String(url[..<scheme.upperBound])
        if let user = parts.user {
            text += user.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            text += (user.contains(":") ? ":…" : "") + "@"
        }
        text += parts.hostAndPath
        if parts.hasQuery { text += "?…" }
        return text
    }

    private static func split(_ url: String) -> (user: String?, hostAndPath: String, query: [Substring], hasQuery: Bool) {
        guard let scheme = url.firstRange(of: "://") else { return (nil, url, [], false) }
        var rest = url[scheme.upperBound...]
        var user: String?
        if let end = rest.firstIndex(where: { $0 == "@" || $0 == "/" }), rest[end] == "@" {
            user = String(rest[..<end])
            rest = rest[rest.index(after: end)...]
        }
        guard let queryStart = rest.firstIndex(of: "?") else { return (user, String(rest), [], false) }
        return (user, String(rest[..<queryStart]), rest[rest.index(after: queryStart)...].split(separator: "&"), true)
    }

    /// `%XX` decoded, bytes that do not decode left as they are; lowercased.
    private static func percentDecoded(_ text: String) -> String {
        var bytes: [UInt8] = []
        var input = Array(text.utf8)[...]
        while let byte = input.popFirst() {
            if byte == UInt8(ascii: "%"), input.count >= 2,
               let value = UInt8(String(decoding: input.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(value)
                input = input.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self).lowercased()
    }
}
