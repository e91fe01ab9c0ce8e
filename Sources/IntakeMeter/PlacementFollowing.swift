/// Where the last photo of a meter was found, kept so that the next photo can start there: a
/// fixed camera takes every photo from the same place, and the next photo's search then needs
/// only to confirm it (what AI-on-the-edge-device's fixed-camera alignment does, but confirmed,
/// never assumed).
struct MeterPlacement: Sendable {
    /// The photo's size: a photo of another size was reduced by another factor, or is from
    /// another camera, and is searched afresh.
    let photoWidth: Int
    let photoHeight: Int
    /// Reference → the photo's grey plane, as reduced for alignment.
    let planeTransform: PlaneTransform
}

/// A small, distinctive patch of the reference, away from anything that moves (wheels, needles):
/// what confirms a placement by being found, to a fraction of a pixel, where it predicts.
struct TrackPoint: Sendable {
    static let radius = 7
    /// The patch's top-left and centre in the reference frame.
    let left: Int
    let top: Int
    var centre: (x: Double, y: Double) { (Double(left + Self.radius), Double(top + Self.radius)) }
    let patch: CorrelationPatch

    /// Up to `perCell` points in each cell of a `columns`×`rows` grid over the reference, the
    /// strongest landmarks first, so the points span the frame and can fix its tilt. A patch
    /// must lie in the picture, clear of every box (`excluded`, whose content changes) by the
    /// search radius, have texture, and not look like itself a few pixels away (an edge or a
    /// repeated print would be found at the wrong place as readily as at the right one).
    static func choose(from landmarks: LandmarkSet, on gray: AlignGrayPlane, excluded: [Box],
                       inPicture: (Double, Double) -> Bool) -> [TrackPoint]
    {
        let columns = 10, rows = 8, perCell = 4
        let reach = Double(radius + PlacementFollowing.searchRadius)
        var taken = [Int](repeating: 0, count: columns * rows)
        var chosen: [TrackPoint] = []
        for landmark in landmarks.landmarks.sorted(by: { $0.score > $1.score }) {
            let left = Int(landmark.x.rounded()) - radius, top = Int(landmark.y.rounded()) - radius
            let cx = Double(left + radius), cy = Double(top + radius)
            let cell = min(rows - 1, Int(cy) * rows / gray.height) * columns + min(columns - 1, Int(cx) * columns / gray.width)
            guard cell >= 0, taken[cell] < perCell,
                  left - PlacementFollowing.searchRadius >= 0, top - PlacementFollowing.searchRadius >= 0,
                  left + 2 * radius + PlacementFollowing.searchRadius < gray.width,
                  top + 2 * radius + PlacementFollowing.searchRadius < gray.height,
                  !excluded.contains(where: { $0.contains(x: cx, y: cy, margin: reach) }),
                  [(-reach, -reach), (reach, -reach), (-reach, reach), (reach, reach)].allSatisfy({ inPicture(cx + $0.0, cy + $0.1) })
            else { continue }
            let patch = CorrelationPatch(AlignGrayPlane(copying: gray, left: left, top: top, width: 2 * radius + 1, height: 2 * radius + 1))
            // A standard deviation of 8 grey levels: below it, noise decides where the patch is found.
            guard patch.norm >= 8 * Double(2 * radius + 1), isDistinct(patch, left: left, top: top, in: gray) else { continue }
            taken[cell] += 1
            chosen.append(TrackPoint(left: left, top: top, patch: patch))
        }
        return chosen
    }

    /// Whether the patch correlates with its own surroundings (2 or more pixels off, within the
    /// search radius) clearly less than with itself.
    private static func isDistinct(_ patch: CorrelationPatch, left: Int, top: Int, in gray: AlignGrayPlane) -> Bool {
        let reach = PlacementFollowing.searchRadius
        for dy in -reach...reach {
            for dx in -reach...reach where max(abs(dx), abs(dy)) >= 2 {
                if patch.correlation(in: gray, left: left + dx, top: top + dy) > PlacementFollowing.distinctness { return false }
            }
        }
        return true
    }
}

/// Confirms a meter's last placement on a new photo: each track point is searched by correlation
/// a few pixels around where the placement puts it. The points found are correspondences as good
/// as landmarks (better: each is placed to a fraction of a pixel), and the aligner fits and checks
/// them exactly as it does a full search's. A camera that moved more than the search radius leaves
/// too few points found, and the photo is searched afresh.
enum PlacementFollowing {
    /// Reference pixels searched each way around where a point is expected.
    static let searchRadius = 4
    /// Lowest correlation at which a point counts as found (a mark needs 0.7; a point is smaller
    /// and is looked for in a smaller window, where a chance match is likelier).
    static let minimumScore = 0.8
    /// A patch that correlates this well with its surroundings is not a track point.
    static let distinctness = 0.9
    /// The share of track points that must be found, and must agree on one fit: a placement that
    /// explains fewer is not the one the photo was taken from.
    static let minimumShare = 0.6

    /// The track points found around where `placement` puts them, as reference → photo-plane
    /// pairs; nil when too few are found to confirm it.
    static func follow(_ placement: MeterPlacement, in gray: AlignGrayPlane, reference: AlignmentReference,
                       minimumInliers: Int) -> [(reference: (x: Double, y: Double), photo: (x: Double, y: Double))]?
    {
        let points = reference.trackPoints
        guard !points.isEmpty else { return nil }
        var found: [(reference: (x: Double, y: Double), photo: (x: Double, y: Double))] = []
        for point in points {
            let match = MarkSearch.find(
                point.patch, at: (point.left, point.top), in: gray, through: placement.planeTransform, radius: searchRadius,
                minimumScore: minimumScore)
            if match.used { found.append((point.centre, (match.photoX, match.photoY))) }
        }
        guard found.count >= minimumInliers, Double(found.count) >= minimumShare * Double(points.count) else { return nil }
        return found
    }
}

extension PlacementFollowing {
    /// The median, per axis, of how far each found point lies from where `transform` puts it.
    static func medianDisplacement(_ points: [(reference: (x: Double, y: Double), photo: (x: Double, y: Double))],
                                   from transform: PlaneTransform) -> (x: Double, y: Double)
    {
        guard !points.isEmpty else { return (0, 0) }
        let offsets = points.map { point in
            let predicted = transform.apply(x: point.reference.x, y: point.reference.y)
            return (x: point.photo.x - predicted.x, y: point.photo.y - predicted.y)
        }
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        return (median(offsets.map(\.x)), median(offsets.map(\.y)))
    }
}

extension PlaneTransform {
    /// This transform followed by a shift of its output.
    func shifted(by offset: (x: Double, y: Double)) -> PlaneTransform {
        PlaneTransform([1, 0, offset.x, 0, 1, offset.y, 0, 0, 1]).after(self)
    }
}

extension AlignGrayPlane {
    /// A copy of the `width`×`height` part of `plane` whose top-left is (left, top), inside it.
    init(copying plane: AlignGrayPlane, left: Int, top: Int, width: Int, height: Int) {
        self.init(width: width, height: height)
        for y in 0..<height {
            for x in 0..<width { pixels[y * width + x] = plane.pixels[(top + y) * plane.width + left + x] }
        }
    }
}
