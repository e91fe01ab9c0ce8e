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
        align(photo, to: loaded, limits: limits, following: nil)
    }

    /// The same, starting from where the meter's last photo was found: when that placement is
    /// confirmed (`PlacementFollowing`) and its fit passes every check a searched fit must pass,
    /// the landmark search is skipped; otherwise the photo is searched afresh.
    static func align(
        _ photo: RGBImage, to loaded: LoadedProfile, limits: AlignmentLimits, following previous: MeterPlacement?
    ) -> Result<Alignment, AlignmentError> {
        let plane = PhotoPlane(photo, reference: loaded.reference)
        if let previous, previous.photoWidth == photo.width, previous.photoHeight == photo.height,
           let followed = follow(previous, plane, photo: photo, loaded: loaded, limits: limits)
        {
            return .success(followed)
        }
        return search(plane, photo: photo, loaded: loaded, limits: limits)
    }

    /// The photo's grey plane, reduced near the reference's size: the landmarks are then of
    /// comparable size, and the work does not grow with the camera's resolution.
    struct PhotoPlane {
        let gray: AlignGrayPlane
        /// The reduced plane's point → the photo's.
        let toFullPhoto: PlaneTransform

        init(_ photo: RGBImage, reference: AlignmentReference) {
            var gray = AlignGrayPlane(luma: photo)
            let shrink = max(1, Int(Double(max(photo.width, photo.height)) / (1.25 * Double(max(reference.width, reference.height)))))
            if shrink > 1 { gray = gray.blockAveraged(shrink) }
            self.gray = gray
            toFullPhoto = PlaneTransform([Double(shrink), 0, Double(shrink - 1) / 2, 0, Double(shrink), Double(shrink - 1) / 2, 0, 0, 1])
        }
    }

    /// The last placement confirmed on this photo and fitted afresh to the track points and marks
    /// found, when every check passes; nil sends the photo to the full search.
    private static func follow(
        _ previous: MeterPlacement, _ plane: PhotoPlane, photo: RGBImage, loaded: LoadedProfile, limits: AlignmentLimits
    ) -> Alignment? {
        let reference = loaded.reference
        guard var points = PlacementFollowing.follow(previous, in: plane.gray, reference: reference, minimumInliers: limits.minimumInliers)
        else { return nil }
        let found = points.count
        // The placement moved by however much the points say (a nudged camera moves the frame by
        // a few pixels, more than the fit's tolerance), and fitted from there.
        let start = previous.planeTransform.shifted(by: PlacementFollowing.medianDisplacement(points, from: previous.planeTransform))
        var fit = bestFit(points, from: start, frame: reference)
        guard Double(fit.inliers) >= PlacementFollowing.minimumShare * Double(reference.trackPoints.count) else { return nil }
        let marks = findMarks(loaded, in: plane.gray, through: fit.transform, limits: limits)
        // A mark not where it should be is left to the full search, which weighs what remains.
        guard marks.allSatisfy(\.used) else { return nil }
        if !marks.isEmpty {
            addMarks(marks, of: loaded, to: &points)
            fit = bestFit(points, from: fit.transform, frame: reference)
        }
        guard case .success(let alignment) = accept(
            fit, points: points, marks: marks, plane: plane, photo: photo, loaded: loaded, limits: limits, paired: found, followed: true)
        else { return nil }
        return alignment
    }

    /// The full search: landmarks paired by look, the consensus placement, then the fit.
    private static func search(_ plane: PhotoPlane, photo: RGBImage, loaded: LoadedProfile, limits: AlignmentLimits) -> Result<Alignment, AlignmentError> {
        let reference = loaded.reference
        let gray = plane.gray
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
        if let rival = search.best(others, excluding: [consensus.transform], distinctBy: 0.1 * Double(reference.width), frameCentre: reference.centre),
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
        let marks = findMarks(loaded, in: gray, through: fit.transform, limits: limits)
        if marks.contains(where: \.used) {
            addMarks(marks, of: loaded, to: &points)
            fit = bestFit(points, from: fit.transform, frame: reference)
        }
        return accept(fit, points: points, marks: marks, plane: plane, photo: photo, loaded: loaded, limits: limits, paired: pairs.count, followed: false)
    }

    /// Each profile mark searched for where `transform` puts it, in the profile's order.
    private static func findMarks(_ loaded: LoadedProfile, in gray: AlignGrayPlane, through transform: PlaneTransform, limits: AlignmentLimits) -> [MarkMatch] {
        zip(loaded.profile.marks, loaded.templates).map { mark, template in
            MarkSearch.find(template.full, at: (mark.x, mark.y), in: gray, through: transform, minimumScore: limits.minimumMarkScore)
        }
    }

    /// The found marks as correspondences. A mark is matched over its whole crop, to a fraction of
    /// a pixel: it counts as many landmarks, each of which is one corner found to about a pixel.
    private static func addMarks(_ marks: [MarkMatch], of loaded: LoadedProfile, to points: inout [(reference: (x: Double, y: Double), photo: (x: Double, y: Double))]) {
        for (mark, (found, template)) in zip(loaded.profile.marks, zip(marks, loaded.templates)) where found.used {
            let markCentre = (x: Double(mark.x) + Double(template.full.width - 1) / 2, y: Double(mark.y) + Double(template.full.height - 1) / 2)
            for _ in 0..<markWeight { points.append((markCentre, (found.photoX, found.photoY))) }
        }
    }

    /// The checks every fit must pass, however it was found, and the alignment it gives.
    private static func accept(
        _ fit: (transform: PlaneTransform, inliers: Int, residual: Double),
        points: [(reference: (x: Double, y: Double), photo: (x: Double, y: Double))], marks: [MarkMatch], plane: PhotoPlane,
        photo: RGBImage, loaded: LoadedProfile, limits: AlignmentLimits, paired: Int, followed: Bool
    ) -> Result<Alignment, AlignmentError> {
        let reference = loaded.reference
        let centre = reference.centre
        let transform = fit.transform
        let scale = transform.scale(atX: centre.x, y: centre.y)
        guard limits.scaleRange.contains(scale) else {
            return .failure(AlignmentError(reason: .implausibleScale(scale, allowed: limits.scaleRange)))
        }
        guard fit.inliers >= limits.minimumInliers else {
            return .failure(AlignmentError(reason: .tooFewLandmarks(agreeing: fit.inliers, needed: limits.minimumInliers, paired: paired)))
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
        let full = plane.toFullPhoto.after(transform)
        if let outside = firstBoxOutside(loaded.profile, through: full, width: photo.width, height: photo.height) {
            return .failure(AlignmentError(reason: outside))
        }
        let similarity = reference.similarity(to: plane.gray, through: transform)
        guard similarity >= limits.minimumSimilarity else {
            return .failure(AlignmentError(reason: .unlike(similarity: similarity, minimum: limits.minimumSimilarity)))
        }
        let photoMarks = marks.map { match in
            var match = match
            let point = plane.toFullPhoto.apply(x: match.photoX, y: match.photoY)
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
                confidence: confidence, followedLastPhoto: followed,
                placement: MeterPlacement(photoWidth: photo.width, photoHeight: photo.height, planeTransform: transform)))
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

/// Finds a profile mark (or a track point) by normalised cross-correlation near where a fit puts it.
enum MarkSearch {
    /// Reference pixels searched each way around the expected place.
    static let radius = 5

    /// The patch whose reference top-left is `expected`, searched through `transform` in `photo`;
    /// `used` when it scored at least `minimumScore`. The position is the patch's centre, photo pixels.
    static func find(_ patch: CorrelationPatch, at expected: (x: Int, y: Int), in photo: AlignGrayPlane, through transform: PlaneTransform,
                     radius: Int = radius, minimumScore: Double) -> MarkMatch
    {
        let originX = expected.x - radius, originY = expected.y - radius
        let window = AlignGrayPlane(
            width: patch.width + 2 * radius, height: patch.height + 2 * radius,
            resampling: photo, originX: originX, originY: originY, through: transform)
        let centreOffset = (x: Double(patch.width - 1) / 2, y: Double(patch.height - 1) / 2)
        guard let hit = patch.bestMatch(in: window, lefts: 0...(2 * radius), tops: 0...(2 * radius)) else {
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
