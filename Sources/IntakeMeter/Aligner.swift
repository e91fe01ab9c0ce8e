#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif
public import IntakeCodecs

/// Finds where a photo of a profiled meter lies against the profile's reference frame, or says
/// why it can't: the first step of reading a meter.
///
/// Whatever the camera did within reason (any turn, 0.6–1.6× closer or farther, shifted, tilted
/// a little, another exposure or white balance, a mark covered or out of frame), the meter's own
/// landmarks are still there: corners of its numerals and prints, the washers, the counter
/// window. Both pictures' landmarks are described by oriented binary descriptors
/// (`LandmarkDetector`), paired by look, and the one similarity most pairs agree on is found by
/// random sampling (`ConsensusSearch`). Through it every reference landmark is looked for where
/// it should be, which brings in the repeated numerals too; the profile's marks are searched by
/// correlation; and a homography is fitted to all of them when they span enough of the frame to
/// fix the tilt (a similarity otherwise). The fit is then checked: its scale, residual and tilt,
/// that every wheel and dial is in frame, and that the photo seen through it looks like the
/// reference. Any check that fails is a refusal with its reason: a wrong number is worse than
/// none.
public enum Aligner {
    /// Landmarks looked for in a photo; the reference keeps up to `AlignmentReference.landmarkCount`.
    static let photoLandmarkCount = 600
    /// Photo pixels within which a pair counts as explained by a hypothesis, then by the fit.
    static let consensusTolerance = 4.0
    static let fitTolerance = 3.0
    /// A rival placement this close to the best in support makes the fit ambiguous.
    static let rivalShare = 0.6
    /// Correspondences needed, and the share of the frame they must span, before the tilt is fitted.
    static let homographyMinimum = 24
    static let homographySpan = 0.25
    /// A homography is kept when it explains this many times the similarity's points, or as many
    /// with this share of its residual.
    static let tiltGain = (inliers: 1.1, residual: 0.8)
    /// How many landmarks one found mark counts as in the fit.
    static let markWeight = 10

