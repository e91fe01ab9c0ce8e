import IntakeCore

extension Array where Element == UInt8 {
    func ends(with suffix: [UInt8]) -> Bool { count >= suffix.count && self[(count - suffix.count)...].elementsEqual(suffix) }
}

/// Where an upload goes in the inbox (`inbox/<env>[/<meter>]/<name>`), its parts checked: each
/// becomes one path component as the client sent it, or the request is refused saying why.
struct UploadTarget: Sendable, Equatable {
    let environment: String
    let meter: String?
    let name: String

    /// The destination checked against `rules`: 404 for an unknown environment or meter, 400 for
    /// a name the daemon would not take.
    /// `askedAs` says where a missing name is given (`?name=FILE`, a field of the metadata).
    init(environment: String, meter: String?, name: String?, rules: InboxRules, askedAs: String = UploadTarget.askedInQuery) throws(APIError) {
        try rules.checkEnvironment(environment)
        let name = try Self.checkedName(name, ignoredSuffixes: rules.ignoredSuffixes, askedAs: askedAs)
        if let meter { try rules.checkMeter(meter) }
        self.environment = environment
        self.meter = meter
        self.name = name
    }

    /// The file name, checked as the daemon will see it; `ignoredSuffixes` are the suffixes it
    /// leaves alone as uploads in progress (`[watch] ignore_suffixes`).
    static func checkedName(_ name: String?, ignoredSuffixes: [String], askedAs: String = askedInQuery) throws(APIError) -> String {
        guard let name, !name.isEmpty else {
            throw APIError.badRequest("name_missing", "give the file's name: \(askedAs)")
        }
        try Self.check(name, what: "file name")
        // The daemon would never take these: say so now rather than leave the file waiting. Bytes,
        // not characters, as the daemon compares them (a combining mark does not hide a suffix).
        if Array(name.utf8).ends(with: Array(".json".utf8)) {
            throw APIError.badRequest("name_refused", "a name ending in .json is a sidecar's, not an image's")
        }
        if let suffix = ignoredSuffixes.first(where: { Array(name.utf8).ends(with: Array($0.utf8)) }) {
            throw APIError.badRequest("name_refused", "a name ending in \(suffix) is taken for an upload in progress and never processed")
        }
        return name
    }

    /// One path component: no separators, no dot names, nothing a terminal or a log line breaks on.
    static func check(_ component: String, what: String) throws(APIError) {
        if let refusal = SafeName.refusal(ofComponent: component) { throw APIError.badRequest("name_refused", "the \(what) \(refusal)") }
    }

    /// Where each way of uploading takes the file's name, for the refusal of one without.
    static let askedInQuery = "?name=FILE"
    static let askedInMetadata = "filename in Upload-Metadata (base64, as tus sends it)"
    static let askedInForm = "filename=\"FILE\" in the file part's Content-Disposition"

    /// The folder below the inbox root it goes to.
    var folder: String { meter.map { "\(environment)/\($0)" } ?? environment }
}
