import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A job's identity: 14 characters of lowercase Crockford base32, 48 bits of milliseconds since
/// 1970 then 22 random bits. Sorts by creation time, safe in file names, unique without a database.
public struct JobID: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    public let rawValue: String

    private static let alphabet = Array("0123456789abcdefghjkmnpqrstvwxyz".utf8)

    public init?(_ text: String) {
        guard text.utf8.count == 14, text.utf8.allSatisfy(Self.alphabet.contains) else { return nil }
        rawValue = text
    }

    /// A new identifier for now, never one this process has issued before.
    ///
    /// Random bits alone are not enough: a burst claims dozens of files a millisecond, and among
    /// 2,000 ids drawn with 22 random bits in a few milliseconds two are alike about once in 170
    /// bursts, which would merge two files' records. So within a millisecond the ids count up from
    /// the first one's random draw, and a new millisecond draws afresh; the random start keeps ids
    /// of other processes and hosts, issued in the same millisecond, apart as before. A clock set
    /// back by a little (under `clockStepTolerance`) keeps counting on from the last id, so ids
    /// still sort as issued; set back by more (an NTP step, a restored virtual machine), the ids
    /// follow the clock again rather than stay at the old time until it catches up.
    public static func make() -> JobID {
        let drawn = value(milliseconds: nowMilliseconds(), random: UInt32.random(in: .min ... .max))
        let value = lastIssued.withLock { last in
            let lastMilliseconds = last >> 22, drawnMilliseconds = drawn >> 22
            if drawnMilliseconds > lastMilliseconds || lastMilliseconds - drawnMilliseconds > clockStepTolerance {
                last = drawn
            } else {
                last &+= 1
            }
            return last
        }
        return JobID(value: value)
    }

    /// How far, in milliseconds, the clock may go back before ids follow it back.
    static let clockStepTolerance: UInt128 = 1_000

    /// The identifier of `milliseconds` and `random` exactly (tests, and ids of a given age):
    /// not checked against those issued.
    public static func make(milliseconds: UInt64, random: UInt32 = UInt32.random(in: .min ... .max)) -> JobID {
        JobID(value: value(milliseconds: milliseconds, random: random))
    }

    /// The last value `make()` issued in this process.
    private static let lastIssued = Mutex<UInt128>(0)

    private static func value(milliseconds: UInt64, random: UInt32) -> UInt128 {
        (UInt128(milliseconds & 0xFFFF_FFFF_FFFF) << 22) | UInt128(random & 0x3F_FFFF)
    }

    private init(value: UInt128) {
        var characters = [UInt8](repeating: 0, count: 14)
        var rest = value
        for i in (0..<14).reversed() {
            characters[i] = Self.alphabet[Int(rest & 31)]
            rest >>= 5
        }
        rawValue = String(decoding: characters, as: UTF8.self)
    }

    /// The creation time an id carries, in Unix milliseconds.
    public static func milliseconds(of id: JobID) -> UInt64? {
        var value: UInt128 = 0
        for character in id.rawValue.utf8 {
            guard let digit = alphabet.firstIndex(of: character) else { return nil }
            value = value << 5 | UInt128(digit)
        }
        return UInt64(value >> 22)
    }

    public static func nowMilliseconds() -> UInt64 { UInt64(Timestamp.nowMilliseconds()) }

    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let id = JobID(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a job id: \(text)"))
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
    public static func < (a: JobID, b: JobID) -> Bool { a.rawValue < b.rawValue }
}