    /// The alignment of `photo` (upright, any size), or the reason it was refused.
    public static func align(
        _ photo: RGBImage, to loaded: LoadedProfile, limits: AlignmentLimits = AlignmentLimits()
    ) -> Result<Alignment, AlignmentError> {
        let reference = loaded.reference
        // A photo much larger than the reference is brought near its size first: the landmarks
        // are then of comparable size, and the work does not grow with the camera's resolution.
        var gray = AlignGrayPlane(luma: photo)
        let shrink = max(1, Int(Double(max(photo.width, photo.height)) / (1.25 * Double(max(reference.width, reference.height)))))
        if shrink > 1 { gray = gray.blockAveraged(shrink) }
        let toFullPhoto = PlaneTransform([Double(shrink), 0, Double(shrink - 1) / 2, 0, Double(shrink), Double(shrink - 1) / 2, 0, 0, 1])

        let landmarks = LandmarkDetector.detect(gray, maximum: photoLandmarkCount, levels: LandmarkDetector.photoLevels)
        let pairs = LandmarkMatching.pairs(reference: reference.landmarks, photo: landmarks)
        let search = ConsensusSearch(
            tolerance: consensusTolerance,
            scales: (limits.scaleRange.lowerBound * 0.85)...(limits.scaleRange.upperBound / 0.85))
        let found = search.best(pairs)
        guard let consensus = found, consensus.inliers.count >= limits.minimumInliers else {
            let agreeing = found?.inliers.count ?? 0
            return .failure(AlignmentError(reason: .tooFewLandmarks(agreeing: agreeing, needed: limits.minimumInliers, paired: pairs.count)))
        }
        let explained = Set(consensus.inliers)
        let others = pairs.indices.filter { !explained.contains($0) }.map { pairs[$0] }
        let centre = (x: Double(reference.width - 1) / 2, y: Double(reference.height - 1) / 2)
        if let rival = search.best(others, excluding: [consensus.transform], distinctBy: 0.1 * Double(reference.width), frameCentre: centre),
            rival.inliers.count >= limits.minimumInliers, Double(rival.inliers.count) >= rivalShare * Double(consensus.inliers.count)
        {
            return .failure(AlignmentError(reason: .ambiguous(best: consensus.inliers.count, rival: rival.inliers.count)))
        }

        // A tilted camera puts the frame's far side off the similarity by tens of pixels: among
        // the pairs roughly where the similarity says, a homography may explain many more.
        let start = TiltSearch.refine(consensus.transform, pairs: pairs, tolerance: fitTolerance, frame: reference)
        // Every reference landmark looked for where the consensus puts it, then the fit.
        let guided = LandmarkMatching.guidedPairs(
            reference: reference.landmarks, photo: landmarks, through: start, radius: 2 * fitTolerance)
        var points = guided.map { (reference: $0.reference, photo: $0.photo) }
        var fit = bestFit(points, from: start, frame: reference)
        // Once more through the fit: where the camera is tilted, the similarity's guess is off
        // towards the frame's edges, and the landmarks there are only found through the tilt.
        points = LandmarkMatching.guidedPairs(
            reference: reference.landmarks, photo: landmarks, through: fit.transform, radius: 2 * fitTolerance
        ).map { (reference: $0.reference, photo: $0.photo) }
        fit = bestFit(points, from: fit.transform, frame: reference)
        // The profile's marks, found by correlation where the fit puts them, join the fit.
        let marks = zip(loaded.profile.marks, loaded.templates).map { mark, template in
            MarkSearch.find(template, at: (mark.x, mark.y), in: gray, through: fit.transform, minimumScore: limits.minimumMarkScore)
        }
        for (mark, (found, template)) in zip(loaded.profile.marks, zip(marks, loaded.templates)) where found.used {
            let markCentre = (x: Double(mark.x) + Double(template.full.width - 1) / 2, y: Double(mark.y) + Double(template.full.height - 1) / 2)
            // A mark is matched over its whole crop, to a fraction of a pixel: it counts as
            // many landmarks, each of which is one corner found to about a pixel.
            for _ in 0..<markWeight { points.append((markCentre, (found.photoX, found.photoY))) }
        }
        if marks.contains(where: \.used) { fit = bestFit(points, from: fit.transform, frame: reference) }

        let transform = fit.transform
        let scale = transform.scale(atX: centre.x, y: centre.y)
        guard limits.scaleRange.contains(scale) else {
            return .failure(AlignmentError(reason: .implausibleScale(scale, allowed: limits.scaleRange)))
        }
        guard fit.inliers >= limits.minimumInliers else {
            return .failure(AlignmentError(reason: .tooFewLandmarks(agreeing: fit.inliers, needed: limits.minimumInliers, paired: pairs.count)))
        }
        let residual = fit.residual / scale
        guard residual <= limits.maximumResidualPixels else {
            return .failure(AlignmentError(reason: .poorFit(residualPixels: residual, maximum: limits.maximumResidualPixels)))
        }
        // Over the wheels and dials, where it matters: a fit from the landmarks in the middle of
        // the frame says little of its far corners, which are often not even the meter.
        let spread = transform.perspectiveSpread(over: loaded.readingArea)
        guard spread <= limits.maximumPerspectiveSpread else {
            return .failure(AlignmentError(reason: .excessivePerspective(spread: spread, maximum: limits.maximumPerspectiveSpread)))
        }
        let full = toFullPhoto.after(transform)
        if let outside = firstBoxOutside(loaded.profile, through: full, width: photo.width, height: photo.height) {
            return .failure(AlignmentError(reason: outside))
        }
        let similarity = reference.similarity(to: gray, through: transform)
        guard similarity >= limits.minimumSimilarity else {
            return .failure(AlignmentError(reason: .unlike(similarity: similarity, minimum: limits.minimumSimilarity)))
        }
        let photoMarks = marks.map { match in
            var match = match
            let point = toFullPhoto.apply(x: match.photoX, y: match.photoY)
            (match.photoX, match.photoY) = point
            return match
        }
        let confidence = min(
            DialFit.rising(Double(fit.inliers), limit: Double(limits.minimumInliers), good: 2 * Double(limits.minimumInliers)),
            DialFit.falling(residual, good: 0.5 * limits.maximumResidualPixels, limit: limits.maximumResidualPixels),
            DialFit.rising(similarity, limit: limits.minimumSimilarity, good: min(1, limits.minimumSimilarity + 0.2)))
        return .success(
            Alignment(
                referenceToPhoto: full, rotationDegrees: transform.rotationDegrees(atX: centre.x, y: centre.y),
                scale: full.scale(atX: centre.x, y: centre.y), perspectiveSpread: spread, inliers: fit.inliers,
                correspondences: points.count, residualPixels: residual, similarity: similarity, marks: photoMarks,
                confidence: confidence))
    }

