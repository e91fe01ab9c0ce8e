public import IntakeCodecs

/// Reads one analog dial crop with the learned dial model, checked against the needle's geometry.
///
/// The learned model (`dials.weights`, trained by `intake-train dials` on dials the trainer
/// renders itself: faces, numberings, red and black needles, half-disc sectors, glare, stickers,
/// tint, blur) finds the needle whatever the dial looks like; the geometric reader (`DialReader`)
/// measures a needle it recognises more finely. So:
///
/// - where the two land within 0.5 of each other, the value is their mean, the geometric reading
///   weighing two thirds; otherwise it is the geometric reader's when it found a needle-like shape
///   at all (confidence above 0) or the learned model itself is unsure (under 0.25 of its
///   probability within ±0.2), else the learned value (half-disc sectors, covers, ghosts: shapes
///   the geometry refuses);
/// - the confidence is 0.5 + half the learned model's probability within ±0.2 when both readers
///   agree within 0.3 and the geometry trusts its fit (≥ 0.3): two readers that fail differently
///   rarely agree on a wrong value. Otherwise it is that probability less 0.4: the learned model
///   alone is trusted only when 90% of its probability lies within ±0.2 of its value.
///
/// These choices were made on the tuning half of the needle crops (`NeedleHalf`); the report half
/// only measures them.
///
/// Immutable after loading: any number of threads may call `read` at once.
public final class DialModel: Sendable {
    /// The learned model (kind `.dials`).
    public let model: DigitModel

    /// The window of the model's own confidence: the tolerance the dial readings are judged by.
    public static let window = 0.2
    /// Readings below this confidence are unreadable (the assembler's `minimumConfidence`).
    public static let confidenceThreshold = MeterAssembler.minimumConfidence
    /// The geometric fit counts as a check from this confidence on.
    static let geometricTrust = 0.3
    /// Within this the two readers agree (dial units).
    static let agreement = 0.3
    /// Within this the two readings are blended, even from a fit the geometry doubts.
    static let closeEnough = 0.5
    /// Under this confidence the learned model's value is no better than a guess: on the tuning
    /// half, where the geometry doubted its own fit and the two disagreed, the geometry was right
    /// on 11 of 21 such crops and the learned model on 1. Only the best guess changes; the
    /// confidence stays under the threshold, so such a dial is still unreadable.
    static let learnedDoubt = 0.25
    /// What the learned model's own confidence loses when nothing checks it.
    static let uncheckedPenalty = 0.4
    /// The geometric value's weight where the two readers are close: they err independently, so
    /// their mean errs less than either. On the tuning half the weights 0.6 to 0.75 all did
    /// equally well (93.4–93.7% within ±0.2, against 92.5% taking the geometric value alone).
    static let geometricWeight = 2.0 / 3

    /// The weighted mean of two dial values within half a turn of each other, around the circle:
    /// 9.9 and 0.2 give about 0.1, not 5.0.
    static func blend(_ geometric: Double, _ learned: Double) -> Double {
        let offset = (learned - geometric + 15).truncatingRemainder(dividingBy: 10) - 5
        let value = (geometric + (1 - geometricWeight) * offset + 10).truncatingRemainder(dividingBy: 10)
        return value >= 10 ? 0 : value
    }

    /// Loads `dials.weights`; throws, saying why, when it is missing, corrupt or not a dial model.
    public init(weightsAt path: String) throws(DigitModelError) {
        model = try DigitModel(weightsAt: path, kind: .dials)
    }

    /// A dial model from one in memory (the trainer and the tests).
    package init(model: DigitModel) {
        precondition(model.kind == .dials)
        self.model = model
    }

    /// The needle position in `crop` (roughly square, one dial, 12 o'clock up) and its confidence.
    public func read(_ crop: RGBImage) -> DialReading {
        // A dim or colour-cast crop is evened out first (see `CropBalance`); others are untouched.
        let crop = CropBalance.balanced(crop)
        let input = UnsafeMutablePointer<Float>.allocate(capacity: model.network.input.count)
        defer { input.deallocate() }
        model.prepare(crop, into: input)
        return Self.combine(learned: learned(preprocessed: input), geometric: DialReader.read(crop))
    }

    /// The learned model's reading of a prepared input and of its mirror image, averaged: a dial
    /// mirrored left to right reads 10 − v, so the mirror's class k counts for class 100 − k. The
    /// two views err differently, and their average is steadier than either.
    package func learned(preprocessed input: UnsafePointer<Float>) -> DigitReading {
        Self.reading(learnedProbabilities(preprocessed: input))
    }

    /// The learned model's reading from its probabilities (`learnedProbabilities`).
    package static func reading(_ probabilities: [Float]) -> DigitReading {
        probabilities.withUnsafeBufferPointer { DigitDecoding.reading(from: $0, window: window) }
    }

    /// The learned model's probabilities of the 100 tenths, the crop's and its mirror's averaged
    /// (see `learned(preprocessed:)`).
    package func learnedProbabilities(preprocessed input: UnsafePointer<Float>) -> [Float] {
        let shape = model.network.input
        let mirrored = UnsafeMutablePointer<Float>.allocate(capacity: shape.count)
        defer { mirrored.deallocate() }
        for y in 0..<shape.height {
            for x in 0..<shape.width {
                let from = (y * shape.width + x) * shape.channels, to = (y * shape.width + shape.width - 1 - x) * shape.channels
                for c in 0..<shape.channels { mirrored[to + c] = input[from + c] }
            }
        }
        var probabilities = model.probabilities(preprocessed: input)
        let mirror = model.probabilities(preprocessed: mirrored)
        let classes = probabilities.count
        for k in 0..<classes { probabilities[k] = 0.5 * (probabilities[k] + mirror[(classes - k) % classes]) }
        return probabilities
    }

    /// The reading from the learned and the geometric readings (see the type's description).
    package static func combine(learned: DigitReading, geometric: DialReading?) -> DialReading {
        guard let geometric else {
            return DialReading(value: learned.value, confidence: max(0, learned.confidence - uncheckedPenalty))
        }
        let distance = DigitReading.circularDistance(learned.value, geometric.value)
        let value =
            if distance <= closeEnough { blend(geometric.value, learned.value) }
            else if geometric.confidence > 0 || learned.confidence < learnedDoubt { geometric.value }
            else { learned.value }
        let checked = geometric.confidence >= geometricTrust && distance <= agreement
        let confidence = checked ? 0.5 + 0.5 * learned.confidence : learned.confidence - uncheckedPenalty
        return DialReading(value: value, confidence: min(1, max(0, confidence)))
    }
}
