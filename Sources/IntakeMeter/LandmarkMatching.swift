import CKernels
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A reference landmark paired with a photo landmark.
struct LandmarkPair: Sendable {
    var reference: (x: Double, y: Double)
    var photo: (x: Double, y: Double)
    /// The photo landmark's orientation minus the reference landmark's, as a unit vector: a true
    /// pair turns by the camera's turn.
    var turn: (cos: Double, sin: Double)

    init(_ reference: Landmark, _ photo: Landmark) {
        self.reference = (reference.x, reference.y)
        self.photo = (photo.x, photo.y)
        let turnRadians = photo.angle - reference.angle
        turn = (cos(turnRadians), sin(turnRadians))
    }
}

/// The draws of the random-sampling searches: a fixed-seed linear congruential sequence, so a
/// photo is always aligned the same way.
struct SampleDraws {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    /// The next index below `bound`.
    mutating func below(_ bound: Int) -> Int {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Int((state >> 33) % UInt64(bound))
    }
}

/// Pairs the landmarks of a photo with those of the reference, and finds the one transform most
/// pairs agree on (RANSAC over similarities, each drawn from two pairs), then the pairs that
/// transform explains.
enum LandmarkMatching {
    /// Descriptors further apart than this are not the same point (of 256 bits; unrelated ones
    /// differ in about 128).
    static let maximumDistance = 64
    /// A pair is kept only when the best reference landmark is this much closer than the second
    /// best (Lowe's ratio test): the numerals repeat on every dial, and a numeral that matches
    /// four places says nothing until the transform is known.
    static let ratio = 0.85

    /// For each photo landmark, its nearest reference landmark when that one is clearly the nearest.
    static func pairs(reference: LandmarkSet, photo: LandmarkSet) -> [LandmarkPair] {
        let nearest = Self.nearest(reference: reference, photo: photo)
        var pairs: [LandmarkPair] = []
        for i in 0..<photo.count {
            let (bestIndex, best, second) = (Int(nearest.index[i]), Int(nearest.best[i]), Int(nearest.second[i]))
            guard bestIndex >= 0, best <= maximumDistance, Double(best) < ratio * Double(second) else { continue }
            pairs.append(LandmarkPair(reference.landmarks[bestIndex], photo.landmarks[i]))
        }
        return pairs
    }

    /// Whether the descriptors are compared with the processor's POPCNT (`CKernels`).
    static let hasPOPCNT = intake_has_popcnt()

    /// For each photo landmark, the nearest reference landmark by descriptor (−1 when there is
    /// none), its Hamming distance and the next nearest's (`Int32.max` when missing); the first
    /// of equals wins. With POPCNT where the processor has it, the same answers in Swift otherwise.
    static func nearest(reference: LandmarkSet, photo: LandmarkSet, usingPOPCNT: Bool = hasPOPCNT)
        -> (index: [Int32], best: [Int32], second: [Int32])
    {
        var index = [Int32](repeating: -1, count: photo.count)
        var best = [Int32](repeating: .max, count: photo.count), second = best
        reference.descriptors.withUnsafeBufferPointer { r in
            photo.descriptors.withUnsafeBufferPointer { p in
                if usingPOPCNT {
                    intake_hamming_nearest_popcnt(p.baseAddress, Int32(photo.count), r.baseAddress, Int32(reference.count), &index, &best, &second)
                    return
                }
                for i in 0..<photo.count {
                    let a = p.baseAddress! + 4 * i
                    var nearest = Int32.max, next = Int32.max, nearestIndex: Int32 = -1
                    for j in 0..<reference.count {
                        let b = r.baseAddress! + 4 * j
                        let distance = Int32(
                            (a[0] ^ b[0]).nonzeroBitCount + (a[1] ^ b[1]).nonzeroBitCount + (a[2] ^ b[2]).nonzeroBitCount
                                + (a[3] ^ b[3]).nonzeroBitCount)
                        if distance < nearest {
                            next = nearest
                            nearest = distance
                            nearestIndex = Int32(j)
                        } else if distance < next {
                            next = distance
                        }
                    }
                    (index[i], best[i], second[i]) = (nearestIndex, nearest, next)
                }
            }
        }
        return (index, best, second)
    }

