#if canImport(Glibc)
import Glibc
#endif

/// The needle's hub and tip, fitted to its mask, with the measures that say how needle-like it is.
struct DialNeedle {
    /// The hub: the centre of the thickest part of the needle, over the pivot on most dials.
    var hubX = 0.0, hubY = 0.0, hubRadius = 0.0
    /// The tip: where the needle ends farthest from the hub.
    var tipX = 0.0, tipY = 0.0
    /// Hub to tip, in pixels.
    var length = 0.0
    /// Clockwise angle of hub → tip from 12 o'clock, in dial units (0 ..< 10).
    var tipValue = 0.0
    /// The reading with the hub as pivot.
    var value = 0.0
    /// Needle pixels as a share of the crop.
    var areaShare = 0.0
    /// The direction of the mask's principal axis (the end towards the tip), in dial units.
    var axisValue = 0.0
    /// Angle between hub → tip and the mask's principal axis, in dial units (0 when they agree).
    var axisDisagreement = 0.0

    static func fit(mask: [Bool], width: Int, height: Int) -> DialNeedle? {
        var needle = DialNeedle()
        guard needle.findHub(mask, width: width, height: height) else { return nil }
        guard needle.findTip(mask, width: width, height: height) else { return nil }
        needle.measureShape(mask, width: width, height: height)
        return needle
    }

    /// The reading for a pivot at (`pivotX`, `pivotY`): the direction from the pivot to the tip.
    /// Pivot → tip and the principal axis are two nearly independent estimates of the same
    /// direction (one from the ends, one from the whole body): when they agree, their mean is
    /// steadier than either.
    func reading(pivotX: Double, pivotY: Double) -> Double {
        let towardTip = DialAngle.value(dx: tipX - pivotX, dy: tipY - pivotY)
        guard DialAngle.distance(towardTip, axisValue) < 0.4 else { return towardTip }
        return DialAngle.mean(towardTip, axisValue)
    }

    /// The pivot is under the hub, the widest round part of the needle: the point of the mask
    /// farthest from its edge, searched near the crop centre (crops are cut around the dial).
    private mutating func findHub(_ mask: [Bool], width: Int, height: Int) -> Bool {
        let distance = DialDistance.chamfer(mask, width: width, height: height)
        let size = Double(min(width, height))
        let cx = Double(width - 1) / 2, cy = Double(height - 1) / 2
        let searchRadius = 0.35 * size
        var deepest = 0.0
        var deepestAt = (x: 0, y: 0)
        for y in 0..<height {
            for x in 0..<width where mask[y * width + x] {
                let dx = Double(x) - cx, dy = Double(y) - cy
                guard dx * dx + dy * dy < searchRadius * searchRadius else { continue }
                let d = Double(distance[y * width + x])
                if d > deepest { deepest = d; deepestAt = (x, y) }
            }
        }
        guard deepest > 0 else { return false }
        // Many pixels share the greatest depth on a round hub: their mean is the sub-pixel centre.
        var sumX = 0.0, sumY = 0.0, count = 0.0
        for y in 0..<height {
            for x in 0..<width where mask[y * width + x] && Double(distance[y * width + x]) >= deepest - 0.7 {
                let dx = Double(x - deepestAt.x), dy = Double(y - deepestAt.y)
                if dx * dx + dy * dy < deepest * deepest { sumX += Double(x); sumY += Double(y); count += 1 }
            }
        }
        hubX = sumX / count
        hubY = sumY / count
        hubRadius = deepest
        return true
    }

    /// The tip is the needle pixel farthest from the hub, ignoring the crop's border (where the
    /// needle's body or a neighbouring part is cut off, not ended), refined to the centroid of
    /// the mask around it so one noisy pixel does not decide the angle.
    private mutating func findTip(_ mask: [Bool], width: Int, height: Int) -> Bool {
        var farthest = 0.0
        var farthestAt = (x: 0.0, y: 0.0)
        for y in 1..<(height - 1) {
            for x in 1..<(width - 1) where mask[y * width + x] {
                let dx = Double(x) - hubX, dy = Double(y) - hubY
                let d2 = dx * dx + dy * dy
                if d2 > farthest { farthest = d2; farthestAt = (Double(x), Double(y)) }
            }
        }
        farthest = farthest.squareRoot()
        guard farthest > hubRadius else { return false }
        let reach = max(2.0, 0.2 * farthest)
        var sumX = 0.0, sumY = 0.0, count = 0.0
        for y in 0..<height {
            for x in 0..<width where mask[y * width + x] {
                let dx = Double(x) - farthestAt.x, dy = Double(y) - farthestAt.y
                if dx * dx + dy * dy <= reach * reach { sumX += Double(x); sumY += Double(y); count += 1 }
            }
        }
        tipX = sumX / count
        tipY = sumY / count
        length = ((tipX - hubX) * (tipX - hubX) + (tipY - hubY) * (tipY - hubY)).squareRoot()
        tipValue = DialAngle.value(dx: tipX - hubX, dy: tipY - hubY)
        return length > 0
    }

