#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A projective map of the plane (a homography): how the meter's face, a flat disc, appears to a
/// camera that may look at it a little from the side. Similarities and affine maps are the special
/// cases with no perspective.
///
/// `photo = ((m0·x + m1·y + m2) / w, (m3·x + m4·y + m5) / w)` with `w = m6·x + m7·y + m8`.
public struct PlaneTransform: Sendable, Equatable {
    // The nine entries, row by row, held apart rather than in an array: `apply` runs for every
    // pixel of every crop, and reads them without bounds checks or reference counting.
    private let m0, m1, m2, m3, m4, m5, m6, m7, m8: Double

    /// Row-major 3×3 matrix, normalised so that `m[8]` is 1 where it can be.
    public var m: [Double] { [m0, m1, m2, m3, m4, m5, m6, m7, m8] }

    public init(_ m: [Double]) {
        precondition(m.count == 9)
        (m0, m1, m2, m3, m4, m5, m6, m7, m8) = (m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8])
    }

    public init(_ similarity: SimilarityTransform) {
        self.init([similarity.a, -similarity.b, similarity.tx, similarity.b, similarity.a, similarity.ty, 0, 0, 1])
    }

    public static let identity = PlaneTransform([1, 0, 0, 0, 1, 0, 0, 0, 1])

    /// Where the point (x, y) goes; a point on the horizon (w ≈ 0) goes far away, never to NaN.
    @inline(__always)
    public func apply(x: Double, y: Double) -> (x: Double, y: Double) {
        var w = m6 * x + m7 * y + m8
        if abs(w) < 1e-12 { w = w < 0 ? -1e-12 : 1e-12 }
        return ((m0 * x + m1 * y + m2) / w, (m3 * x + m4 * y + m5) / w)
    }

    /// `self` after `first`: the point goes through `first`, then through `self`.
    public func after(_ first: PlaneTransform) -> PlaneTransform {
        let a = m, b = first.m
        var product = [Double](repeating: 0, count: 9)
        for row in 0..<3 {
            for column in 0..<3 {
                product[row * 3 + column] = (0..<3).reduce(0) { $0 + a[row * 3 + $1] * b[$1 * 3 + column] }
            }
        }
        return PlaneTransform(product).normalised
    }

    /// The map back (the identity for a degenerate matrix, which the fits never return).
    public var inverse: PlaneTransform {
        let a = m
        let c0 = a[4] * a[8] - a[5] * a[7], c1 = a[5] * a[6] - a[3] * a[8], c2 = a[3] * a[7] - a[4] * a[6]
        let determinant = a[0] * c0 + a[1] * c1 + a[2] * c2
        guard abs(determinant) > 1e-15 else { return .identity }
        let inverse = [
            c0, a[2] * a[7] - a[1] * a[8], a[1] * a[5] - a[2] * a[4],
            c1, a[0] * a[8] - a[2] * a[6], a[2] * a[3] - a[0] * a[5],
            c2, a[1] * a[6] - a[0] * a[7], a[0] * a[4] - a[1] * a[3],
        ].map { $0 / determinant }
        return PlaneTransform(inverse).normalised
    }

    var normalised: PlaneTransform {
        guard abs(m[8]) > 1e-12 else { return self }
        return PlaneTransform(m.map { $0 / m[8] })
    }

    /// Photo pixels per reference pixel around the reference point (x, y): the square root of the
    /// local area ratio.
    public func scale(atX x: Double, y: Double) -> Double {
        let centre = apply(x: x, y: y), right = apply(x: x + 1, y: y), below = apply(x: x, y: y + 1)
        let area = (right.x - centre.x) * (below.y - centre.y) - (right.y - centre.y) * (below.x - centre.x)
        return abs(area).squareRoot()
    }

    /// The turn, in degrees clockwise on screen, of the reference's x axis at (x, y).
    public func rotationDegrees(atX x: Double, y: Double) -> Double {
        let centre = apply(x: x, y: y), right = apply(x: x + 1, y: y)
        return atan2Degrees(right.y - centre.y, right.x - centre.x)
    }

    /// How unevenly the map scales across `area` (reference pixels): the largest local scale
    /// over the smallest, at its corners. 1 for a similarity or affine map; a camera tilted by 15°
    /// across a meter gives about 1.2.
    public func perspectiveSpread(over area: Box) -> Double {
        let left = Double(area.x), top = Double(area.y)
        let right = Double(area.x + area.width - 1), bottom = Double(area.y + area.height - 1)
        let scales = [(left, top), (right, top), (left, bottom), (right, bottom)].map { scale(atX: $0.0, y: $0.1) }
        guard let smallest = scales.min(), smallest > 0 else { return .infinity }
        return scales.max()! / smallest
    }

    /// The least-squares homography taking `from[i]` to `to[i]` (at least four points, not three
    /// on a line), by the normalised direct linear transform; nil when the points do not fix one.
    public static func fitting(from: [(x: Double, y: Double)], to: [(x: Double, y: Double)]) -> PlaneTransform? {
        guard from.count >= 4, from.count == to.count else { return nil }
        // Hartley's normalisation: centre each set and scale it to a mean distance of √2, so the
        // equations are well conditioned whatever the pixel coordinates.
        func conditioner(_ points: [(x: Double, y: Double)]) -> PlaneTransform? {
            let count = Double(points.count)
            let mx = points.reduce(0) { $0 + $1.x } / count, my = points.reduce(0) { $0 + $1.y } / count
            let spread = points.reduce(0) { $0 + (($1.x - mx) * ($1.x - mx) + ($1.y - my) * ($1.y - my)).squareRoot() } / count
            guard spread > 1e-9 else { return nil }
            let s = 2.0.squareRoot() / spread
            return PlaneTransform([s, 0, -s * mx, 0, s, -s * my, 0, 0, 1])
        }
        guard let tFrom = conditioner(from), let tTo = conditioner(to) else { return nil }
        // h8 = 1: two equations per correspondence in the eight other entries, solved through
        // the normal equations (8×8), which is exact enough once the points are conditioned.
        var normal = [Double](repeating: 0, count: 64), right = [Double](repeating: 0, count: 8)
        for (p, q) in zip(from, to) {
            let a = tFrom.apply(x: p.x, y: p.y), b = tTo.apply(x: q.x, y: q.y)
            let rows: [([Double], Double)] = [
                ([a.x, a.y, 1, 0, 0, 0, -a.x * b.x, -a.y * b.x], b.x),
                ([0, 0, 0, a.x, a.y, 1, -a.x * b.y, -a.y * b.y], b.y),
            ]
            for (row, value) in rows {
                for i in 0..<8 {
                    right[i] += row[i] * value
                    for j in 0..<8 { normal[i * 8 + j] += row[i] * row[j] }
                }
            }
        }
        guard let solution = LinearSolve.solve(normal, right, size: 8) else { return nil }
        let conditioned = PlaneTransform(solution + [1])
        return tTo.inverse.after(conditioned).after(tFrom)
    }
}

