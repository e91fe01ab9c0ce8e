/// A manual reading: what a person read off the meter at a time.
public struct ManualReading: Sendable, Equatable {
    public let meter: String
    /// Unix milliseconds.
    public let readAt: Int64
    public let value: Double
    /// The unit the person wrote down; nil when none was, which means the meter's own.
    public let unit: String?

    public init(meter: String, readAt: Int64, value: Double, unit: String? = nil) {
        self.meter = meter
        self.readAt = readAt
        self.value = value
        self.unit = unit
    }
}

/// A reading the meter stage accepted earlier: the meter's history.
public struct AcceptedReading: Sendable, Equatable {
    public let capturedAt: Int64
    public let value: Double

    public init(capturedAt: Int64, value: Double) {
        self.capturedAt = capturedAt
        self.value = value
    }
}

/// How a reading compares with what the meter must have shown: DESIGN.md's statuses.
public enum MeterVerdictStatus: String, Sendable, Codable, CaseIterable {
    case match, mismatch, unreadable
    case noReference = "no_reference"
    case noProfile = "no_profile"
}

/// The verdict on one reading, in numbers and in words.
public struct MeterVerdict: Sendable, Equatable {
    public var status: MeterVerdictStatus
    /// The reading minus the nearest value the manual readings allow; 0 on a match.
    public var delta: Double?
    /// The manual reading it was compared with (the closer in time of the two around it).
    public var manual: ManualReading?
    public var reason: String
    /// Against the meter's accepted history; nil when nothing is wrong or there is no history.
    public var plausibility: String?
}

/// What a meter allows: its unit, how far a reading may stray, how fast it can run.
public struct MeterLimits: Sendable, Equatable {
    public var unit: String
    /// Readings within this of the allowed range match.
    public var tolerance: Double
    /// Consumption per hour above which a reading is implausible; nil when unknown.
    public var maximumRatePerHour: Double?
    /// Decimals shown in reasons.
    public var decimals: Int

    public init(unit: String, tolerance: Double, maximumRatePerHour: Double?, decimals: Int) {
        self.unit = unit
        self.tolerance = tolerance
        self.maximumRatePerHour = maximumRatePerHour
        self.decimals = decimals
    }
}

/// Judges a reading. A counter never runs backwards, so the value at the photo's time lies
/// between the manual readings before and after it (widened by the meter's maximum rate when
/// only one side is known). Each reading is judged against the manual readings and the whole
/// accepted history, never only the last value, so one rejected reading cannot lock a meter out.
public enum MeterJudge {
    public static func judge(
        value: Double, capturedAt: Int64, manual: [ManualReading], history: [AcceptedReading], limits: MeterLimits
    ) -> MeterVerdict {
        let plausibility = plausibilityProblem(value: value, capturedAt: capturedAt, history: history, limits: limits)
        let (comparable, otherUnits) = inMeterUnit(manual, limits: limits)
        // Readings taken at one time that disagree (two people, or a typo corrected by adding
        // another) both stand: the range takes in each, so neither makes a false mismatch.
        let before = latest(comparable.filter { $0.readAt <= capturedAt }, earliest: false)
        let after = latest(comparable.filter { $0.readAt >= capturedAt }, earliest: true)
        guard !before.isEmpty || !after.isEmpty else {
            let reason = otherUnits.isEmpty
                ? "no manual reading for this meter to compare with"
                : "the manual readings are in \(otherUnits.sorted().joined(separator: ", ")), "
                    + "which cannot be compared with the meter's \(limits.unit)"
            return MeterVerdict(status: .noReference, delta: nil, manual: nil, reason: reason, plausibility: plausibility)
        }
        let hoursBefore = before.first.map { Double(capturedAt - $0.readAt) / 3_600_000 }
        let hoursAfter = after.first.map { Double($0.readAt - capturedAt) / 3_600_000 }
        var lower = -Double.infinity, upper = Double.infinity
        if let least = before.map(\.value).min(), let most = before.map(\.value).max() {
            lower = least
            if after.isEmpty, let rate = limits.maximumRatePerHour, let hours = hoursBefore { upper = most + rate * hours }
        }
        if let least = after.map(\.value).min(), let most = after.map(\.value).max() {
            upper = most
            if before.isEmpty, let rate = limits.maximumRatePerHour, let hours = hoursAfter { lower = least - rate * hours }
        }
        let nearest = (before + after).min { abs($0.readAt - capturedAt) < abs($1.readAt - capturedAt) }
        var expected = describeRange(lower, upper, limits)
        for group in [before, after] where (group.map(\.value).max() ?? 0) - (group.map(\.value).min() ?? 0) > limits.tolerance {
            expected += " (manual readings taken at one time disagree: "
                + Set(group.map(\.value)).sorted().map { show($0, limits) }.joined(separator: ", ") + "; each allowed)"
        }
        if let nearest, let original = manual.first(where: { $0.readAt == nearest.readAt && $0.unit != nearest.unit }), let unit = original.unit {
            expected += " (the manual reading of \(number(original.value, limits.decimals)) \(unit) taken as \(show(nearest.value, limits)))"
        }
        if value >= lower - limits.tolerance && value <= upper + limits.tolerance {
            return MeterVerdict(
                status: .match, delta: 0, manual: nearest,
                reason: "read \(show(value, limits)), expected \(expected)", plausibility: plausibility)
        }
        let delta = value < lower ? value - lower : value - upper
        return MeterVerdict(
            status: .mismatch, delta: delta, manual: nearest,
            reason: "read \(show(value, limits)), expected \(expected): \(delta > 0 ? "+" : "")\(show(delta, limits)) off",
            plausibility: plausibility)
    }

