import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A job's identity: 16 characters of lowercase Crockford base32, 48 bits of milliseconds since
/// 1970 then 32 random bits. Sorts by creation time, safe in file names, unique without a database.
///
/// Ids made by earlier versions have 14 characters and 22 random bits. They stay valid: both
/// lengths begin with the same 48 bits of milliseconds, so old and new ids still sort by creation
/// time together, and `milliseconds(of:)` reads either.
public struct JobID: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    public let rawValue: String

    private static let alphabet = Array("0123456789abcdefghjkmnpqrstvwxyz".utf8)
    /// The length of the ids `make` issues, and of those issued before the random part widened.
    public static let length = 16, legacyLength = 14
    private static let randomBits: UInt128 = 32

    public init?(_ text: String) {
        let count = text.utf8.count
        guard count == Self.length || count == Self.legacyLength, text.utf8.allSatisfy(Self.alphabet.contains) else { return nil }
        rawValue = text
    }

    /// The id that `name` begins with, followed by a '-', and where the rest of the name starts
    /// (in bytes); nil when the name does not begin so. A legacy id is followed by its '-' at
    /// index 14, which is not a base32 digit: no name is read both ways.
    public static func leading(_ name: [UInt8]) -> (id: JobID, rest: Int)? {
        for length in [Self.length, Self.legacyLength] where name.count > length + 1 && name[length] == UInt8(ascii: "-") {
            if let id = JobID(String(decoding: name[..<length], as: UTF8.self)) { return (id, length + 1) }
        }
        return nil
    }

    /// A new identifier for now, never one this process has issued before.
    ///
    /// Random bits alone are not enough: a burst claims dozens of files a millisecond, and two ids
    /// drawn alike would merge two files' records. So within a millisecond the ids count up from
    /// the first one's random draw, and a new millisecond draws afresh. The random start keeps the
    /// ids of other hosts on a shared store apart: two hosts collide only when both claim in the
    /// same millisecond and their runs of ids overlap, about (a + b) / 2³² for runs of a and b ids.
    /// With 22 bits (the legacy ids) two hosts each claiming 100 files a second would have met
    /// every two or three days; with 32, once in several years.
    ///
    /// A clock set back by a little (under `clockStepTolerance`) keeps counting on from the last
    /// id, so ids still sort as issued; set back by more (an NTP step, a restored virtual
    /// machine), the ids follow the clock again rather than stay at the old time until it catches up.
    public static func make() -> JobID {
        let drawn = value(milliseconds: nowMilliseconds(), random: UInt32.random(in: .min ... .max))
        let value = lastIssued.withLock { last in
            let lastMilliseconds = last >> randomBits, drawnMilliseconds = drawn >> randomBits
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
        (UInt128(milliseconds & 0xFFFF_FFFF_FFFF) << randomBits) | UInt128(random)
    }

    private init(value: UInt128) {
        var characters = [UInt8](repeating: 0, count: Self.length)
        var rest = value
        for i in (0..<Self.length).reversed() {
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
        // A legacy id's random part is 22 bits: 14 characters are 70 bits, 48 of them milliseconds.
        return UInt64(value >> (id.rawValue.utf8.count == legacyLength ? 22 : randomBits))
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
