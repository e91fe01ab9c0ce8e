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

    /// The UTC date of a Unix time in milliseconds (days-from-civil, Howard Hinnant's algorithm).
    public init(unixMilliseconds: UInt64) {
        let days = Int(unixMilliseconds / 86_400_000) + 719_468
        let era = days / 146_097
        let dayOfEra = days - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        day = dayOfYear - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    }

    public static var today: CalendarDate { CalendarDate(unixMilliseconds: JobID.nowMilliseconds()) }

    var paddedMonth: String { month < 10 ? "0\(month)" : "\(month)" }
    var paddedDay: String { day < 10 ? "0\(day)" : "\(day)" }
}