    /// Every (reference, photo) pair whose photo landmark lies within `radius` photo pixels of where
    /// `transform` puts the reference landmark and whose descriptors are close enough: once the
    /// transform is known, the repeated numerals count too. Each landmark is used once, nearest
    /// descriptor first.
    static func guidedPairs(reference: LandmarkSet, photo: LandmarkSet, through transform: PlaneTransform, radius: Double)
        -> [LandmarkPair]
    {
        // A coarse grid of the photo landmarks, so each reference landmark looks at a few cells:
        // the landmarks sorted by cell, each cell's run found by its start (a dictionary of
        // cells spent half of this function hashing).
        let cell = max(radius, 8)
        func cellOf(_ x: Double, _ y: Double) -> (x: Int, y: Int) { (Int((x / cell).rounded(.down)), Int((y / cell).rounded(.down))) }
        let cells = photo.landmarks.map { cellOf($0.x, $0.y) }
        let low = (x: cells.map(\.x).min() ?? 0, y: cells.map(\.y).min() ?? 0)
        let columns = (cells.map(\.x).max() ?? 0) - low.x + 1, rows = (cells.map(\.y).max() ?? 0) - low.y + 1
        var cellStart = [Int](repeating: 0, count: columns * rows + 1)
        for c in cells { cellStart[(c.y - low.y) * columns + c.x - low.x + 1] += 1 }
        for i in 0..<(columns * rows) { cellStart[i + 1] += cellStart[i] }
        var byCell = [Int](repeating: 0, count: cells.count), filled = cellStart
        for (index, c) in cells.enumerated() {
            let k = (c.y - low.y) * columns + c.x - low.x
            byCell[filled[k]] = index
            filled[k] += 1
        }
        var candidates: [(reference: Int, photo: Int, distance: Int)] = []
        for (j, landmark) in reference.landmarks.enumerated() {
            let predicted = transform.apply(x: landmark.x, y: landmark.y)
            guard predicted.x.isFinite, predicted.y.isFinite, abs(predicted.x) < 1e6, abs(predicted.y) < 1e6 else { continue }
            let centre = cellOf(predicted.x, predicted.y)
            // The 3×3 cells around it, those of them the grid has.
            let firstRow = max(centre.y - 1, low.y), lastRow = min(centre.y + 1, low.y + rows - 1)
            let firstColumn = max(centre.x - 1, low.x), lastColumn = min(centre.x + 1, low.x + columns - 1)
            guard firstRow <= lastRow, firstColumn <= lastColumn else { continue }
            for gy in firstRow...lastRow {
                for gx in firstColumn...lastColumn {
                    let k = (gy - low.y) * columns + gx - low.x
                    for i in byCell[cellStart[k]..<cellStart[k + 1]] {
                        let other = photo.landmarks[i]
                        guard squaredDistance((other.x, other.y), predicted) <= radius * radius else { continue }
                        let distance = hamming(reference.descriptors, j, photo.descriptors, i)
                        if distance <= maximumDistance + 16 { candidates.append((j, i, distance)) }
                    }
                }
            }
        }
        // Nearest descriptor first; equals by reference, then photo landmark: one order whatever
        // order the cells were visited in.
        candidates.sort { ($0.distance, $0.reference, $0.photo) < ($1.distance, $1.reference, $1.photo) }
        var usedReference = [Bool](repeating: false, count: reference.count), usedPhoto = [Bool](repeating: false, count: photo.count)
        var pairs: [LandmarkPair] = []
        for candidate in candidates where !usedReference[candidate.reference] && !usedPhoto[candidate.photo] {
            usedReference[candidate.reference] = true
            usedPhoto[candidate.photo] = true
            pairs.append(LandmarkPair(reference.landmarks[candidate.reference], photo.landmarks[candidate.photo]))
        }
        return pairs
    }

    static func hamming(_ a: [UInt64], _ i: Int, _ b: [UInt64], _ j: Int) -> Int {
        (0..<4).reduce(0) { $0 + (a[4 * i + $1] ^ b[4 * j + $1]).nonzeroBitCount }
    }
}

/// The similarity most pairs agree on, found by random sampling with a fixed seed.
struct ConsensusSearch {
    /// Photo pixels within which a pair counts as explained.
    var tolerance: Double
    /// The scales a hypothesis may have; others are not even counted.
    var scales: ClosedRange<Double>
    /// How far a pair's own turn may differ from the hypothesis's turn: cos(0.5 rad).
    var turnAgreement = 0.8776
    var iterations = 1500
    /// Samples drawn at least, however good the first hypotheses look.
    static let minimumSamples = 200

    /// Samples that find an all-inlier draw of `sampleSize` with probability 0.9999 when a share
    /// `share` of the data are inliers.
    static func samplesNeeded(share: Double, sampleSize: Int) -> Int {
        let allInliers = pow(max(min(share, 0.999), 1e-6), Double(sampleSize))
        guard allInliers > 1e-9 else { return Int.max }
        let count = log(1 - 0.9999) / log(1 - allInliers)
        return count.isFinite ? Int(min(count.rounded(.up), 1e6)) : Int.max
    }

    struct Consensus {
        var transform: SimilarityTransform
        var inliers: [Int]
    }

