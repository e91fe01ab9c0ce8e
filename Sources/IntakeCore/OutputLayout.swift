
/// Where a job's files go under the state root, as DESIGN.md's folder contract says.
public struct OutputLayout: Sendable {
    public let root: String

    public init(root: String) { self.root = root }

    /// processed/<env>/<yyyy>/<mm>/<dd>/
    public func processedFolder(environment: String, date: CalendarDate) -> String {
        "\(root)/processed/\(environment)/\(date.year)/\(date.paddedMonth)/\(date.paddedDay)"
    }

    /// The original, bytes unchanged: processed/…/<job>-<name>
    public func original(environment: String, date: CalendarDate, job: JobID, name: String) -> String {
        "\(processedFolder(environment: environment, date: date))/\(job)-\(name)"
    }

    /// The derivative: processed/…/<job>-<stem>_<size>x<size>.jpg
    public func derivative(environment: String, date: CalendarDate, job: JobID, name: String, size: Int) -> String {
        "\(processedFolder(environment: environment, date: date))/\(job)-\(SafeName.stem(of: name))_\(size)x\(size).jpg"
    }

    /// A rotation: augmented/<env>/<angle>-degree/<job>-<stem>.jpg
    public func rotation(environment: String, angle: Int, job: JobID, name: String) -> String {
        "\(root)/augmented/\(environment)/\(angle)-degree/\(job)-\(SafeName.stem(of: name)).jpg"
    }

    /// failed/<env>/<job>-<name> and its .error.json beside it.
    public func failed(environment: String, job: JobID, name: String) -> String {
        "\(root)/failed/\(environment)/\(job)-\(name)"
    }

    /// A job's JSON sidecar (the reading its uploader claims) while the job is in the spool.
    public func spooledSidecar(job: JobID) -> String {
        "\(root)/spool/sidecars/\(job).json"
    }

    /// Where a job's sidecar is filed: beside its original, in processed/ or failed/, as
    /// `<job>-<name>.json` whatever it was called in the inbox, so it can always be found again.
    public static func filedSidecar(beside original: String) -> String {
        original + ".json"
    }
}

/// A day in UTC, which names the processed/ folders: the same on every machine and through
/// daylight-saving changes.
public struct CalendarDate: Sendable, Equatable {
    public let year: Int
    public let month: Int
    public let day: Int

    public init(year: Int, month: Int, day: Int) {
        (self.year, self.month, self.day) = (year, month, day)
    }

    /// The UTC date of a Unix time in milliseconds.
    public init(unixMilliseconds: UInt64) {
        let date = Timestamp.civilDate(fromDays: Int64(unixMilliseconds / 86_400_000))
        (year, month, day) = (Int(date.year), Int(date.month), Int(date.day))
    }

    public static var today: CalendarDate { CalendarDate(unixMilliseconds: JobID.nowMilliseconds()) }

    var paddedMonth: String { month < 10 ? "0\(month)" : "\(month)" }
    var paddedDay: String { day < 10 ? "0\(day)" : "\(day)" }
}
