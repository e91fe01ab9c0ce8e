import Foundation
import IntakeCore

/// Something worth a person's attention, as the alert command receives it on standard input.
struct AlertEvent: Sendable, Codable, Equatable {
    enum Kind: String, Sendable, Codable, CaseIterable {
        /// A file went to failed/ for good.
        case deadLetter = "dead_letter"
        /// A meter read a value the manual readings contradict.
        case meterMismatch = "meter_mismatch"
        /// A meter could not be read several times in a row.
        case meterUnreadable = "meter_unreadable"
        /// Free space on the state root is low.
        case diskLow = "disk_low"
        /// The queue's oldest job has waited too long.
        case queueStale = "queue_stale"
    }

    var event: Kind
    /// ISO 8601 UTC.
    var at: String
    var host: String
    /// One sentence for a person.
    var message: String
    var job: String?
    var environment: String?
    /// The file as it was dropped, relative to the inbox root.
    var file: String?
    var stage: String?
    var reason: String?
    var meter: String?
    /// Numbers that go with the event: the reading and the manual value, free bytes, seconds waited.
    var values: [String: Double]?
    /// The job on `intake serve`, when `[alerts] link` names it.
    var link: String?
}

/// What one run of the alert command gets: the first event of a burst, with how many there were
/// and (up to a limit) the others, so that fifty dead letters in a second are one message.
struct AlertMessage: Encodable {
    static let listedLimit = 20

    let first: AlertEvent
    let count: Int
    let others: [AlertEvent]

    enum ExtraKeys: String, CodingKey { case count, others, omitted }

    func encode(to encoder: any Encoder) throws {
        try first.encode(to: encoder)
        var container = encoder.container(keyedBy: ExtraKeys.self)
        try container.encode(count, forKey: .count)
        let listed = Array(others.prefix(Self.listedLimit))
        try container.encode(listed, forKey: .others)
        try container.encode(count - 1 - listed.count, forKey: .omitted)
    }

    /// The JSON the command reads, cut to what a pipe holds without a reader.
    func json() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var message = self
        while true {
            let bytes = (try? [UInt8](encoder.encode(message))) ?? []
            if bytes.count < ChildRun.largestInput || message.others.isEmpty { return bytes + [UInt8(ascii: "\n")] }
            message = AlertMessage(first: first, count: count, others: Array(message.others.dropLast(max(1, message.others.count / 2))))
        }
    }
}
