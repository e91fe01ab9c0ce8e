/// What a `postgresql://` URL says about its password, read as libpq reads it: the authority
/// runs from `//` to the next `/`, `?` or `#`, its user part up to the last `@` in it; query
/// keywords are percent-decoded (libpq takes `?%70assword=` for `password=`). The configuration
/// refuses a password in a file others read, and a `--db` URL is never echoed with one.
public enum PostgresURLText {
    /// Whether `url` carries a password: `user:password@` in its authority, or a `password`
    /// keyword in its query.
    public static func holdsPassword(_ url: String) -> Bool {
        let parts = split(url)
        if let user = parts.user, user.contains(":") { return true }
        return parts.query.contains { keyword in percentDecoded(keyword.split(separator: "=", maxSplits: 1).first.map(String.init) ?? "") == "password" }
    }

    /// `url` with what a password could be put as `…`: the user part after its first `:` and
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
        if !parts.query.isEmpty { text += "?…" }
        return text
    }

    private static func split(_ url: String) -> (user: String?, hostAndPath: String, query: [Substring]) {
        guard let scheme = url.firstRange(of: "://") else { return (nil, url, []) }
        let rest = url[scheme.upperBound...]
        let queryStart = rest.firstIndex(of: "?")
        let beforeQuery = rest[..<(queryStart ?? rest.endIndex)]
        let authorityEnd = beforeQuery.firstIndex { $0 == "/" || $0 == "#" } ?? beforeQuery.endIndex
        let authority = beforeQuery[..<authorityEnd]
        let query = queryStart.map { rest[rest.index(after: $0)...].split(separator: "&") } ?? []
        guard let at = authority.lastIndex(of: "@") else { return (nil, String(beforeQuery), query) }
        return (String(authority[..<at]), String(beforeQuery[beforeQuery.index(after: at)...]), query)
    }

    /// `%XX` decoded, bytes that do not decode left as they are; lowercased, as libpq's keywords are matched.
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
