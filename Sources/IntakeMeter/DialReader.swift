public import IntakeCodecs

/// A dial's needle position, as read from one crop, with how far to trust it.
public struct DialReading: Sendable, Equatable {
    /// The needle's position in dial units, 0.0 ..< 10.0: its angle clockwise from 12 o'clock
    /// divided by 36°. Shown to one decimal, 9.95 and above is 0.0 of the next turn.
    public let value: Double
    /// How far to trust the reading, 0...1. Below 0.5 treat the dial as unreadable: a wrong number
    /// is worse than no number. From `DialModel`: the learned model's probability within ±0.2,
    /// adjusted by the geometry; from `DialReader` alone: how needle-like the fit was.
    public let confidence: Double

    public init(value: Double, confidence: Double) {
        self.value = value
        self.confidence = confidence
    }
}

/// Reads the needle of one analog dial (the red sub-dials of water meters) from its crop, by
/// geometry alone: no model, no training. The meter reader uses `DialModel`, which checks the
/// learned model's reading against this one.
///
/// The needle is the red shape that reaches the crop's centre (or, on dials with black needles,
/// the dark one); its pivot is the centre of its hub, nudged towards the centre of the ring of
/// numerals; its direction runs from the pivot to the tip, averaged with the shape's principal
/// axis. Crops where those estimates disagree, or where the red shape is too big, too long or
/// off-centre for a needle (ghosts of a moving needle, covers, red discs and sectors), come back
/// with a low confidence.
///
/// A thin blade on a large round hub (the demo water meter's dials: a red disc a third of the
/// crop wide, a blade a twentieth) loses its blade to the cut that separates needles from
/// numerals: only the hub is left, a stub that points nowhere. Then the blade is taken back as
/// what lies in line with the hub, the blade alone gives the axis, and the ring of marks gives
/// the face's own turn, which is subtracted.
public enum DialReader {
    /// The needle position in `crop` (roughly square, one dial, 12 o'clock up), or nil when
    /// nothing needle-like is found.
    public static func read(_ crop: RGBImage) -> DialReading? {
        guard let fit = DialFit.fit(crop) else { return nil }
        return DialReading(value: fit.value, confidence: fit.confidence)
    }
}

/// Everything the reader found in one crop; internal so that tests can look at the parts.
struct DialFit {
    var mask: DialMask
    var needle: DialNeedle
    var face: DialFace?
    /// Where the needle turns: the hub, moved a quarter of the way towards the face's centre.
    var pivotX: Double, pivotY: Double
    var value: Double
    /// How far apart the readings from the hub and from the face's centre are, in dial units.
    var pivotDisagreement: Double
    var confidence = 0.0
    /// The needle is a thin blade taken back in line with a large hub (see `recoverBlade`).
    var bladeRecovered = false

    /// How far the pivot moves from the hub towards the centre of the numerals. The hub is the
    /// better pivot for round-hubbed needles, the numerals' centre for wedge-shaped ones whose
    /// thickest part is not over the pivot; a quarter served both best on the test crops.
    static let faceWeight = 0.25
    /// Below this share of the ring's ink in the tenth harmonic, no ring of numerals was seen.
    static let minimumFaceStrength = 0.15

    /// A needle shorter than this share of the crop is a stub: its blade may have been cut off.
    static let stubLength = 0.3
    /// The blade is taken back down to this share of the red threshold (but not below
    /// `minimumBladeRedness`): a thin blade's edge pixels are paler than the hub.
    static let bladeThresholdShare: Float = 0.6
    static let minimumBladeRedness: Float = 15
    /// What the taking back added beyond the hub must lie this much within `bladeHalfAngle` of the
    /// new tip's direction: a blade does, a red ring or sector around the hub does not.
    static let minimumBladeShare = 0.8
    static let bladeHalfAngle = 0.4
    /// Past this many times the hub's radius the mask is blade, not hub.
    static let bladeMargin = 1.3
    /// The face's turn is trusted up to this (in dial units): more is a wrong fit of the marks.
    static let maximumFaceRotation = 0.1
    /// The face's centre is trusted up to this share of the crop away from the hub.
    static let maximumFaceOffset = 0.1

    static func fit(_ crop: RGBImage) -> DialFit? {
        let width = crop.width, height = crop.height
        guard width >= 16, height >= 16 else { return nil }
        guard var mask = DialMask.find(in: crop),
              var needle = DialNeedle.fit(mask: mask.mask, width: width, height: height) else { return nil }
        let size = Double(min(width, height))
        var bladeRecovered = false
        if mask.isRed, needle.length < stubLength * size, let recovered = recoverBlade(mask: mask, needle: needle) {
            mask.mask = recovered.mask
            needle = recovered.needle
            bladeRecovered = true
        }
        let ink = mask.darkness.map { max($0 - 20, 0) }
        let face = DialFace.find(
            ink: ink, excluded: DialDistance.grow(mask.mask, width: width, height: height, radius: 4),
            width: width, height: height, nearX: needle.hubX, nearY: needle.hubY, searchRadius: 0.1 * size)
        var fit = DialFit(mask: mask, needle: needle, face: face, pivotX: needle.hubX, pivotY: needle.hubY,
                          value: needle.value, pivotDisagreement: 0, bladeRecovered: bladeRecovered)
        // Without numerals (a plain face) the harmonic is noise: keep the hub.
        if let face, face.strength >= minimumFaceStrength {
            fit.pivotX = needle.hubX + faceWeight * (face.centerX - needle.hubX)
            fit.pivotY = needle.hubY + faceWeight * (face.centerY - needle.hubY)
            fit.value = needle.reading(pivotX: fit.pivotX, pivotY: fit.pivotY)
            fit.pivotDisagreement = DialAngle.distance(needle.value, needle.reading(pivotX: face.centerX, pivotY: face.centerY))
            // A thin blade's direction is exact enough for the face's own turn to matter (the
            // demo meter's reference frame is turned about 1.4°, 0.04 of a step, the same on all
            // four dials). On the labelled crops, mostly wide needles, this did not help.
            let offset = ((face.centerX - needle.hubX) * (face.centerX - needle.hubX)
                + (face.centerY - needle.hubY) * (face.centerY - needle.hubY)).squareRoot() / size
            if bladeRecovered, abs(face.rotation) <= maximumFaceRotation, offset <= maximumFaceOffset {
                fit.value = (fit.value - face.rotation + 10).truncatingRemainder(dividingBy: 10)
            }
        }
        fit.confidence = fit.judge()
        return fit
    }