/// The squared distance between two points: what every inlier test compares with a tolerance squared.
@inline(__always)
func squaredDistance(_ a: (x: Double, y: Double), _ b: (x: Double, y: Double)) -> Double {
    (a.x - b.x) * (a.x - b.x) + (a.y - b.y) * (a.y - b.y)
}

func atan2Degrees(_ y: Double, _ x: Double) -> Double {
    atan2(y, x) * 180 / .pi
}

/// Small dense linear systems, by Gaussian elimination with partial pivoting.
enum LinearSolve {
    /// `x` with `a·x = b` for the `size`×`size` row-major `a`; nil when `a` is singular.
    static func solve(_ a: [Double], _ b: [Double], size n: Int) -> [Double]? {
        var a = a, b = b
        for column in 0..<n {
            var pivot = column
            for row in (column + 1)..<n where abs(a[row * n + column]) > abs(a[pivot * n + column]) { pivot = row }
            guard abs(a[pivot * n + column]) > 1e-12 else { return nil }
            if pivot != column {
                for k in 0..<n { a.swapAt(column * n + k, pivot * n + k) }
                b.swapAt(column, pivot)
            }
            for row in (column + 1)..<n {
                let factor = a[row * n + column] / a[column * n + column]
                guard factor != 0 else { continue }
                for k in column..<n { a[row * n + k] -= factor * a[column * n + k] }
                b[row] -= factor * b[column]
            }
        }
        var x = [Double](repeating: 0, count: n)
        for row in stride(from: n - 1, through: 0, by: -1) {
            var sum = b[row]
            for k in (row + 1)..<n { sum -= a[row * n + k] * x[k] }
            x[row] = sum / a[row * n + row]
        }
        return x
    }
}