    /// The manual readings in the meter's unit (converted where the unit written down is another
    /// of the same quantity), and the units of those that cannot be compared at all.
    static func inMeterUnit(_ manual: [ManualReading], limits: MeterLimits) -> (comparable: [ManualReading], otherUnits: Set<String>) {
        var comparable: [ManualReading] = [], otherUnits = Set<String>()
        for reading in manual {
            guard let unit = reading.unit, !unit.isEmpty, !limits.unit.isEmpty else {
                comparable.append(reading)
                continue
            }
            guard let factor = MeterUnit.factor(from: unit, to: limits.unit) else {
                otherUnits.insert(unit)
                continue
            }
            comparable.append(
                factor == 1 ? reading : ManualReading(meter: reading.meter, readAt: reading.readAt, value: reading.value * factor, unit: limits.unit))
        }
        return (comparable, otherUnits)
    }

    /// The readings at the latest (or the earliest) time among `readings`: usually one.
    private static func latest(_ readings: [ManualReading], earliest: Bool) -> [ManualReading] {
        guard let time = earliest ? readings.map(\.readAt).min() : readings.map(\.readAt).max() else { return [] }
        return readings.filter { $0.readAt == time }
    }

    /// Checks the reading against the accepted history: negative consumption, or a rate the
    /// meter cannot reach. Returns the problem in words, nil when there is none.
    static func plausibilityProblem(value: Double, capturedAt: Int64, history: [AcceptedReading], limits: MeterLimits) -> String? {
        let earlier = history.filter { $0.capturedAt < capturedAt }.max { $0.capturedAt < $1.capturedAt }
        let later = history.filter { $0.capturedAt > capturedAt }.min { $0.capturedAt < $1.capturedAt }
        if let earlier, value < earlier.value - limits.tolerance {
            return "\(show(earlier.value - value, limits)) less than the accepted reading of \(show(earlier.value, limits)) "
                + "taken before it: a counter never runs backwards"
        }
        if let later, value > later.value + limits.tolerance {
            return "\(show(value - later.value, limits)) more than the accepted reading of \(show(later.value, limits)) "
                + "taken after it: a counter never runs backwards"
        }
        if let earlier, let rate = limits.maximumRatePerHour {
            let hours = Double(capturedAt - earlier.capturedAt) / 3_600_000
            if hours > 0 {
                let used = (value - earlier.value) / hours
                if used > rate + limits.tolerance / max(hours, 1e-9) {
                    return "implies \(show(used, limits))/h since the reading of \(show(earlier.value, limits)), "
                        + "more than the meter's maximum of \(show(rate, limits))/h"
                }
            }
        }
        return nil
    }

    static func describeRange(_ lower: Double, _ upper: Double, _ limits: MeterLimits) -> String {
        switch (lower.isFinite, upper.isFinite) {
        case (true, true) where abs(upper - lower) < 1e-12: show(lower, limits)
        case (true, true): "\(number(lower, limits.decimals)) to \(show(upper, limits))"
        case (true, false): "at least \(show(lower, limits))"
        case (false, true): "at most \(show(upper, limits))"
        case (false, false): "anything"
        }
    }

    public static func show(_ value: Double, _ limits: MeterLimits) -> String {
        "\(number(value, limits.decimals)) \(limits.unit)"
    }

    /// Fixed decimals without Foundation's formatter.
    static func number(_ value: Double, _ decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        // Past 2^53 a Double has no fraction left to show, and past Int's range converting traps:
        // a manual reading of 1e300 must not stop the daemon.
        guard scaled < 9.0e15 else { return "\(value)" }
        let whole = Int(scaled / scale)
        var fraction = String(Int(scaled) - whole * Int(scale))
        while fraction.count < decimals { fraction = "0" + fraction }
        let sign = value < 0 && scaled > 0 ? "-" : ""
        return decimals == 0 ? "\(sign)\(whole)" : "\(sign)\(whole).\(fraction)"
    }
}
