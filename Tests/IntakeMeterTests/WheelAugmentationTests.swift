import IntakeMeter
import IntakeTraining
import Testing

/// What the digit model's training does to wheels (`WheelViewChange`) and the wheels it renders in
/// a typeface of its own (`WheelRenderer`): each change does what it says, and none moves a digit
/// vertically by more than the tenths can bear.
@Suite struct WheelAugmentationTests {
    static let width = 20, height = 32

    /// Red, green and blue planes, every pixel `colour`, except a horizontal bar of `bar` on rows `rows`.
    static func planes(_ colour: (Float, Float, Float), bar: (Float, Float, Float)? = nil, rows: Range<Int> = 0..<0) -> [Float] {
        var planes = [Float](repeating: 0, count: 3 * width * height)
        for y in 0..<height {
            for x in 0..<width {
                let c = rows.contains(y) ? (bar ?? colour) : colour
                planes[y * width + x] = c.0
                planes[width * height + y * width + x] = c.1
                planes[2 * width * height + y * width + x] = c.2
            }
        }
        return planes
    }

    static func apply(_ change: WheelViewChange, _ planes: [Float]) -> [Float] {
        var output = [Float](repeating: 0, count: width * height)
        var random = SplitMix64(seed: 1, stream: 0, item: 0)
        planes.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { change.apply(planes: source.baseAddress!, width: width, height: height, into: $0.baseAddress!, random: &random) }
        }
        return output
    }

    /// The mean row of the pixels darker than `threshold`, weighted by how much darker.
    static func inkRow(_ luma: [Float], threshold: Float) -> Double {
        var sum = 0.0, weight = 0.0
        for y in 0..<height {
            for x in 0..<width where luma[y * width + x] < threshold {
                let w = Double(threshold - luma[y * width + x])
                sum += w * Double(y)
                weight += w
            }
        }
        return weight > 0 ? sum / weight : .nan
    }

    static func luma(_ r: Float, _ g: Float, _ b: Float) -> Float { 0.299 * r + 0.587 * g + 0.114 * b }

    @Test func noChangeGivesTheCropsLuma() {
        let output = Self.apply(WheelViewChange(), Self.planes((0.8, 0.4, 0.2), bar: (0.1, 0.2, 0.9), rows: 10..<14))
        let wheel = Self.luma(0.8, 0.4, 0.2), bar = Self.luma(0.1, 0.2, 0.9)
        #expect(abs(output[0] - wheel) < 1e-5)
        #expect(abs(output[12 * Self.width + 5] - bar) < 1e-5)
    }

    @Test func aColourChangeActsBeforeLuma() {
        // Pure red is dim in luma (0.299); swapped with blue it is dimmer still (0.114). A change of
        // luma alone could not tell a red wheel from a blue one.
        var swapped = WheelViewChange()
        swapped.channelOrder = (2, 1, 0)
        let blue = Self.apply(swapped, Self.planes((1, 0, 0)))[0]
        #expect(abs(blue - 0.114) < 1e-5)
        var warm = WheelViewChange()
        warm.gains = (1.3, 0.8, 0.7)
        let warmed = Self.apply(warm, Self.planes((0.5, 0.5, 0.5)))[0], expected = Self.luma(0.65, 0.4, 0.35)
        #expect(abs(warmed - expected) < 1e-5)
    }

    @Test func blurSpreadsAnEdgeAndKeepsAFlatWheel() {
        var blurred = WheelViewChange()
        blurred.blurSigma = 1
        let flat = Self.apply(blurred, Self.planes((0.6, 0.6, 0.6)))
        #expect(flat.allSatisfy { abs($0 - 0.6) < 1e-4 })
        let bar = Self.apply(blurred, Self.planes((1, 1, 1), bar: (0, 0, 0), rows: 14..<18))
        #expect(bar[15 * Self.width + 10] > 0.05)  // the bar's inside lightens
        #expect(bar[12 * Self.width + 10] < 0.95)  // the row beside it darkens
        #expect(abs(Self.inkRow(bar, threshold: 0.9) - 15.5) < 0.1)  // and it stays where it was
    }

    @Test func glareLightensAroundItsCentreOnly() {
        var glared = WheelViewChange()
        glared.glare = (0.5, 0.25, 0.2, 0.6)
        let output = Self.apply(glared, Self.planes((0.2, 0.2, 0.2)))
        let centre = output[8 * Self.width + 10], far = output[31 * Self.width + 0]
        let pulled: Float = 0.2 + 0.8 * 0.6
        #expect(abs(centre - pulled) < 0.05)
        #expect(abs(far - 0.2) < 0.01)
    }

    @Test func aTiltLeavesTheMiddleRowWhereItIs() {
        var tilted = WheelViewChange()
        tilted.keystoneX = 0.12
        tilted.keystoneY = 0.06
        // A dark bar across the middle: it stays centred, taller on the nearer side than the other.
        let output = Self.apply(tilted, Self.planes((1, 1, 1), bar: (0, 0, 0), rows: 12..<20))
        #expect(abs(Self.inkRow(output, threshold: 0.5) - 15.5) < 0.3)
        // The bar's height in a column: its darkness summed down the column (8 rows untilted).
        func barHeight(_ x: Int) -> Float { (0..<Self.height).reduce(0) { $0 + 1 - output[$1 * Self.width + x] } }
        #expect(barHeight(18) > 8.5 && barHeight(1) < 7.5)
    }

    @Test func randomChangesNeverMoveADigitVerticallyByMoreThanAPixel() {
        let bar = Self.planes((0.9, 0.9, 0.9), bar: (0.1, 0.1, 0.1), rows: 14..<18)
        var worst = 0.0
        for item in 0..<300 {
            var random = SplitMix64(seed: 5, stream: 1, item: UInt64(item))
            var change = WheelViewChange.random(&random, inversion: 0)
            // Light and noise may hide the bar; only where it is drawn matters here.
            (change.noise, change.glare, change.contrast, change.gamma, change.brightness) = (0, nil, 1, 1, 0)
            let output = Self.apply(change, bar)
            worst = max(worst, abs(Self.inkRow(output, threshold: 0.5) - 15.5))
        }
        #expect(worst <= 1.2)
    }

    /// How much each row of a rendered wheel varies across its middle columns (away from the
    /// window's sides): a row of wheel alone is even, a row through a digit is not.
    static func rowVariation(tenths: Int, seed: UInt64) -> [Float] {
        var random = SplitMix64(seed: seed, stream: 0, item: 0)
        let wheel = WheelRenderer(tenths: tenths, random: &random)
        var planes = [Float](repeating: 0, count: 3 * width * height)
        planes.withUnsafeMutableBufferPointer { wheel.draw(width: width, height: height, into: $0.baseAddress!) }
        let luma = apply(WheelViewChange(), planes)
        return (0..<height).map { y in
            let row = (5..<15).map { luma[y * width + $0] }
            return row.max()! - row.min()!
        }
    }

    @Test func aRenderedWheelRollsItsDigitsUpByTheTenths() {
        // At 3.0 the 3 fills the middle and the window's top rows are bare wheel (the 4 may show
        // its top at the bottom, as on real wheels); at 3.5 the 3 has rolled half-way out at the top.
        var rolledInView = 0
        for seed in UInt64(0)..<20 {
            let whole = Self.rowVariation(tenths: 30, seed: seed), half = Self.rowVariation(tenths: 35, seed: seed)
            #expect(whole[0..<2].allSatisfy { $0 < 0.02 }, "seed \(seed): ink above a whole digit")
            let middle = whole[12..<20].max()!
            #expect(middle > 0.1, "seed \(seed): no digit in the middle")
            if half[0..<2].max()! > 0.1 { rolledInView += 1 }
        }
        #expect(rolledInView >= 18)
    }

    @Test func theRendererIsDeterministicForASeed() {
        func draw(_ seed: UInt64) -> [Float] {
            var random = SplitMix64(seed: seed, stream: 0, item: 0)
            let wheel = WheelRenderer(tenths: 57, random: &random)
            var planes = [Float](repeating: 0, count: 3 * Self.width * Self.height)
            planes.withUnsafeMutableBufferPointer { wheel.draw(width: Self.width, height: Self.height, into: $0.baseAddress!) }
            return planes
        }
        #expect(draw(3) == draw(3))
        #expect(draw(3) != draw(4))
    }
}
