#if canImport(Glibc)
import Glibc
#endif

/// What the digit model says about one counter-wheel crop: the wheel's position and how sure it is.
///
/// `value` counts tenths of a roll: 8.7 means the wheel is 70% of the way from 8 to 9, so a wheel
/// caught between two digits is reported as such rather than forced to either.
public struct DigitReading: Sendable, Equatable {
    /// The wheel position in 0.0..<10.0 (9.9 is followed by 0.0).
    public var value: Double
    /// The probability mass within half a digit of `value`, 0...1. A clear digit, whole or
    /// mid-roll, scores near 1; an unreadable crop, or one torn between two far-apart digits, low.
    public var confidence: Double

    public init(value: Double, confidence: Double) {
        self.value = value
        self.confidence = confidence
    }

    /// The shortest distance between two wheel positions around the 10-digit circle (0…5).
    public static func circularDistance(_ a: Double, _ b: Double) -> Double {
        let d = abs(a - b).truncatingRemainder(dividingBy: 10)
        return min(d, 10 - d)
    }
}

/// Turning the network's 100 class probabilities (tenths 0.0…9.9) into a reading.
package enum DigitDecoding {
    /// The number of classes: one per tenth of a roll.
    package static let classCount = 100

    /// Where each class sits on the circle: class k at angle 2πk/100.
    private static let unitCircle: [(sine: Double, cosine: Double)] = (0..<classCount).map { k in
        let angle = 2 * Double.pi * Double(k) / Double(classCount)
        return (sin(angle), cos(angle))
    }

    /// The circular mean of `probabilities` (class k at angle 2πk/100) as the value, and the mass
    /// within ±`window` of it (±0.5 for digits, tighter for dials) as the confidence.
    ///
    /// A circular mean, not the arg-max, because the wheel is a circle (9.9 borders 0.0) and because
    /// the probability spread over neighbouring tenths carries sub-class position. The confidence
    /// window is half a digit either way: wide enough that a crisp mid-roll wheel is confident,
    /// narrow enough that a crop split between two distant digits is not.
    package static func reading(from probabilities: UnsafeBufferPointer<Float>, window: Double = 0.5) -> DigitReading {
        precondition(probabilities.count == classCount)
        var sine = 0.0, cosine = 0.0
        for k in 0..<classCount {
            sine += Double(probabilities[k]) * unitCircle[k].sine
            cosine += Double(probabilities[k]) * unitCircle[k].cosine
        }
        var value = atan2(sine, cosine) / (2 * Double.pi) * 10
        if value < 0 { value += 10 }
        if value >= 10 { value -= 10 }  // -0.0…-ε rounds up to exactly 10 after the shift.
        var mass = 0.0
        for k in 0..<classCount where DigitReading.circularDistance(Double(k) / 10, value) <= window + 1e-9 {
            mass += Double(probabilities[k])
        }
        return DigitReading(value: value, confidence: min(1, max(0, mass)))
    }
}
