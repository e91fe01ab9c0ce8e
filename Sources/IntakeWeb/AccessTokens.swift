public import IntakeCore
import IntakePipeline
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A bearer token's name and rights. The token itself is never kept: only its SHA-256.
public struct AccessToken: Sendable, Equatable {
    public let name: String
    /// SHA-256 of the token, lowercase hex.
    let hash: String
    /// The environments it may upload to.
    public let environments: [String]
    /// Whether it may read jobs, events and files.
    public let mayRead: Bool
}

/// The tokens file: one line per token, `name<TAB>sha256<TAB>env,env<TAB>read|upload`, `#` for
/// comments. Written whole and atomically by `intake token`, read by `intake serve` whenever it
/// changes, so that a token added or removed counts at the next request.
public enum TokenFile {
    public static func read(_ path: String) throws(WholeFile.Failure) -> [AccessToken] { try parse(path).tokens }

    /// The tokens, and the numbers of the lines that are neither a token, a comment nor blank
    /// (a hand edit gone wrong): `intake token list` names them, and adding or removing a token
    /// refuses to write the file over them.
    public static func parse(_ path: String) throws(WholeFile.Failure) -> (tokens: [AccessToken], malformedLines: [Int]) {
        let bytes: [UInt8]
        do {
            bytes = try WholeFile.read(path)
        } catch where error.code == ENOENT {
            return ([], [])
        }
        var tokens: [AccessToken] = [], malformed: [Int] = []
        // Any line break: a file saved with CRLF on another machine holds the same tokens.
        for (index, line) in String(decoding: bytes, as: UTF8.self).split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            guard !line.hasPrefix("#"), !line.allSatisfy(\.isWhitespace) else { continue }
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 4, fields[1].count == 64, ["read", "upload"].contains(fields[3]) else {
                malformed.append(index + 1)
                continue
            }
            tokens.append(AccessToken(
                name: fields[0], hash: fields[1], environments: fields[2].split(separator: ",").map(String.init), mayRead: fields[3] == "read"))
        }
        return (tokens, malformed)
    }

    /// Adds a token named `name` (replacing one of that name) and returns it: shown once, kept nowhere.
    public static func add(name: String, environments: [String], mayRead: Bool, to path: String) throws -> String {
        guard !name.isEmpty, !name.contains(where: { $0 == "\t" || $0 == "\n" || $0 == "#" }) else {
            throw TokenFileError("a token's name must be non-empty, without tabs, newlines or #")
        }
        var generator = SystemRandomNumberGenerator()
        let secret = "intake_" + (0..<4).map { _ in hex64(generator.next()) }.joined()
        let token = AccessToken(name: name, hash: SHA256.hex(of: Array(secret.utf8)), environments: environments, mayRead: mayRead)
        try locked(path) {
            let kept = try writable(path).filter { $0.name != name }
            try write(kept + [token], to: path)
        }
        return secret
    }

    /// Removes the token named `name`; false when there is none.
    public static func remove(name: String, from path: String) throws -> Bool {
        try locked(path) {
            let tokens = try writable(path)
            guard tokens.contains(where: { $0.name == name }) else { return false }
            try write(tokens.filter { $0.name != name }, to: path)
            return true
        }
    }

    /// The tokens of a file about to be written over, which must hold nothing else that would be lost.
    private static func writable(_ path: String) throws -> [AccessToken] {
        let (tokens, malformed) = try parse(path)
        guard malformed.isEmpty else {
            throw TokenFileError(
                "\(path): line \(malformed.map(String.init).joined(separator: ", ")) is not a token (name, SHA-256, environments, read or upload, "
                    + "tab-separated), and writing the file would drop it: mend or remove it first")
        }
        return tokens
    }

    /// `change` with the file's lock held (`<path>.lock`, beside it): two `intake token add`s at
    /// once each wrote back what it had read, and all but one of their tokens were lost, though
    /// each had been printed.
    private static func locked<Result>(_ path: String, _ change: () throws -> Result) throws -> Result {
        guard let lock = FileLock(path: path + ".lock") else {
            throw TokenFileError("cannot lock \(path).lock: \(ErrnoText.current)")
        }
        defer { lock.release() }
        return try change()
    }

    private static func write(_ tokens: [AccessToken], to path: String) throws {
        var text = "# intake serve's bearer tokens, written by `intake token`: name, SHA-256, environments, rights.\n"
        for token in tokens {
            text += "\(token.name)\t\(token.hash)\t\(token.environments.joined(separator: ","))\t\(token.mayRead ? "read" : "upload")\n"
        }
        let folder = PathText.folder(of: path)
        // A file there already keeps its owner, group and mode, given before it is renamed into
        // place (a server reading it in between must not find it unreadable): an administrator's
        // root:intake 0640 lets intake serve (as user intake) read what `sudo intake token add`
        // wrote. A new one is readable by its owner only: the hashes are not secrets, but nobody
        // else needs them.
        var existing = stat()
        let hadOne = stat(path, &existing) == 0
        try WholeFile.write(
            Array(text.utf8), to: path, through: WholeFile.uniqueTemporary(in: folder), sync: true,
            mode: hadOne ? UInt32(existing.st_mode & 0o7777) : 0o600, owner: hadOne ? (existing.st_uid, existing.st_gid) : nil)
    }

    private static func hex64(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}

public struct TokenFileError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// The tokens `intake serve` accepts, read again whenever the file changes.
final class TokenCheck: Sendable {
    let path: String
    private struct Cache {
        var modified = timespec()
        /// The inode's change time too: a change of owner or mode alone moves only it.
        var changed = timespec()
        var size: Int64 = -1
        var byHash: [String: AccessToken] = [:]
    }
    private let cache = Mutex(Cache())

    init(path: String) {
        self.path = path
    }

    /// The token `presented` is, or nil.
    func token(_ presented: String) -> AccessToken? {
        refresh()
        let hash = SHA256.hex(of: Array(presented.utf8))
        return cache.withLock { $0.byHash[hash] }
    }

    var count: Int {
        refresh()
        return cache.withLock { $0.byHash.count }
    }

    private func refresh() {
        var status = stat()
        let found = stat(path, &status) == 0
        let changed = cache.withLock { cache in
            !found ? cache.size != -1 : (cache.modified.tv_sec != status.st_mtim.tv_sec || cache.modified.tv_nsec != status.st_mtim.tv_nsec
                || cache.changed.tv_sec != status.st_ctim.tv_sec || cache.changed.tv_nsec != status.st_ctim.tv_nsec
                || cache.size != Int64(status.st_size))
        }
        guard changed else { return }
        // A file that cannot be read now keeps the tokens read last, and is read again next time:
        // taken for a file without tokens, it shut every client out until it next changed.
        guard let tokens = try? TokenFile.read(path) else { return }
        cache.withLock { cache in
            cache.modified = found ? status.st_mtim : timespec()
            cache.changed = found ? status.st_ctim : timespec()
            cache.size = found ? Int64(status.st_size) : -1
            cache.byHash = Dictionary(tokens.map { ($0.hash, $0) }, uniquingKeysWith: { $1 })
        }
    }
}
