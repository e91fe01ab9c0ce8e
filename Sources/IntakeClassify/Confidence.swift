#if canImport(Glibc)
import Glibc
#endif

/// Turns a measure into a confidence: a logistic curve that is 0.5 at the threshold, so a
/// threshold in the configuration means "as likely as not", and values a few widths past it
/// approach 0 or 1 without a cliff.
enum Confidence {
    /// Rises with `value`: 0.5 at `threshold`, 0.73 one `width` above it, 0.95 three widths above.
    static func above(_ value: Double, _ threshold: Double, width: Double) -> Double {
        1 / (1 + exp(-(value - threshold) / width))
    }

    /// Falls with `value`: 0.5 at `threshold`, 0.73 one `width` below it.
    static func below(_ value: Double, _ threshold: Double, width: Double) -> Double {
        above(-value, -threshold, width: width)
    }

    /// A label that needs several conditions at once is as sure as its least sure condition.
    static func all(_ confidences: Double...) -> Double {
        confidences.min() ?? 0
    }
}