    /// The thin blade that the bridge cut took off a stub's hub, given back (see
    /// `DialMask.radiallyExtended`), with the needle fitted anew and its axis measured on the
    /// blade alone; nil when nothing blade-like comes back.
    static func recoverBlade(mask: DialMask, needle: DialNeedle) -> (mask: [Bool], needle: DialNeedle)? {
        let width = mask.width, height = mask.height
        let redness = DialMask.boxBlur(mask.redness, width: width, height: height)
        let threshold = max(mask.redThreshold * bladeThresholdShare, minimumBladeRedness)
        let extended = DialMask.fillHoles(
            mask.radiallyExtended(values: redness, threshold: threshold, pivotX: needle.hubX, pivotY: needle.hubY, gap: 1.5),
            width: width, height: height)
        guard var longer = DialNeedle.fit(mask: extended, width: width, height: height), longer.length > needle.length,
              bladeShare(added: extended, original: mask.mask, width: width, height: height, needle: longer) >= minimumBladeShare
        else { return nil }
        longer.measureBlade(DialDistance.grow(extended, width: width, height: height, radius: 2), weight: mask.darkness,
                            width: width, height: height, margin: bladeMargin, halfAngle: bladeHalfAngle)
        return (extended, longer)
    }

    /// The share of the pixels that `added` has and `original` has not, beyond `bladeMargin` × the
    /// hub's radius, that lie within `bladeHalfAngle` of the needle's direction.
    static func bladeShare(added: [Bool], original: [Bool], width: Int, height: Int, needle: DialNeedle) -> Double {
        let reach = bladeMargin * needle.hubRadius
        var inside = 0.0, total = 0.0
        for y in 0..<height {
            for x in 0..<width where added[y * width + x] && !original[y * width + x] {
                let dx = Double(x) - needle.hubX, dy = Double(y) - needle.hubY
                guard dx * dx + dy * dy > reach * reach else { continue }
                total += 1
                if DialAngle.distance(DialAngle.value(dx: dx, dy: dy), needle.tipValue) <= bladeHalfAngle { inside += 1 }
            }
        }
        return total > 0 ? inside / total : 0
    }

    /// How much to trust the fit, 0...1: the weakest of several checks, each 1 for what a clean
    /// needle looks like and falling to 0 where the test crops showed readings going wrong.
    /// Every check reaches 0.5 at its limit, so `confidence >= 0.5` means every check passed.
    func judge() -> Double {
        let size = Double(min(mask.width, mask.height))
        let hubOffset = ((needle.hubX - Double(mask.width - 1) / 2) * (needle.hubX - Double(mask.width - 1) / 2)
            + (needle.hubY - Double(mask.height - 1) / 2) * (needle.hubY - Double(mask.height - 1) / 2)).squareRoot() / size
        let length = needle.length / size
        let checks = [
            // Tip and body disagree: the mask is not one straight needle (a ghost, a cover, a disc).
            Self.falling(needle.axisDisagreement, good: 0.04, limit: 0.12),
            // Hub and numerals disagree about the pivot: one of them is wrong. A needle stands
            // above its face, so where the camera looks at a dial from the side the hub is seen
            // shifted from the numerals' centre (on the demo meter by 3 to 7 pixels of 120,
            // the same on each dial in every photo); a long thin blade shows the disagreement
            // that this causes in full, without being read any worse for it.
            Self.falling(pivotDisagreement, good: 0.04, limit: bladeRecovered ? 0.15 : 0.12),
            // Another red shape of comparable size: which one is the needle is a guess.
            Self.falling(mask.strayShare, good: 0.1, limit: 0.2),
            // A needle turns about the dial's centre, which crops put near their middle.
            Self.falling(hubOffset, good: 0.06, limit: 0.1),
            // Too much red for a needle: a red disc or sector, or a colour cast.
            Self.falling(needle.areaShare, good: 0.13, limit: 0.17),
            // Longer than a dial's radius, or a stub: not the needle's true ends.
            Self.falling(length, good: 0.42, limit: 0.46),
            Self.rising(length, limit: 0.16, good: 0.2),
        ]
        return checks.min() ?? 0
    }

    /// 1 up to `good`, 0.5 at `limit`, then on down to 0.
    static func falling(_ value: Double, good: Double, limit: Double) -> Double {
        min(max(1 - 0.5 * (value - good) / (limit - good), 0), 1)
    }

    /// 0.5 at `limit`, 1 from `good` on.
    static func rising(_ value: Double, limit: Double, good: Double) -> Double {
        min(max(1 - 0.5 * (good - value) / (good - limit), 0), 1)
    }
}
