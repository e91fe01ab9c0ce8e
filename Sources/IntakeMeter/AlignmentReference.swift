import IntakeCodecs

/// What the aligner knows of a profile's reference image, prepared once per profile: its
/// landmarks, and a quarter-size grey picture of what stays the same from photo to photo.
struct AlignmentReference: Sendable {
    static let landmarkCount = 1000
    /// Pixels darker than this in the reference are taken as outside it: a reference made by
    /// turning a photo upright has black corners, whose edges are no part of the meter.
    static let blackLevel: Float = 3

    let width: Int
    let height: Int
    let landmarks: LandmarkSet
    /// 4×4 block averages of the reference, and the blocks compared with a photo: inside the
    /// picture, away from the wheels and dials (their digits and needles move).
    let quarter: AlignGrayPlane
    let comparedBlocks: [Int]
    /// Patches that confirm a placement carried over from the meter's last photo.
    let trackPoints: [TrackPoint]
    /// The frame's centre, where an alignment's turn and scale are given.
    var centre: (x: Double, y: Double) { (Double(width - 1) / 2, Double(height - 1) / 2) }

    /// No landmark is taken in a wheel (its digit changes from photo to photo), and neither wheels
    /// nor dials (their needles move) are compared.
    init(image: RGBImage, wheels: [Box], dials: [Box]) {
        width = image.width
        height = image.height
        let gray = AlignGrayPlane(luma: image)
        let blackLevel = Self.blackLevel
        let (w, h) = (width, height)
        func inPicture(_ x: Double, _ y: Double) -> Bool {
            let ix = Int(x.rounded()), iy = Int(y.rounded())
            return ix >= 0 && iy >= 0 && ix < w && iy < h && gray.pixels[iy * w + ix] > blackLevel
        }
        landmarks = LandmarkDetector.detect(gray, maximum: Self.landmarkCount, levels: LandmarkDetector.referenceLevels) { x, y, size in
            // The whole patch in the picture: its 8 compass points and centre.
            for (dx, dy) in [(0.0, 0.0), (1, 0), (-1, 0), (0, 1), (0, -1), (0.7, 0.7), (-0.7, 0.7), (0.7, -0.7), (-0.7, -0.7)]
            where !inPicture(x + dx * size, y + dy * size) { return false }
            return !wheels.contains { $0.contains(x: x, y: y, margin: size / 2) }
        }
        let moving = wheels + dials
        trackPoints = TrackPoint.choose(from: landmarks, on: gray, excluded: moving, inPicture: inPicture)
        quarter = gray.blockAveraged(4)
        var blocks: [Int] = []
        for qy in 1..<max(1, quarter.height - 1) {
            for qx in 1..<max(1, quarter.width - 1) {
                let x = Double(4 * qx) + 1.5, y = Double(4 * qy) + 1.5
                guard !moving.contains(where: { $0.contains(x: x, y: y, margin: 4) }) else { continue }
                // The block and its neighbours wholly inside the picture.
                var inside = true
                for dy in -1...1 { for dx in -1...1 where quarter.pixels[(qy + dy) * quarter.width + qx + dx] <= blackLevel { inside = false } }
                if inside && inPicture(x - 6, y - 6) && inPicture(x + 6, y + 6) && inPicture(x - 6, y + 6) && inPicture(x + 6, y - 6) {
                    blocks.append(qy * quarter.width + qx)
                }
            }
        }
        comparedBlocks = blocks
    }

    /// The share of the frame that the bounding box of `points` covers.
    func spanShare(_ points: [(x: Double, y: Double)]) -> Double {
        guard let minX = points.map(\.x).min(), let maxX = points.map(\.x).max(),
              let minY = points.map(\.y).min(), let maxY = points.map(\.y).max() else { return 0 }
        return (maxX - minX) * (maxY - minY) / Double(width * height)
    }

    /// Normalised cross-correlation of the compared blocks with `photo` seen through `transform`
    /// (reference → photo), both at a quarter of the reference's scale; blocks that fall outside
    /// the photo are left out. 1 for the same picture up to brightness and contrast.
    func similarity(to photo: AlignGrayPlane, through transform: PlaneTransform) -> Double {
        let centre = transform.scale(atX: Double(width) / 2, y: Double(height) / 2)
        // The photo averaged to about the same scale as the quarter reference.
        let factor = max(1, Int((4 * centre).rounded()))
        let small = factor > 1 ? photo.blockAveraged(factor) : photo
        var n = 0.0, sa = 0.0, sb = 0.0, saa = 0.0, sbb = 0.0, sab = 0.0
        for block in comparedBlocks {
            let qx = block % quarter.width, qy = block / quarter.width
            let p = transform.apply(x: Double(4 * qx) + 1.5, y: Double(4 * qy) + 1.5)
            let sx = (p.x + 0.5) / Double(factor) - 0.5, sy = (p.y + 0.5) / Double(factor) - 0.5
            guard sx >= 0, sy >= 0, sx <= Double(small.width - 1), sy <= Double(small.height - 1) else { continue }
            let a = Double(quarter.pixels[block]), b = Double(small.bilinear(sx, sy))
            n += 1
            sa += a
            sb += b
            saa += a * a
            sbb += b * b
            sab += a * b
        }
        guard n >= 50 else { return 0 }
        let va = saa - sa * sa / n, vb = sbb - sb * sb / n
        guard va > 1e-6, vb > 1e-6 else { return 0 }
        return (sab - sa * sb / n) / (va * vb).squareRoot()
    }
}

extension Box {
    /// Whether (x, y) lies in the box grown by `margin` on every side.
    func contains(x: Double, y: Double, margin: Double) -> Bool {
        x >= Double(self.x) - margin && y >= Double(self.y) - margin
            && x <= Double(self.x + width) + margin && y <= Double(self.y + height) + margin
    }
}
