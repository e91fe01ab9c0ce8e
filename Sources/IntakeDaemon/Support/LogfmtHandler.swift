public import Logging
import IntakeStore
public import Synchronization
import IntakeCore

#if canImport(Glibc)
import Glibc
#endif

/// Log lines in logfmt on standard error: `time level message key=value …`. Under systemd
/// (JOURNAL_STREAM set) the time is left to journald and each line starts with its syslog
/// priority, `<6>`, so `journalctl -p warning` works.
public struct LogfmtHandler: LogHandler {
    /// The level every handler follows, changed on reload.
    public static let sharedLevel = Mutex(Logger.Level.info)

    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let journald: Bool

    public init(label: String, journald: Bool) {
        self.label = label
        self.journald = journald
    }

    public var logLevel: Logger.Level {
        get { Self.sharedLevel.withLock { $0 } }
        set { Self.sharedLevel.withLock { $0 = newValue } }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = journald ? "<\(Self.priority(event.level))>" : "\(Timestamp.string(fromMilliseconds: Timestamp.nowMilliseconds())) \(event.level) "
        line += "\(event.message)"
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        for key in merged.keys.sorted() { line += " \(key)=\(Self.quoted("\(merged[key]!)"))" }
        line += "\n"
        // One write(2) per line: lines from several threads never interleave.
        _ = line.withCString { write(2, $0, strlen($0)) }
    }

    /// syslog priorities, as journald reads them.
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// A value bare when it is safe, else in quotes with escapes: no name breaks a line.
    static func quoted(_ value: String) -> String {
        let plain = !value.isEmpty && value.unicodeScalars.allSatisfy { $0.value > 0x20 && $0 != "\"" && $0 != "=" && $0 != "\\" && $0.value != 0x7F }
        if plain { return value }
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