    /// The share of the crop the needle covers, and its principal axis: the direction of the
    /// whole body, found without the hub or the tip.
    private mutating func measureShape(_ mask: [Bool], width: Int, height: Int) {
        var count = 0.0, sumX = 0.0, sumY = 0.0
        for y in 0..<height {
            for x in 0..<width where mask[y * width + x] {
                count += 1
                sumX += Double(x); sumY += Double(y)
            }
        }
        areaShare = count / Double(width * height)
        let meanX = sumX / count, meanY = sumY / count
        var xx = 0.0, yy = 0.0, xy = 0.0
        for y in 0..<height {
            for x in 0..<width where mask[y * width + x] {
                let dx = Double(x) - meanX, dy = Double(y) - meanY
                xx += dx * dx; yy += dy * dy; xy += dx * dy
            }
        }
        let theta = 0.5 * atan2(2 * xy, xx - yy)
        // The axis has no sign: take the end that points the same way as the tip.
        axisValue = DialAngle.value(dx: cos(theta), dy: sin(theta))
        if DialAngle.distance(axisValue, tipValue) > 2.5 { axisValue = (axisValue + 5).truncatingRemainder(dividingBy: 10) }
        axisDisagreement = DialAngle.distance(axisValue, tipValue)
        value = reading(pivotX: hubX, pivotY: hubY)
    }
}

extension DialNeedle {
    /// Measures the principal axis on the blade alone: the pixels of `mask` beyond `margin` × the
    /// hub's radius and within `halfAngle` dial units of the tip's direction, each counted by its
    /// `weight` (negative counts as 0). On a thin blade over a large round hub the hub's pixels
    /// (its irregular edge, a tail) outweigh the blade's, and the blade's red edges are blocky
    /// (JPEG keeps colour at half resolution): weighting a slightly grown mask by `darkness`,
    /// which has the full resolution, finds the blade's middle more steadily.
    mutating func measureBlade(_ mask: [Bool], weight: [Float], width: Int, height: Int, margin: Double, halfAngle: Double) {
        let reach = margin * hubRadius
        var total = 0.0, sumX = 0.0, sumY = 0.0
        var points: [(x: Double, y: Double, w: Double)] = []
        for y in 0..<height {
            for x in 0..<width where mask[y * width + x] {
                let dx = Double(x) - hubX, dy = Double(y) - hubY
                guard dx * dx + dy * dy > reach * reach,
                      DialAngle.distance(DialAngle.value(dx: dx, dy: dy), tipValue) <= halfAngle else { continue }
                let w = Double(max(weight[y * width + x], 0))
                points.append((Double(x), Double(y), w))
                total += w; sumX += w * Double(x); sumY += w * Double(y)
            }
        }
        guard points.count >= 8, total > 0 else { return }
        let meanX = sumX / total, meanY = sumY / total
        var xx = 0.0, yy = 0.0, xy = 0.0
        for point in points {
            let dx = point.x - meanX, dy = point.y - meanY
            xx += point.w * dx * dx; yy += point.w * dy * dy; xy += point.w * dx * dy
        }
        let theta = 0.5 * atan2(2 * xy, xx - yy)
        axisValue = DialAngle.value(dx: cos(theta), dy: sin(theta))
        if DialAngle.distance(axisValue, tipValue) > 2.5 { axisValue = (axisValue + 5).truncatingRemainder(dividingBy: 10) }
        axisDisagreement = DialAngle.distance(axisValue, tipValue)
        value = reading(pivotX: hubX, pivotY: hubY)
    }
}