    /// The hypothesis with the most inliers, refined by least squares on them; nil when no two
    /// pairs agree on a plausible similarity.
    func best(_ pairs: [LandmarkPair], excluding hypotheses: [SimilarityTransform] = [], distinctBy separation: Double = 0,
              frameCentre: (x: Double, y: Double) = (0, 0)) -> Consensus?
    {
        guard pairs.count >= 2 else { return nil }
        var draws = SampleDraws(seed: 0x5EED_A119_0000_0001 &+ UInt64(pairs.count))
        var best: (transform: SimilarityTransform, count: Int, error: Double)?
        let exhaustive = pairs.count * (pairs.count - 1) / 2 <= iterations
        var samples: [(Int, Int)] = []
        if exhaustive {
            for i in 0..<pairs.count { for j in (i + 1)..<pairs.count { samples.append((i, j)) } }
        } else {
            for _ in 0..<iterations {
                let i = draws.below(pairs.count), j = draws.below(pairs.count - 1)
                samples.append((i, j >= i ? j + 1 : j))
            }
        }
        // Adaptive, as RANSAC is usually run: once the best hypothesis explains a share w of the
        // pairs, log(1 − p) / log(1 − w²) samples find a better one with probability p if there is
        // one; a clear meter photo stops after a few hundred instead of the whole budget.
        var needed = samples.count
        for (tried, (i, j)) in samples.enumerated() {
            if !exhaustive && tried >= max(Self.minimumSamples, needed) { break }
            guard let hypothesis = Self.similarity(pairs[i], pairs[j]), scales.contains(hypothesis.scale) else { continue }
            guard agrees(pairs[i], hypothesis), agrees(pairs[j], hypothesis) else { continue }
            if isNear(hypothesis, hypotheses, separation, frameCentre) { continue }
            let (count, error) = score(hypothesis, pairs)
            if best == nil || count > best!.count || (count == best!.count && error < best!.error) {
                best = (hypothesis, count, error)
                needed = Self.samplesNeeded(share: Double(count) / Double(pairs.count), sampleSize: 2)
            }
        }
        guard var transform = best?.transform else { return nil }
        var inliers = inlierIndices(transform, pairs)
        // Least squares on the inliers, which may take in a few more, until it settles.
        for _ in 0..<4 {
            guard inliers.count >= 2 else { break }
            let refined = SimilarityTransform.fitting(from: inliers.map { pairs[$0].reference }, to: inliers.map { pairs[$0].photo })
            guard scales.contains(refined.scale) else { break }
            let again = inlierIndices(refined, pairs)
            guard again.count >= inliers.count else { break }
            transform = refined
            if again == inliers { break }
            inliers = again
        }
        return Consensus(transform: transform, inliers: inliers)
    }

    private func isNear(_ hypothesis: SimilarityTransform, _ others: [SimilarityTransform], _ separation: Double, _ centre: (x: Double, y: Double)) -> Bool {
        let here = hypothesis.apply(x: centre.x, y: centre.y)
        return others.contains { other in
            let turn = abs(Self.wrap(hypothesis.rotationDegrees - other.rotationDegrees))
            return squaredDistance(here, other.apply(x: centre.x, y: centre.y)).squareRoot() < separation && turn < 10
        }
    }

    /// How many pairs `transform` explains, and their squared errors summed with the tolerance
    /// squared for each pair it does not (to break ties between hypotheses).
    private func score(_ transform: SimilarityTransform, _ pairs: [LandmarkPair]) -> (Int, Double) {
        var count = 0, error = 0.0
        for pair in pairs {
            if let d = explains(pair, transform) {
                count += 1
                error += d
            } else {
                error += tolerance * tolerance
            }
        }
        return (count, error)
    }

    func inlierIndices(_ transform: SimilarityTransform, _ pairs: [LandmarkPair]) -> [Int] {
        pairs.indices.filter { explains(pairs[$0], transform) != nil }
    }

    /// The pair's squared error under `transform` when it is an inlier: within the tolerance, and
    /// turned as the transform turns; nil otherwise.
    @inline(__always)
    private func explains(_ pair: LandmarkPair, _ transform: SimilarityTransform) -> Double? {
        let d = squaredDistance(transform.apply(x: pair.reference.x, y: pair.reference.y), pair.photo)
        return d <= tolerance * tolerance && agrees(pair, transform) ? d : nil
    }

    /// The similarity taking both pairs' reference points to their photo points; nil when the
    /// reference points are too close together to fix a turn and a scale.
    static func similarity(_ first: LandmarkPair, _ second: LandmarkPair) -> SimilarityTransform? {
        let px = second.reference.x - first.reference.x, py = second.reference.y - first.reference.y
        let spread = px * px + py * py
        guard spread >= 400 else { return nil }
        let qx = second.photo.x - first.photo.x, qy = second.photo.y - first.photo.y
        // α = q / p in complex numbers.
        let a = (qx * px + qy * py) / spread, b = (qy * px - qx * py) / spread
        return SimilarityTransform(a: a, b: b, tx: first.photo.x - (a * first.reference.x - b * first.reference.y),
                                   ty: first.photo.y - (b * first.reference.x + a * first.reference.y))
    }

    /// Whether the pair's own turn is within the tolerance of the similarity's turn.
    @inline(__always)
    func agrees(_ pair: LandmarkPair, _ transform: SimilarityTransform) -> Bool {
        let scale = transform.scale
        guard scale > 0 else { return false }
        return (pair.turn.cos * transform.a + pair.turn.sin * transform.b) / scale >= turnAgreement
    }

    static func wrap(_ degrees: Double) -> Double {
        var d = degrees.truncatingRemainder(dividingBy: 360)
        if d > 180 { d -= 360 }
        if d <= -180 { d += 360 }
        return d
    }
}
