@testable import IntakeCodecs
import IntakeTestSupport
import Testing

@Suite struct OrientationTests {
    /// A 3×2 image whose six pixels are numbered 0…5 in the red channel.
    let numbered = RGBImage(width: 3, height: 2) { p in
        for i in 0..<6 { p[i * 3] = UInt8(i); p[i * 3 + 1] = 0; p[i * 3 + 2] = 0 }
    }

    func reds(_ image: RGBImage) -> [[Int]] {
        (0..<image.height).map { y in (0..<image.width).map { x in Int(image[x, y].0) } }
    }

    @Test func eachOrientationMovesPixelsAsEXIFDefines() {
        // Stored:  0 1 2 / 3 4 5
        #expect(reds(numbered.applying(.up)) == [[0, 1, 2], [3, 4, 5]])
        #expect(reds(numbered.applying(.mirrored)) == [[2, 1, 0], [5, 4, 3]])
        #expect(reds(numbered.applying(.upsideDown)) == [[5, 4, 3], [2, 1, 0]])
        #expect(reds(numbered.applying(.upsideDownMirrored)) == [[3, 4, 5], [0, 1, 2]])
        #expect(reds(numbered.applying(.transposed)) == [[0, 3], [1, 4], [2, 5]])
        #expect(reds(numbered.applying(.rotatedClockwise)) == [[3, 0], [4, 1], [5, 2]])
        #expect(reds(numbered.applying(.transverse)) == [[5, 2], [4, 1], [3, 0]])
        #expect(reds(numbered.applying(.rotatedCounterclockwise)) == [[2, 5], [1, 4], [0, 3]])
    }
}

@Suite struct ResamplingTests {
    @Test func averagesExactlyOverWholeBlocks() {
        // 4×2 → 2×1: each output is the mean of a 2×2 block.
        let image = RGBImage(width: 4, height: 2) { p in
            let values: [UInt8] = [0, 100, 200, 0, 50, 150, 250, 100]
            for i in 0..<8 { p[i * 3] = values[i]; p[i * 3 + 1] = values[i]; p[i * 3 + 2] = values[i] }
        }
        let small = AreaResampler.resize(image, width: 2, height: 1)
        #expect(small[0, 0].0 == 75)  // (0 + 100 + 50 + 150) / 4
        #expect(small[1, 0].0 == 138)  // (200 + 0 + 250 + 100) / 4 = 137.5, rounded
    }

    @Test func aFinePatternBecomesItsMeanNotMoire() {
        // One-pixel black and white stripes shrunk by 3.3: point sampling would alias to
        // stripes or solid colour; area averaging gives even mid-grey.
        let stripes = RGBImage(width: 333, height: 10) { p in
            for y in 0..<10 { for x in 0..<333 { let v: UInt8 = x % 2 == 0 ? 0 : 255; for c in 0..<3 { p[(y * 333 + x) * 3 + c] = v } } }
        }
        let small = AreaResampler.resize(stripes, width: 100, height: 3)
        for x in 0..<100 { #expect(abs(Int(small[x, 1].0) - 128) <= 40) }
        let mean = (0..<100).map { Int(small[$0, 1].0) }.reduce(0, +) / 100
        #expect(abs(mean - 128) <= 3)
    }

    /// 50,944 pixels to 256 is a ratio of 199: each share rounds to 21/4096, 83 too many, and
    /// the old rule gave the whole error to one weight, making it negative. A bright point on
    /// black at that weight came out negative and trapped the daemon; elsewhere pixels were wrong.
    @Test func aPanoramaOfPointsOnBlackShrinksToTheirMeanAtEveryRatio() {
        for width in [50_944, 36_608, 25_600] {
            let points = RGBImage(width: width, height: 1) { p in
                for i in 0..<width * 3 { p[i] = 0 }
                for x in stride(from: 0, to: width, by: width / 256) { for c in 0..<3 { p[x * 3 + c] = 255 } }
            }
            let small = AreaResampler.resize(points, width: 256, height: 1)
            // One point in each output's share of the row: 255 over the ratio, as near as 8 bits go.
            let mean = 255.0 / (Double(width) / 256)
            for x in 0..<256 { #expect(abs(Double(small[x, 0].0) - mean) <= 1.5, "width \(width), x \(x): \(small[x, 0].0)") }
        }
        // Every weight of every ratio from 1 to 256 times: none negative, each output's summing to one.
        for width in stride(from: 257, through: 65_536, by: 97) {
            let kernel = AreaResampler.Kernel(source: width, target: 256)
            #expect(kernel.weights.allSatisfy { $0.allSatisfy { $0 >= 0 } && $0.reduce(0, +) == 4096 }, "width \(width)")
        }
    }

    @Test func uniformStaysUniform() {
        let flat = RGBImage(width: 997, height: 601, red: 10, green: 120, blue: 240)
        let small = AreaResampler.resize(flat, width: 256, height: 154)
        for (x, y) in [(0, 0), (255, 153), (128, 77)] { #expect(small[x, y] == (10, 120, 240)) }
    }
}

@Suite struct BoxFitTests {
    @Test(arguments: [
        (4000, 3000, 256, 192), (3000, 4000, 192, 256), (1000, 100, 256, 26), (100, 1000, 26, 256),
        (256, 256, 256, 256), (64, 32, 64, 32), (1, 1, 1, 1), (20000, 1, 256, 1),
    ])
    func fitsInsideTheBoxKeepingAspect(width: Int, height: Int, fitWidth: Int, fitHeight: Int) {
        let fitted = BoxFit.size(width: width, height: height, box: 256)
        #expect(fitted.width == fitWidth && fitted.height == fitHeight)
    }

    @Test func wideImageIsCentredWithWhiteAboveAndBelow() {
        let image = RGBImage(width: 1000, height: 500, red: 0, green: 0, blue: 0)
        let canvas = BoxFit.centeredOnWhite(image, box: 256)
        #expect(canvas.width == 256 && canvas.height == 256)
        #expect(canvas[128, 0] == (255, 255, 255))  // top band
        #expect(canvas[128, 63] == (255, 255, 255))
        #expect(canvas[128, 64] == (0, 0, 0))  // image: rows 64..<192
        #expect(canvas[128, 191] == (0, 0, 0))
        #expect(canvas[128, 192] == (255, 255, 255))
    }

    @Test func tinyImageIsCentredNotEnlarged() {
        let image = RGBImage(width: 10, height: 6, red: 0, green: 0, blue: 0)
        let canvas = BoxFit.centeredOnWhite(image, box: 256)
        var black = 0
        for y in 0..<256 { for x in 0..<256 where canvas[x, y] == (0, 0, 0) { black += 1 } }
        #expect(black == 60)
        #expect(canvas[123, 125] == (0, 0, 0) && canvas[132, 130] == (0, 0, 0))
        #expect(canvas[122, 125] == (255, 255, 255) && canvas[133, 130] == (255, 255, 255))
    }
}