/// Angles in dial units.
enum DialAngle {
    /// The clockwise angle of (dx, dy) from 12 o'clock (y points down), in dial units 0 ..< 10.
    static func value(dx: Double, dy: Double) -> Double {
        var angle = atan2(dx, -dy)
        if angle < 0 { angle += 2 * Double.pi }
        let value = angle / (2 * Double.pi) * 10
        return value >= 10 ? value - 10 : value
    }

    /// The value halfway between two values, the shorter way round.
    static func mean(_ a: Double, _ b: Double) -> Double {
        var offset = (b - a).truncatingRemainder(dividingBy: 10)
        if offset > 5 { offset -= 10 }
        if offset < -5 { offset += 10 }
        var m = a + offset / 2
        if m < 0 { m += 10 }
        if m >= 10 { m -= 10 }
        return m
    }

    /// The shorter way round the dial between two values, 0...5.
    static func distance(_ a: Double, _ b: Double) -> Double {
        let d = abs(a - b).truncatingRemainder(dividingBy: 10)
        return min(d, 10 - d)
    }
}

/// Distance from each mask pixel to the nearest pixel outside it (3-4 chamfer, in pixels).
enum DialDistance {
    /// `outsideIsMask` treats the pixels beyond the crop as part of the mask rather than outside it.
    static func chamfer(_ mask: [Bool], width: Int, height: Int, outsideIsMask: Bool = false) -> [Float] {
        let far: Float = 1e9
        // A one-pixel frame around the crop stands for what lies beyond it, so the passes need
        // no bounds checks.
        let stride = width + 2
        var padded = [Float](repeating: outsideIsMask ? far : 0, count: stride * (height + 2))
        for y in 0..<height {
            for x in 0..<width { padded[(y + 1) * stride + x + 1] = mask[y * width + x] ? far : 0 }
        }
        // Plain loops and comparisons: debug builds (the tests) are slow on generic `min`. Each
        // pass takes a row in two steps: first what the row before offers (three neighbours, no
        // dependence between pixels, so the compiler vectorises it; a pixel outside the mask is
        // 0 and stays 0, every neighbour offering at least 3, so no test skips it), then the one
        // neighbour along the row, which depends on the pixel just finished.
        padded.withUnsafeMutableBufferPointer { buffer in
            guard let d = buffer.baseAddress else { return }
            var y = 1
            while y <= height {
                let row = d + y * stride + 1, above = row - stride
                for x in 0..<width {
                    var v = row[x]
                    let b = above[x] + 3, c = above[x - 1] + 4, e = above[x + 1] + 4
                    if b < v { v = b }
                    if c < v { v = c }
                    if e < v { v = e }
                    row[x] = v
                }
                for x in 0..<width where row[x] > 0 {
                    let a = row[x - 1] + 3
                    if a < row[x] { row[x] = a }
                }
                y += 1
            }
            y = height
            while y >= 1 {
                let row = d + y * stride + 1, below = row + stride
                for x in 0..<width {
                    var v = row[x]
                    let b = below[x] + 3, c = below[x + 1] + 4, e = below[x - 1] + 4
                    if b < v { v = b }
                    if c < v { v = c }
                    if e < v { v = e }
                    row[x] = v
                }
                var x = width - 1
                while x >= 0 {
                    if row[x] > 0 {
                        let a = row[x + 1] + 3
                        if a < row[x] { row[x] = a }
                    }
                    x -= 1
                }
                y -= 1
            }
        }
        var distance = [Float](repeating: 0, count: width * height)
        for y in 0..<height {
            for x in 0..<width { distance[y * width + x] = padded[(y + 1) * stride + x + 1] / 3 }
        }
        return distance
    }

    /// The mask without every part thinner than 2·`radius` (morphological opening): it cuts the
    /// thin bridges by which a needle touches a numeral or the bezel ring.
    static func open(_ mask: [Bool], width: Int, height: Int, radius: Float) -> [Bool] {
        let inside = chamfer(mask, width: width, height: height)
        let eroded = inside.map { $0 > radius }
        return grow(eroded, width: width, height: height, radius: radius)
    }

    /// The mask grown by `radius` pixels.
    static func grow(_ mask: [Bool], width: Int, height: Int, radius: Float) -> [Bool] {
        let outside = chamfer(mask.map { !$0 }, width: width, height: height, outsideIsMask: true)
        return outside.map { $0 <= radius }
    }
}
