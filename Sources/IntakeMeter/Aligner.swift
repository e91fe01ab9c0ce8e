#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif
public import IntakeCodecs

/// Finds where a photo of a profiled meter lies against the profile's reference frame, or says
/// why it can't: the first step of reading a meter.
///
/// The photo is turned by the profile's initial rotation about its centre into the reference
/// frame (only the windows around the marks are resampled, bilinear: nothing else is looked at).
/// Each mark is found by normalised cross-correlation on luma, first on a quarter-size pyramid
/// level over the whole search window, then at full size around the coarse hit, to a fraction of
/// a pixel. The similarity that takes the marks' reference positions to where they were found,
/// composed with the initial rotation, maps the reference frame to the photo. A second, short
/// search through that map (the marks now upright and at their size) refines it.
public enum Aligner {
    /// The alignment of `photo`, or the reason it was refused (a mark not found, an implausible
    /// scale or rotation): a refusal means "unreadable", never a guess.
    public static func align(
        _ photo: RGBImage, to loaded: LoadedProfile, limits: AlignmentLimits = AlignmentLimits()
    ) -> Result<Alignment, AlignmentError> {
        let marks = loaded.profile.marks
        let widthRatio = Double(photo.width) / Double(loaded.referenceWidth)
        let heightRatio = Double(photo.height) / Double(loaded.referenceHeight)
        guard limits.scaleRange.contains(widthRatio), limits.scaleRange.contains(heightRatio) else {
            let size = AlignmentError.Reason.photoSize(
                width: photo.width, height: photo.height, referenceWidth: loaded.referenceWidth, referenceHeight: loaded.referenceHeight)
            return .failure(AlignmentError(reason: size, scores: []))
        }
        let gray = AlignGrayPlane(luma: photo)
        let referenceCentre = (x: Double(loaded.referenceWidth - 1) / 2, y: Double(loaded.referenceHeight - 1) / 2)
        let photoCentre = (x: Double(photo.width - 1) / 2, y: Double(photo.height - 1) / 2)
        // Turning the photo by θ into the reference frame means a reference point comes from
        // the photo point turned by −θ.
        let initial = SimilarityTransform(
            rotationDegrees: -loaded.profile.initialRotationDegrees, about: referenceCentre, to: photoCentre)
        let referenceCentres = zip(marks, loaded.templates).map { mark, template in
            (x: Double(mark.x) + Double(template.full.width - 1) / 2, y: Double(mark.y) + Double(template.full.height - 1) / 2)
        }

        // Pass 1: coarse to fine through the initial rotation alone.
        var scores: [Double] = []
        var found: [(x: Double, y: Double)] = []
        for (index, (mark, template)) in zip(marks, loaded.templates).enumerated() {
            let radius = limits.searchRadius
            let match = search(
                template, around: (mark.x, mark.y), radius: radius, coarse: true, in: gray, through: initial)
            scores.append(match.score)
            guard match.score >= limits.minimumScore else {
                return .failure(
                    AlignmentError(reason: .markNotFound(mark: index + 1, bestScore: match.score, minimum: limits.minimumScore), scores: scores))
            }
            found.append(initial.apply(x: match.x + Double(template.full.width - 1) / 2, y: match.y + Double(template.full.height - 1) / 2))
        }
        var transform = SimilarityTransform.fitting(from: referenceCentres, to: found)
        if let problem = implausibility(of: transform, initial: initial, limits: limits) {
            return .failure(AlignmentError(reason: problem, scores: scores))
        }

        // Pass 2: a short full-size search through the fitted map, where the marks stand upright.
        scores = []
        found = []
        for (index, (mark, template)) in zip(marks, loaded.templates).enumerated() {
            let match = search(template, around: (mark.x, mark.y), radius: 3, coarse: false, in: gray, through: transform)
            scores.append(match.score)
            guard match.score >= limits.minimumScore else {
                return .failure(
                    AlignmentError(reason: .markNotFound(mark: index + 1, bestScore: match.score, minimum: limits.minimumScore), scores: scores))
            }
            found.append(transform.apply(x: match.x + Double(template.full.width - 1) / 2, y: match.y + Double(template.full.height - 1) / 2))
        }
        transform = SimilarityTransform.fitting(from: referenceCentres, to: found)
        if let problem = implausibility(of: transform, initial: initial, limits: limits) {
            return .failure(AlignmentError(reason: problem, scores: scores))
        }

        let matches = zip(zip(referenceCentres, found), scores).map { pair, score in
            let (reference, photoPoint) = pair
            let fitted = transform.apply(x: reference.x, y: reference.y)
            let residual = ((fitted.x - photoPoint.x) * (fitted.x - photoPoint.x) + (fitted.y - photoPoint.y) * (fitted.y - photoPoint.y))
                .squareRoot()
            return MarkMatch(score: score, photoX: photoPoint.x, photoY: photoPoint.y, residualPixels: residual)
        }
        let centre = transform.apply(x: referenceCentre.x, y: referenceCentre.y)
        return .success(
            Alignment(
                referenceToPhoto: transform, initialRotationDegrees: loaded.profile.initialRotationDegrees,
                residualRotationDegrees: residualRotation(of: transform, initial: initial), scale: transform.scale,
                shift: (centre.x - photoCentre.x, centre.y - photoCentre.y), marks: matches))
    }