    /// The fit of reference → photo points: a similarity, refined on the points within
    /// `fitTolerance`, then a homography on them when they are many and spread enough to say how
    /// the camera is tilted. The residual is the root mean square over the inliers, photo pixels.
    static func bestFit(_ points: [(reference: (x: Double, y: Double), photo: (x: Double, y: Double))], from start: PlaneTransform,
                        frame: AlignmentReference) -> (transform: PlaneTransform, inliers: Int, residual: Double)
    {
        func error(_ transform: PlaneTransform, _ index: Int) -> Double {
            squaredDistance(transform.apply(x: points[index].reference.x, y: points[index].reference.y), points[index].photo)
        }
        func inliers(of transform: PlaneTransform) -> [Int] {
            points.indices.filter { error(transform, $0) <= fitTolerance * fitTolerance }
        }
        func rms(_ transform: PlaneTransform, _ chosen: [Int]) -> Double {
            guard !chosen.isEmpty else { return .infinity }
            return (chosen.reduce(0.0) { $0 + error(transform, $1) } / Double(chosen.count)).squareRoot()
        }
        let startChosen = inliers(of: start)
        var transform = start
        var chosen = startChosen
        for _ in 0..<3 where chosen.count >= 2 {
            transform = PlaneTransform(
                SimilarityTransform.fitting(from: chosen.map { points[$0].reference }, to: chosen.map { points[$0].photo }))
            chosen = inliers(of: transform)
        }
        var best = (transform: transform, inliers: chosen.count, residual: rms(transform, chosen))
        // The tilt from whichever explains more: the start (itself tilted, found by `TiltSearch`)
        // or the similarity, which on a tilted frame explains only a band of it.
        let seed = startChosen.count > chosen.count ? (start, startChosen) : (transform, chosen)
        guard seed.1.count >= homographyMinimum, frame.spanShare(seed.1.map { points[$0].reference }) >= homographySpan else { return best }
        var projective = seed.0
        var projectiveChosen = seed.1
        for _ in 0..<3 {
            guard let fitted = PlaneTransform.fitting(
                from: projectiveChosen.map { points[$0].reference }, to: projectiveChosen.map { points[$0].photo })
            else { return best }
            projective = fitted
            projectiveChosen = inliers(of: projective)
            guard projectiveChosen.count >= homographyMinimum else { return best }
        }
        let projectiveResidual = rms(projective, projectiveChosen)
        // The tilt is kept only where it explains clearly more points, or as many clearly more
        // closely: eight parameters always fit a little better than four, and a tilt that is not
        // there only bends the frame's edges, where the dials are.
        let explainsMore = Double(projectiveChosen.count) >= tiltGain.inliers * Double(best.inliers)
        let fitsCloser = projectiveChosen.count >= best.inliers && projectiveResidual <= tiltGain.residual * best.residual
        if explainsMore || fitsCloser {
            best = (projective, projectiveChosen.count, projectiveResidual)
        }
        return best
    }

    /// The first wheel or dial that does not lie inside the photo through `transform`: a wheel's
    /// digit window (its box less a tenth each side), a dial's round face (a circle of 0.42 of
    /// its box; a box's corners may well be off the photo when the dial is not).
    static func firstBoxOutside(_ profile: MeterProfile, through transform: PlaneTransform, width: Int, height: Int) -> AlignmentError.Reason? {
        func inPhoto(_ points: [(Double, Double)]) -> Bool {
            points.allSatisfy { point in
                let p = transform.apply(x: point.0, y: point.1)
                return p.x >= 0 && p.y >= 0 && p.x <= Double(width - 1) && p.y <= Double(height - 1)
            }
        }
        func window(_ box: Box) -> [(Double, Double)] {
            let inset = (x: 0.1 * Double(box.width), y: 0.1 * Double(box.height))
            let left = Double(box.x) + inset.x, right = Double(box.x + box.width - 1) - inset.x
            let top = Double(box.y) + inset.y, bottom = Double(box.y + box.height - 1) - inset.y
            return [(left, top), (right, top), (left, bottom), (right, bottom)]
        }
        func face(_ box: Box) -> [(Double, Double)] {
            let cx = Double(box.x) + Double(box.width - 1) / 2, cy = Double(box.y) + Double(box.height - 1) / 2
            let r = 0.42 * Double(min(box.width, box.height))
            return (0..<16).map { k in
                let angle = Double(k) * .pi / 8
                return (cx + r * cos(angle), cy + r * sin(angle))
            }
        }
        if let index = profile.wheels.firstIndex(where: { !inPhoto(window($0.box)) }) { return .outOfFrame(kind: "wheel", number: index + 1) }
        if let index = profile.dials.firstIndex(where: { !inPhoto(face($0.box)) }) { return .outOfFrame(kind: "dial", number: index + 1) }
        return nil
    }
}

