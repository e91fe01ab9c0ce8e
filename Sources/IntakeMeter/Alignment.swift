#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A map from a meter's reference frame to a photo: rotation, uniform scale and shift.
///
/// `photo = (a·x − b·y + tx, b·x + a·y + ty)` for a reference point (x, y); pixel centres are at
/// whole numbers in both frames. Angles are in image coordinates (y down), so a positive angle
/// turns clockwise as seen on screen.
public struct SimilarityTransform: Sendable, Equatable {
    public var a: Double
    public var b: Double
    public var tx: Double
    public var ty: Double

    public init(a: Double, b: Double, tx: Double, ty: Double) {
        self.a = a
        self.b = b
        self.tx = tx
        self.ty = ty
    }

    /// Turns by `degrees` about `from` and moves that point to `to`.
    public init(rotationDegrees degrees: Double, scale: Double = 1, about from: (x: Double, y: Double), to: (x: Double, y: Double)) {
        let radians = degrees * .pi / 180
        a = scale * cos(radians)
        b = scale * sin(radians)
        tx = to.x - (a * from.x - b * from.y)
        ty = to.y - (b * from.x + a * from.y)
    }

    public static let identity = SimilarityTransform(a: 1, b: 0, tx: 0, ty: 0)

    /// Where the point (x, y) goes.
    public func apply(x: Double, y: Double) -> (x: Double, y: Double) {
        (a * x - b * y + tx, b * x + a * y + ty)
    }

    public var scale: Double { (a * a + b * b).squareRoot() }

    /// In (−180, 180], positive clockwise on screen.
    public var rotationDegrees: Double { atan2(b, a) * 180 / .pi }

    /// The map back; a transform of scale 0 has none and gives the identity.
    public var inverse: SimilarityTransform {
        let norm = a * a + b * b
        guard norm > 0 else { return .identity }
        let ia = a / norm, ib = -b / norm
        return SimilarityTransform(a: ia, b: ib, tx: -(ia * tx - ib * ty), ty: -(ib * tx + ia * ty))
    }

    /// `self` after `first`: the point goes through `first`, then through `self`.
    public func after(_ first: SimilarityTransform) -> SimilarityTransform {
        SimilarityTransform(
            a: a * first.a - b * first.b, b: b * first.a + a * first.b,
            tx: a * first.tx - b * first.ty + tx, ty: b * first.tx + a * first.ty + ty)
    }

    /// The least-squares similarity taking `from[i]` to `to[i]` (exact for two distinct points).
    static func fitting(from: [(x: Double, y: Double)], to: [(x: Double, y: Double)]) -> SimilarityTransform {
        let count = Double(from.count)
        let fromMean = (x: from.map(\.x).reduce(0, +) / count, y: from.map(\.y).reduce(0, +) / count)
        let toMean = (x: to.map(\.x).reduce(0, +) / count, y: to.map(\.y).reduce(0, +) / count)
        // In complex numbers: α = Σ (q − q̄)·conj(p − p̄) / Σ |p − p̄|², β = q̄ − α·p̄.
        var real = 0.0, imaginary = 0.0, spread = 0.0
        for (p, q) in zip(from, to) {
            let px = p.x - fromMean.x, py = p.y - fromMean.y
            let qx = q.x - toMean.x, qy = q.y - toMean.y
            real += qx * px + qy * py
            imaginary += qy * px - qx * py
            spread += px * px + py * py
        }
        guard spread > 0 else { return SimilarityTransform(a: 1, b: 0, tx: toMean.x - fromMean.x, ty: toMean.y - fromMean.y) }
        let a = real / spread, b = imaginary / spread
        return SimilarityTransform(a: a, b: b, tx: toMean.x - (a * fromMean.x - b * fromMean.y), ty: toMean.y - (b * fromMean.x + a * fromMean.y))
    }
}

/// How one alignment mark was found in a photo.
public struct MarkMatch: Sendable, Equatable {
    /// Normalised cross-correlation of the mark with the photo where it was found, −1…1: how sure
    /// the aligner is that it found the mark (above about 0.8 on a clear photo).
    public var score: Double
    /// The mark's centre in the photo.
    public var photoX: Double
    public var photoY: Double
    /// Distance in pixels between where the fitted transform puts the mark and where it was
    /// found: 0 with two marks (they fix the transform exactly), larger when three or more disagree.
    public var residualPixels: Double
}