    /// The best place of a mark whose reference top-left is `expected`, searched within `radius`
    /// reference pixels each way, in the photo seen through `transform`. Returns the top-left in
    /// reference coordinates.
    private static func search(
        _ template: MarkTemplate, around expected: (x: Int, y: Int), radius: Int, coarse: Bool,
        in photo: AlignGrayPlane, through transform: SimilarityTransform
    ) -> (x: Double, y: Double, score: Double) {
        // The fine step looks a few pixels past the coarse hit, so the window has that margin too.
        let margin = coarse ? 4 : 0
        let originX = expected.x - radius - margin, originY = expected.y - radius - margin
        let window = AlignGrayPlane(
            width: template.full.width + 2 * (radius + margin), height: template.full.height + 2 * (radius + margin),
            resampling: photo, originX: originX, originY: originY, through: transform)
        var centre = (x: radius + margin, y: radius + margin)
        if coarse {
            // Quarter-size block (i, j) covers window pixels 4i…4i+3: a hit at i means about 4i.
            let small = window.quarter()
            if let hit = template.quarter.bestMatch(in: small, lefts: 0...small.width, tops: 0...small.height) {
                centre = (Int(hit.x.rounded()) * 4, Int(hit.y.rounded()) * 4)
            }
        }
        let reach = coarse ? 4 : radius
        guard
            let hit = template.full.bestMatch(
                in: window, lefts: (centre.x - reach)...(centre.x + reach), tops: (centre.y - reach)...(centre.y + reach))
        else { return (Double(expected.x), Double(expected.y), 0) }
        return (Double(originX) + hit.x, Double(originY) + hit.y, hit.score)
    }

    private static func residualRotation(of transform: SimilarityTransform, initial: SimilarityTransform) -> Double {
        var degrees = transform.rotationDegrees - initial.rotationDegrees
        while degrees > 180 { degrees -= 360 }
        while degrees <= -180 { degrees += 360 }
        return degrees
    }

    private static func implausibility(
        of transform: SimilarityTransform, initial: SimilarityTransform, limits: AlignmentLimits
    ) -> AlignmentError.Reason? {
        if !limits.scaleRange.contains(transform.scale) {
            return .implausibleScale(transform.scale, allowed: limits.scaleRange)
        }
        let residual = residualRotation(of: transform, initial: initial)
        if abs(residual) > limits.maximumResidualRotationDegrees {
            return .excessiveRotation(degrees: residual, maximum: limits.maximumResidualRotationDegrees)
        }
        return nil
    }
}