/// Finds a profile mark by normalised cross-correlation near where a fit puts it.
enum MarkSearch {
    /// Reference pixels searched each way around the expected place.
    static let radius = 5

    /// The mark whose reference top-left is `expected`, searched through `transform` in `photo`;
    /// `used` when it scored at least `minimumScore`. The position is the mark's centre, photo pixels.
    static func find(_ template: MarkTemplate, at expected: (x: Int, y: Int), in photo: AlignGrayPlane, through transform: PlaneTransform,
                     minimumScore: Double) -> MarkMatch
    {
        let originX = expected.x - radius, originY = expected.y - radius
        let window = AlignGrayPlane(
            width: template.full.width + 2 * radius, height: template.full.height + 2 * radius,
            resampling: photo, originX: originX, originY: originY, through: transform)
        let centreOffset = (x: Double(template.full.width - 1) / 2, y: Double(template.full.height - 1) / 2)
        guard let hit = template.full.bestMatch(in: window, lefts: 0...(2 * radius), tops: 0...(2 * radius)) else {
            let p = transform.apply(x: Double(expected.x) + centreOffset.x, y: Double(expected.y) + centreOffset.y)
            return MarkMatch(score: 0, photoX: p.x, photoY: p.y, used: false)
        }
        // A hit on the window's edge may lie beyond it: not trusted as a position.
        let onEdge = hit.x <= 0.5 || hit.y <= 0.5 || hit.x >= Double(2 * radius) - 0.5 || hit.y >= Double(2 * radius) - 0.5
        let p = transform.apply(x: Double(originX) + hit.x + centreOffset.x, y: Double(originY) + hit.y + centreOffset.y)
        return MarkMatch(score: hit.score, photoX: p.x, photoY: p.y, used: hit.score >= minimumScore && !onEdge)
    }
}

/// Finds the tilt a similarity cannot express: a homography by random sampling of four pairs
/// among those the similarity puts within `reach` of their landmark.
enum TiltSearch {
    /// How far (photo pixels, per unit of scale) the similarity may be off for a pair to be
    /// considered: a camera tilted by 15° moves the frame's edges by about a tenth of its size.
    static let reach = 60.0
    static let iterations = 400
    /// The share of the frame four drawn pairs must span.
    static let minimumSpan = 0.02

    static func refine(_ similarity: SimilarityTransform, pairs: [LandmarkPair], tolerance: Double, frame: AlignmentReference) -> PlaneTransform {
        let start = PlaneTransform(similarity)
        let limit = reach * similarity.scale
        let near = pairs.filter { squaredDistance(similarity.apply(x: $0.reference.x, y: $0.reference.y), $0.photo) <= limit * limit }
        guard near.count >= 8 else { return start }
        func count(_ transform: PlaneTransform) -> Int {
            near.reduce(0) { total, pair in
                total + (squaredDistance(transform.apply(x: pair.reference.x, y: pair.reference.y), pair.photo) <= tolerance * tolerance ? 1 : 0)
            }
        }
        let similarityCount = count(start)
        var draws = SampleDraws(seed: 0x7117_5EA2_C400_0001 &+ UInt64(near.count))
        var best = (transform: start, count: similarityCount)
        let frameBox = Box(x: 0, y: 0, width: frame.width, height: frame.height)
        // All of them: a similarity that explains a band of a tilted frame well would stop an
        // adaptive count early, before a four-pair draw spans the tilt.
        for _ in 0..<iterations {
            var chosen: [Int] = []
            while chosen.count < 4 {
                let index = draws.below(near.count)
                if !chosen.contains(index) { chosen.append(index) }
            }
            let from = chosen.map { near[$0].reference }, to = chosen.map { near[$0].photo }
            // Four points bunched together fix no tilt.
            guard frame.spanShare(from) >= minimumSpan, let candidate = PlaneTransform.fitting(from: from, to: to),
                  candidate.perspectiveSpread(over: frameBox) <= 2
            else { continue }
            let candidateCount = count(candidate)
            if candidateCount > best.count { best = (candidate, candidateCount) }
        }
        // The tilt only where it explains clearly more than the similarity.
        return Double(best.count) >= 1.2 * Double(similarityCount) ? best.transform : start
    }
}
