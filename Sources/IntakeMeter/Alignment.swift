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

/// How one of the profile's alignment marks was found in a photo, once the landmarks had placed it.
public struct MarkMatch: Sendable, Equatable {
    /// Normalised cross-correlation of the mark with the photo where it was found, −1…1 (above
    /// about 0.8 on a clear photo; low when the mark is covered or out of frame, and then it is
    /// left out of the fit).
    public var score: Double
    /// The mark's centre in the photo.
    public var photoX: Double
    public var photoY: Double
    /// Whether it was used in the fit (its score reached `AlignmentLimits.minimumMarkScore`).
    public var used: Bool
}

/// Where a photo of a profiled meter lies against its reference frame: what `BoxSampler` cuts
/// the wheels and dials out through, and how sure the aligner is.
public struct Alignment: Sendable {
    /// Reference-frame point → photo point.
    public var referenceToPhoto: PlaneTransform
    /// How far the camera is turned from the reference, degrees clockwise on screen, at the
    /// reference frame's centre.
    public var rotationDegrees: Double
    /// Photo pixels per reference pixel at the reference frame's centre: above 1 when the camera
    /// has come closer.
    public var scale: Double
    /// Largest local scale over the smallest across the wheels and dials: 1 for a camera square
    /// to the meter, more for one that looks at it from the side.
    public var perspectiveSpread: Double
    /// Correspondences the fit explains, and how many were tried: landmarks, and each found mark
    /// as `Aligner.markWeight` of them.
    public var inliers: Int
    public var correspondences: Int
    /// Root mean square distance, in reference pixels, between where the fit puts the inliers and
    /// where they were found.
    public var residualPixels: Double
    /// Normalised cross-correlation of the photo, seen through the fit, with the reference (the
    /// wheels and dials left out, as they move): how much the aligned photo looks like the meter.
    public var similarity: Double
    /// One per profile mark, in the profile's order.
    public var marks: [MarkMatch]
    /// How sure the aligner is, 0…1; 0.5 and above means every limit was met with room.
    public var confidence: Double
    /// Whether the photo was aligned by confirming where the meter's last photo was found (the
    /// inliers are then track points and marks), not by a full landmark search.
    public var followedLastPhoto: Bool
    /// What the next photo of the meter may start from.
    let placement: MeterPlacement

    /// Where a reference-frame point lies in the photo.
    public func photoPoint(x: Double, y: Double) -> (x: Double, y: Double) { referenceToPhoto.apply(x: x, y: y) }
}

/// The limits beyond which the aligner refuses a photo rather than risk a wrong reading.
public struct AlignmentLimits: Sendable, Equatable {
    /// Fewest correspondences the fit must explain. Photos of the demo meter give 60 to 200;
    /// another meter, or an unrelated picture, rarely more than 6 by chance.
    public var minimumInliers: Int
    /// Plausible scales of the meter in the photo against the reference (after a photo much
    /// larger than the reference is brought to its size).
    public var scaleRange: ClosedRange<Double>
    /// Largest root mean square residual of the fit, reference pixels.
    public var maximumResidualPixels: Double
    /// Lowest similarity of the aligned photo to the reference.
    public var minimumSimilarity: Double
    /// Largest perspective spread (see `Alignment.perspectiveSpread`); a camera tilted by 15°
    /// gives about 1.2.
    public var maximumPerspectiveSpread: Double
    /// Lowest normalised cross-correlation at which a profile mark counts as found.
    public var minimumMarkScore: Double

    public init(
        minimumInliers: Int = 16, scaleRange: ClosedRange<Double> = 0.6...1.6, maximumResidualPixels: Double = 2.5,
        minimumSimilarity: Double = 0.5, maximumPerspectiveSpread: Double = 1.4, minimumMarkScore: Double = 0.7
    ) {
        self.minimumInliers = minimumInliers
        self.scaleRange = scaleRange
        self.maximumResidualPixels = maximumResidualPixels
        self.minimumSimilarity = minimumSimilarity
        self.maximumPerspectiveSpread = maximumPerspectiveSpread
        self.minimumMarkScore = minimumMarkScore
    }
}

/// Why a photo could not be aligned, in words that say what to check.
public struct AlignmentError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: Sendable, Equatable {
        /// Too few of the reference's landmarks were found in agreement.
        case tooFewLandmarks(agreeing: Int, needed: Int, paired: Int)
        /// Two different placements are about as well supported: which one is right is a guess.
        case ambiguous(best: Int, rival: Int)
        /// The fit puts the meter at this scale.
        case implausibleScale(Double, allowed: ClosedRange<Double>)
        /// The fit is this far from the correspondences it explains.
        case poorFit(residualPixels: Double, maximum: Double)
        /// The fit bends the frame more than a tilted camera can.
        case excessivePerspective(spread: Double, maximum: Double)
        /// Aligned, the photo does not look like the reference.
        case unlike(similarity: Double, minimum: Double)
        /// A wheel or dial (its kind and number from 1) lies outside the photo.
        case outOfFrame(kind: String, number: Int)
    }

    public var reason: Reason

    public init(reason: Reason) {
        self.reason = reason
    }

    public var description: String {
        func text(_ value: Double, _ decimals: Int) -> String { Self.format(value, decimals: decimals) }
        switch reason {
        case .tooFewLandmarks(let agreeing, let needed, let paired):
            return "only \(agreeing) landmarks of the reference agree on where the meter is (\(needed) needed; \(paired) paired by look): "
                + "another meter, the view hidden or blurred, or the camera moved too far"
        case .ambiguous(let best, let rival):
            return "two placements of the meter fit almost as well (\(best) and \(rival) landmarks): the picture repeats itself too much to tell"
        case .implausibleScale(let scale, let allowed):
            return "the meter appears \(text(scale, 2))× its size in the reference "
                + "(allowed \(text(allowed.lowerBound, 2))–\(text(allowed.upperBound, 2))): the camera has moved much closer or farther"
        case .poorFit(let residual, let maximum):
            return "the landmarks fit no single view (residual \(text(residual, 1)) px > \(text(maximum, 1))): the meter may be warped by the lens or partly hidden"
        case .excessivePerspective(let spread, let maximum):
            return "the fit tilts the meter too far (scale varies \(text(spread, 2))× across it, allowed \(text(maximum, 2))×): the camera looks at it from the side"
        case .unlike(let similarity, let minimum):
            return "aligned, the photo does not look like the reference (similarity \(text(similarity, 2)) < \(text(minimum, 2))): another meter, or the view is hidden"
        case .outOfFrame(let kind, let number):
            return "\(kind) \(number) lies outside the photo: the camera has moved too far to read it"
        }
    }

    /// Fixed-point text without Foundation; trailing zeros dropped (0.60 → 0.6).
    static func format(_ value: Double, decimals: Int) -> String {
        var factor = 1.0
        for _ in 0..<decimals { factor *= 10 }
        // Past Int's range converting traps: an absurd fit's figures are shown as they are.
        guard value.isFinite, abs(value) * factor < 9.0e15 else { return String(value) }
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
