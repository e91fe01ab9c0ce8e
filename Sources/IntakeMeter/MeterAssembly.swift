/// One wheel or dial as read, and as settled by the position below it.
public struct PositionReading: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable { case wheel, dial }
    public var kind: Kind
    /// What a unit on this position is worth (100 for the hundreds wheel, 0.01 for the ×0.01 dial).
    public var weight: Double
    /// As read: a digit with tenths of a roll, or a needle position, 0.0 ..< 10.0.
    public var value: Double
    public var confidence: Double
    /// The whole digit it stands for once the position below has settled it.
    public var digit: Int?

    public init(kind: Kind, weight: Double, value: Double, confidence: Double, digit: Int? = nil) {
        self.kind = kind
        self.weight = weight
        self.value = value
        self.confidence = confidence
        self.digit = digit
    }
}

/// Wheels and dials put together into one value.
public struct AssembledReading: Sendable, Equatable {
    /// nil when unreadable.
    public var value: Double?
    public var positions: [PositionReading]
    /// The least sure position's confidence, lowered when positions disagree.
    public var confidence: Double
    /// Why there is no value, in words.
    public var unreadableReason: String?
}

/// Puts positions together from the least significant up. How a position moves with the one
/// below it depends on the mechanism:
/// - pointer dials, and the last wheel over the first dial, are geared: they turn continuously,
///   showing their digit plus a tenth of the lower position (`shown = digit + lower / 10`);
/// - a drum wheel over another wheel turns only while the wheel below passes from 9 to 0, like
///   an odometer (`shown = digit + max(0, lower − 9)`).
/// Either way `digit = round(shown − expected part) mod 10`. That settles a wheel caught between
/// two digits by the position below it, and the difference between what a position shows and
/// what the lower one implies measures how well the readings agree.
public enum MeterAssembler {
    /// Below this a position makes the reading unreadable: a wrong number is worse than none. A
    /// profile may ask for more (`minimum_confidence`), not for less.
    public static let minimumConfidence = 0.5
    /// How far (in digits) a position may stray from what the one below implies.
    public static let maximumDisagreement = 0.35

    /// `positions` from most to least significant; a position under `minimumConfidence` (the
    /// profile's) makes the reading unreadable.
    public static func assemble(_ positions: [PositionReading], minimumConfidence: Double = MeterAssembler.minimumConfidence) -> AssembledReading {
        guard !positions.isEmpty else { return AssembledReading(value: nil, positions: [], confidence: 0, unreadableReason: "nothing to read") }
        var settled = positions
        var lower: Double? = nil  // continuous value of the position below, 0 ..< 10
        var worstDisagreement = 0.0
        for index in settled.indices.reversed() {
            let shown = settled[index].value
            guard let below = lower else {
                // The last position keeps its tenths: they are the reading's finest part.
                settled[index].digit = Int(shown.rounded(.down)) % 10
                lower = shown
                continue
            }
            let carriedOnly = settled[index].kind == .wheel && settled[index + 1].kind == .wheel
            let moved = carriedOnly ? max(0, below - 9) : below / 10
            let digit = ((Int((shown - moved).rounded()) % 10) + 10) % 10
            worstDisagreement = max(worstDisagreement, circularDistance(Double(digit) + moved, shown))
            settled[index].digit = digit
            lower = Double(digit) + moved
        }
        let leastSure = settled.min { $0.confidence < $1.confidence }!
        let agreement = max(0, 1 - worstDisagreement / (2 * maximumDisagreement))
        let confidence = min(leastSure.confidence, agreement)
        if leastSure.confidence < minimumConfidence {
            let place = settled.firstIndex(of: leastSure)! + 1
            return AssembledReading(
                value: nil, positions: settled, confidence: confidence,
                unreadableReason: "\(leastSure.kind.rawValue) \(place) of \(settled.count) is unclear (\(format(leastSure.value)) with confidence \(format(leastSure.confidence)), under \(format(minimumConfidence)))")
        }
        if worstDisagreement > maximumDisagreement {
            return AssembledReading(
                value: nil, positions: settled, confidence: confidence,
                unreadableReason: "wheels and dials disagree by \(format(worstDisagreement)) of a digit")
        }
        var value = 0.0
        for (index, position) in settled.enumerated() {
            value += index == settled.count - 1 ? position.value * position.weight : Double(position.digit!) * position.weight
        }
        return AssembledReading(value: value, positions: settled, confidence: confidence, unreadableReason: nil)
    }

    /// Distance between two positions on a 0–10 dial.
    static func circularDistance(_ a: Double, _ b: Double) -> Double {
        let d = abs(a - b).truncatingRemainder(dividingBy: 10)
        return min(d, 10 - d)
    }

    static func format(_ value: Double) -> String {
        let tenths = Int((value * 100).rounded())
        return "\(tenths / 100).\(tenths % 100 < 10 ? "0" : "")\(tenths % 100)"
    }
}
