public import IntakeCodecs
import IntakeCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Everything the meter stage needs, loaded once and shared by the workers: the profiles in
/// their folder (`<meter>.toml`), each loaded on first use and again whenever its file or its
/// reference image changes (a profile set up afresh after the camera moved is used from the next
/// photo on, without a restart), and the digit and dial models (`digits.weights` and
/// `dials.weights` in the same folder).
public final class MeterStation: Sendable {
    public let profilesFolder: String
    /// Each meter's reader (or why it has none), with the files it was loaded from as they were.
    private let readers = Mutex<[String: (reader: Result<MeterReader, MeterProfileError>, files: [FileVersion?])]>([:])
    private let models = Mutex<Result<(digits: DigitModel, dials: DialModel), DigitModelError>?>(nil)

    public init(profilesFolder: String) {
        self.profilesFolder = profilesFolder
    }

    /// Whether `meter` has a profile: its images are then decoded at full resolution.
    public func hasProfile(_ meter: String) -> Bool { MeterProfile.find(meter: meter, in: profilesFolder) != nil }

    /// Reads `meter` in `photo` (upright, full resolution): nil when it has no profile.
    public func read(meter: String, photo: RGBImage) -> (reading: AssembledReading, profile: MeterProfile)? {
        guard let path = MeterProfile.find(meter: meter, in: profilesFolder) else { return nil }
        switch reader(meter: meter, path: path) {
        case .success(let reader):
            return (reader.read(photo), reader.profile.profile)
        case .failure(let error):
            let profile = (try? MeterProfile.load(path: path)) ?? nil
            let reading = AssembledReading(value: nil, positions: [], confidence: 0, unreadableReason: "profile unusable: \(error)")
            return profile.map { (reading, $0) }
                ?? (reading, MeterProfile.placeholder(name: meter, path: path))
        }
    }

    /// The reader of `meter`, loaded once: nil when it has no profile, the reason when its
    /// profile or the models cannot be loaded.
    public func reader(for meter: String) -> Result<MeterReader, MeterProfileError>? {
        guard let path = MeterProfile.find(meter: meter, in: profilesFolder) else { return nil }
        return reader(meter: meter, path: path)
    }

    private func reader(meter: String, path: String) -> Result<MeterReader, MeterProfileError> {
        if let cached = readers.withLock({ $0[meter] }), cached.files == Self.versions(path: path, of: cached.reader) {
            return cached.reader
        }
        let made: Result<MeterReader, MeterProfileError>
        switch loadModels() {
        case .failure(let error):
            made = .failure(MeterProfileError(file: path, message: "a meter model cannot be loaded: \(error)"))
        case .success(let (digits, dials)):
            made = Result { () throws(MeterProfileError) in
                MeterReader(profile: try LoadedProfile.load(path: path), digits: digits, dials: dials)
            }
        }
        readers.withLock { $0[meter] = (made, Self.versions(path: path, of: made)) }
        return made
    }

    /// The versions of the files a reader was loaded from: the profile, and its reference image
    /// when the profile could be read.
    private static func versions(path: String, of reader: Result<MeterReader, MeterProfileError>) -> [FileVersion?] {
        var files = [FileVersion(path)]
        if case .success(let loaded) = reader { files.append(FileVersion(loaded.profile.profile.referencePath)) }
        return files
    }

    private func loadModels() -> Result<(digits: DigitModel, dials: DialModel), DigitModelError> {
        if let loaded = models.withLock({ $0 }) { return loaded }
        let loaded = Result { () throws(DigitModelError) -> (digits: DigitModel, dials: DialModel) in
            (try DigitModel(weightsAt: profilesFolder + "/digits.weights"), try DialModel(weightsAt: profilesFolder + "/dials.weights"))
        }
        models.withLock { $0 = loaded }
        return loaded
    }
}

extension MeterProfile {
    /// Stands for a profile that could not be read, so that a verdict can still name its unit.
    static func placeholder(name: String, path: String) -> MeterProfile {
        MeterProfile(
            name: name, path: path, referencePath: "", unit: "", decimals: 3, tolerance: 0, maximumRatePerHour: nil,
            initialRotationDegrees: 0, marks: [], wheels: [], dials: [])
    }
}

/// A meter reading and its verdict, as `intake process --json` shows it and the database keeps it.
public struct MeterReport: Sendable, Encodable {
    public var meter: String
    public var reading: Double?
    public var unit: String?
    public var confidence: Double
    public var wheels: [PositionReading]
    public var dials: [PositionReading]
    public var verdict: MeterVerdictStatus
    public var reason: String
    public var delta: Double?
    public var manualValue: Double?
    /// Unix milliseconds.
    public var manualReadAt: Int64?
    public var plausibility: String?
    public var claimed: Double?
    /// Unix milliseconds of the photo.
    public var capturedAt: Int64

    enum CodingKeys: String, CodingKey {
        case meter, reading, unit, confidence, wheels, dials, verdict, reason, delta, plausibility, claimed
        case manualValue = "manual_value", manualReadAt = "manual_read_at", capturedAt = "captured_at"
    }

    /// The verdict on what the station read (or could not).
    public init(meter: String, read: (reading: AssembledReading, profile: MeterProfile)?, capturedAt: Int64, claimed: Double?,
                manual: [ManualReading], history: [AcceptedReading]) {
        self.meter = meter
        self.capturedAt = capturedAt
        self.claimed = claimed
        guard let read else {
            (reading, unit, confidence, wheels, dials) = (nil, nil, 0, [], [])
            verdict = .noProfile
            reason = "no profile for meter \(meter)"
            return
        }
        reading = read.reading.value
        unit = read.profile.unit
        confidence = read.reading.confidence
        wheels = read.reading.positions.filter { $0.kind == .wheel }
        dials = read.reading.positions.filter { $0.kind == .dial }
        guard let value = read.reading.value else {
            verdict = .unreadable
            reason = read.reading.unreadableReason ?? "unreadable"
            return
        }
        let judged = MeterJudge.judge(value: value, capturedAt: capturedAt, manual: manual, history: history, limits: read.profile.limits)
        verdict = judged.status
        reason = judged.reason
        delta = judged.delta
        manualValue = judged.manual?.value
        manualReadAt = judged.manual?.readAt
        plausibility = judged.plausibility
        if let claimed {
            let difference = value - claimed
            reason += abs(difference) <= read.profile.tolerance
                ? "; agrees with the \(MeterJudge.show(claimed, read.profile.limits)) claimed"
                : "; the uploader claimed \(MeterJudge.show(claimed, read.profile.limits)) (\(difference > 0 ? "+" : "")\(MeterJudge.show(difference, read.profile.limits)))"
        }
    }
}