/// Where a photo of a profiled meter lies against its reference frame: what `BoxSampler` cuts
/// the wheels and dials out through, and how sure the aligner is.
public struct Alignment: Sendable {
    /// Reference-frame point → photo point.
    public var referenceToPhoto: SimilarityTransform
    /// The profile's rotation, which the camera mount is known to have.
    public var initialRotationDegrees: Double
    /// What the marks add to the initial rotation, in degrees: how far the camera has turned
    /// since the profile was made (positive clockwise on screen).
    public var residualRotationDegrees: Double
    /// Photo pixels per reference pixel: above 1 when the camera has come closer.
    public var scale: Double
    /// How far, in photo pixels, the reference frame's centre lies from where the initial
    /// rotation alone would put it: how far the camera has shifted.
    public var shift: (x: Double, y: Double)
    /// One per profile mark, in the profile's order.
    public var marks: [MarkMatch]

    /// The weakest mark's score: the alignment is only as sure as its least certain mark.
    public var confidence: Double { marks.map(\.score).min() ?? 0 }

    /// Where a reference-frame point lies in the photo.
    public func photoPoint(x: Double, y: Double) -> (x: Double, y: Double) { referenceToPhoto.apply(x: x, y: y) }
}

/// The limits beyond which the aligner refuses a photo rather than risk a wrong reading.
public struct AlignmentLimits: Sendable, Equatable {
    /// Lowest normalised cross-correlation at which a mark counts as found. The demo meter's
    /// marks score 0.98 and more; pictures of other meters reach about 0.5 somewhere in the
    /// search window, so 0.7 leaves room on both sides.
    public var minimumScore: Double
    /// How far (reference pixels, each way) from its expected place a mark is searched for.
    public var searchRadius: Int
    /// Plausible scales of the photo against the reference.
    public var scaleRange: ClosedRange<Double>
    /// Largest rotation, in degrees, the marks may add to the initial rotation.
    public var maximumResidualRotationDegrees: Double

    public init(
        minimumScore: Double = 0.7, searchRadius: Int = 48, scaleRange: ClosedRange<Double> = 0.8...1.25,
        maximumResidualRotationDegrees: Double = 10
    ) {
        self.minimumScore = minimumScore
        self.searchRadius = searchRadius
        self.scaleRange = scaleRange
        self.maximumResidualRotationDegrees = maximumResidualRotationDegrees
    }
}

/// Why a photo could not be aligned, in words that say what to check; the marks' scores are kept
/// for the record.
public struct AlignmentError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: Sendable, Equatable {
        /// The mark (numbered from 1) matched nowhere in its search window as well as required.
        case markNotFound(mark: Int, bestScore: Double, minimum: Double)
        /// The marks were found, but their distance implies this scale.
        case implausibleScale(Double, allowed: ClosedRange<Double>)
        /// The marks were found, but imply this much rotation beyond the initial rotation.
        case excessiveRotation(degrees: Double, maximum: Double)
        /// The photo's size is not one a photo of this meter can have (scale limits applied to
        /// the reference frame's size).
        case photoSize(width: Int, height: Int, referenceWidth: Int, referenceHeight: Int)
    }

    public var reason: Reason
    /// Each mark's best score so far (searched marks only).
    public var scores: [Double]

    public init(reason: Reason, scores: [Double]) {
        self.reason = reason
        self.scores = scores
    }

    public var description: String {
        func text(_ value: Double, _ decimals: Int) -> String { Self.format(value, decimals: decimals) }
        switch reason {
        case .markNotFound(let mark, let best, let minimum):
            return "mark \(mark) not found (best match \(text(best, 2)) < \(text(minimum, 2))): "
                + "the camera may have moved or something hides the mark"
        case .implausibleScale(let scale, let allowed):
            return "the marks were found \(text(scale, 2))× as far apart as in the reference "
                + "(allowed \(text(allowed.lowerBound, 2))–\(text(allowed.upperBound, 2))): "
                + "the camera has moved closer or farther, or a mark matched the wrong spot"
        case .excessiveRotation(let degrees, let maximum):
            return "the marks say the photo is turned \(text(degrees, 1))° beyond the profile's initial rotation "
                + "(allowed ±\(text(maximum, 1))°): the camera has turned, or a mark matched the wrong spot"
        case .photoSize(let width, let height, let referenceWidth, let referenceHeight):
            return "the photo is \(width)×\(height) but the profile's reference is \(referenceWidth)×\(referenceHeight): "
                + "another camera setting, or another meter"
        }
    }

    /// Fixed-point text without Foundation; trailing zeros dropped (0.60 → 0.6).
    static func format(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return String(value) }
        var factor = 1.0
        for _ in 0..<decimals { factor *= 10 }
        let scaled = Int((abs(value) * factor).rounded())
        let whole = scaled / Int(factor), fraction = scaled % Int(factor)
        var text = (value < 0 && scaled != 0 ? "-" : "") + String(whole)
        if decimals > 0 && fraction != 0 {
            var digits = String(fraction)
            digits = String(repeating: "0", count: decimals - digits.count) + digits
            while digits.hasSuffix("0") { digits.removeLast() }
            text += "." + digits
        }
        return text
    }
}
