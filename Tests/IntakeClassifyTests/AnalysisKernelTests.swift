import IntakeCodecs
import Testing

@testable import IntakeClassify

/// The classifier's passes in CKernels against the Swift loops they replaced, kept here as the
/// oracle: the labels' thresholds were tuned on those loops' numbers, so the kernels must give the
/// same to the last bit, on images analysed as they are (the pipeline's) and reduced (any other
/// caller's), with bins of one pixel, of two, of irregular widths and of hundreds.
@Suite("The classifier's C passes give what the Swift loops gave")
struct AnalysisKernelTests {
    static let images: [(name: String, image: RGBImage)] = {
        let photo = TestImages.photoLike(width: 512, height: 384)
        var noise = TestImages.Noise(seed: 11)
        let grain = RGBImage(width: 701, height: 533) { pixels in
            for i in 0..<(701 * 533 * 3) { pixels[i] = UInt8(128 + noise.next(127)) }
        }
        let faint = RGBImage(width: 300, height: 200) { pixels in
            for y in 0..<200 {
                for x in 0..<300 {
                    let value = UInt8(100 + (x + y) / 60)
                    for c in 0..<3 { pixels[(y * 300 + x) * 3 + c] = value }
                }
            }
        }
        return [
            ("a photo, reduced 2:1", photo),
            ("a photo at the analysis size", TestImages.shrunk(photo, toFit: 256)),
            ("a soft photo, reduced by irregular bins", TestImages.boxBlurred(TestImages.photoLike(width: 333, height: 250, seed: 5), radius: 3)),
            ("a tall photo", TestImages.photoLike(width: 37, height: 300, seed: 9)),
            ("a small photo of an odd number of pixels, counted two at a time", TestImages.photoLike(width: 45, height: 33, seed: 17)),
            ("grain in every colour, reduced", grain),
            ("a page of text", TestImages.page(width: 400, height: 520)),
            ("a screen, reduced 4:1", TestImages.screen(width: 1024, height: 640)),
            ("a faint ramp, judged at coarser scales", faint),
            ("flat grey", RGBImage(width: 64, height: 48, red: 90, green: 90, blue: 90)),
            ("a sliver, one analysis pixel wide", TestImages.photoLike(width: 3, height: 2000, seed: 13)),
            ("white in bins of 24 × 23", RGBImage(width: 6144, height: 23, red: 255, green: 255, blue: 255)),
        ]
    }()

    @Test(arguments: images.indices)
    func theAnalysisCopyAndItsHistograms(_ index: Int) {
        let (name, image) = Self.images[index]
        let analysis = AnalysisImage(image)
        let expected = Reference.reduced(image, width: analysis.width, height: analysis.height)
        #expect(Array(analysis.luma) == expected.luma, "\(name): luma")
        #expect(Array(analysis.chroma) == expected.chroma, "\(name): chroma")
        #expect(Array(analysis.colour) == expected.colour, "\(name): colour")
        #expect(Array(analysis.red) == expected.red, "\(name): red")
        #expect(analysis.redPerRow == expected.redPerRow, "\(name): red per row")
        let histograms = Reference.histograms(analysis)
        #expect(analysis.lumaHistogram == histograms.luma, "\(name): luma histogram")
        #expect(analysis.paleLumaHistogram == histograms.pale, "\(name): pale luma histogram")
        #expect(analysis.channelHistograms == histograms.channels, "\(name): channel histograms")
        #expect(analysis.chromaSum == histograms.chromaSum, "\(name): chroma sum")
    }

    @Test(arguments: images.indices)
    func theBlurAndScreenshotMeasures(_ index: Int) {
        let (name, image) = Self.images[index]
        let analysis = AnalysisImage(image)
        #expect(Sharpness.measure(analysis) == Reference.sharpness(analysis), "\(name): blur")
        let screenshot = ScreenshotMeasure(analysis), expected = Reference.screenshot(analysis)
        #expect(screenshot.flatFraction == expected.flat, "\(name): flat")
        #expect(screenshot.noise == expected.noise, "\(name): noise")
        #expect(screenshot.edgeFraction == expected.edges, "\(name): edges")
    }

    /// The measures must be able to tell the images apart, or equal numbers would prove little.
    @Test func theImagesMeasureDifferently() {
        let blurs = Set(Self.images.map { Sharpness.measure(AnalysisImage($0.image)) })
        #expect(blurs.count >= 7, "\(blurs.sorted())")
    }
}

/// The Swift loops CKernels' analysis passes replaced, as they were.
private enum Reference {
    static func reduced(_ image: RGBImage, width: Int, height: Int)
        -> (luma: [UInt8], chroma: [UInt8], colour: [UInt32], red: [UInt8], redPerRow: [Int])
    {
        let sourceWidth = image.width, sourceHeight = image.height, source = image.storage.base
        var luma = [UInt8](repeating: 0, count: width * height), chroma = luma, red = luma
        var colour = [UInt32](repeating: 0, count: width * height), redPerRow = [Int](repeating: 0, count: height)
        let columnStart = (0...width).map { $0 * sourceWidth / width }
        let rowStart = (0...height).map { $0 * sourceHeight / height }
        for y in 0..<height {
            for x in 0..<width {
                var r = 0, g = 0, b = 0
                for sy in rowStart[y]..<rowStart[y + 1] {
                    for sx in columnStart[x]..<columnStart[x + 1] {
                        let p = (sy * sourceWidth + sx) * 3
                        r += Int(source[p])
                        g += Int(source[p + 1])
                        b += Int(source[p + 2])
                    }
                }
                let size = (rowStart[y + 1] - rowStart[y]) * (columnStart[x + 1] - columnStart[x])
                let scale = (65536 + size / 2) / size
                r = min((r * scale + 32768) >> 16, 255)
                g = min((g * scale + 32768) >> 16, 255)
                b = min((b * scale + 32768) >> 16, 255)
                let i = y * width + x
                luma[i] = UInt8((77 * r + 150 * g + 29 * b + 128) >> 8)
                chroma[i] = UInt8(max(r, g, b) - min(r, g, b))
                colour[i] = UInt32(r << 16 | g << 8 | b)
                let redness = r - max(g, b)
                red[i] = redness > 20 && redness * 100 > 12 * r ? 1 : 0
                redPerRow[y] += Int(red[i])
            }
        }
        return (luma, chroma, colour, red, redPerRow)
    }

    static func histograms(_ image: AnalysisImage) -> (luma: [Int], pale: [Int], channels: [Int], chromaSum: Int) {
        var luma = [Int](repeating: 0, count: 256), pale = luma, channels = [Int](repeating: 0, count: 768), chromaSum = 0
        for i in 0..<image.pixelCount {
            let value = Int(image.luma[i]), c = Int(image.chroma[i]), packed = image.colour[i]
            luma[value] += 1
            if c <= AnalysisImage.paleChroma { pale[value] += 1 }
            channels[Int(packed >> 16 & 0xFF)] += 1
            channels[256 + Int(packed >> 8 & 0xFF)] += 1
            channels[512 + Int(packed & 0xFF)] += 1
            chromaSum += c
        }
        return (luma, pale, channels, chromaSum)
    }

    static func sharpness(_ image: AnalysisImage) -> Double {
        var plane = Array(image.luma), width = image.width, height = image.height
        var blur = 0.0
        for _ in 0..<Sharpness.scales {
            guard width > 2 * Sharpness.reblurTaps, height > 2 * Sharpness.reblurTaps else { break }
            var faint = true
            for (dx, dy) in Sharpness.directions {
                guard let measured = directional(plane, width: width, height: height, dx: dx, dy: dy) else { continue }
                blur = max(blur, measured.blur)
                if measured.strongestStep > Sharpness.faintStep { faint = false }
            }
            guard faint else { break }
            var half = [UInt8](repeating: 0, count: (width / 2) * (height / 2))
            for y in 0..<(height / 2) {
                for x in 0..<(width / 2) {
                    let top = 2 * y * width + 2 * x, bottom = top + width
                    half[y * (width / 2) + x] = UInt8(
                        (Int(plane[top]) + Int(plane[top + 1]) + Int(plane[bottom]) + Int(plane[bottom + 1]) + 2) / 4)
                }
            }
            (plane, width, height) = (half, width / 2, height / 2)
        }
        return blur
    }

    private static func directional(_ luma: [UInt8], width: Int, height: Int, dx: Int, dy: Int) -> (blur: Double, strongestStep: Int)? {
        let ahead = Sharpness.reblurTaps / 2, behind = ahead + 1
        let xRange = (behind * max(0, dx) + ahead * max(0, -dx))..<(width - ahead * max(0, dx) - behind * max(0, -dx))
        let yRange = (behind * max(0, dy) + ahead * max(0, -dy))..<(height - ahead * max(0, dy) - behind * max(0, -dy))
        guard !xRange.isEmpty, !yRange.isEmpty else { return nil }
        let offset = dy * width + dx
        var histogram = [Int](repeating: 0, count: 256)
        for y in yRange {
            for x in xRange { histogram[abs(Int(luma[y * width + x]) - Int(luma[y * width + x - offset]))] += 1 }
        }
        var wanted = max(1, Int(Double(xRange.count * yRange.count) * Sharpness.strongestShare)), cutoff = 255
        while cutoff > 0 && wanted > histogram[cutoff] {
            wanted -= histogram[cutoff]
            cutoff -= 1
        }
        guard cutoff >= 1 else { return nil }
        var total = 0, kept = 0
        for y in yRange {
            for x in xRange {
                let p = y * width + x
                let step = abs(Int(luma[p]) - Int(luma[p - offset]))
                guard step >= cutoff else { continue }
                let reblurred = abs(Int(luma[p + ahead * offset]) - Int(luma[p - behind * offset]))
                total += step * Sharpness.reblurTaps
                kept += max(0, step * Sharpness.reblurTaps - reblurred)
            }
        }
        guard total > 0 else { return nil }
        return (1 - Double(kept) / Double(total), cutoff)
    }

    static func screenshot(_ image: AnalysisImage) -> (flat: Double, noise: Double, edges: Double) {
        let width = image.width, height = image.height
        var flat = 0, still = 0, grain = 0, edges = 0
        for y in 0..<max(0, height - 1) {
            for x in 0..<max(0, width - 1) {
                let i = y * width + x
                if image.colour[i] == image.colour[i + 1] && image.colour[i] == image.colour[i + width] { flat += 1 }
                let level = Int(image.luma[i])
                let step = max(abs(Int(image.luma[i + 1]) - level), abs(Int(image.luma[i + width]) - level))
                if step == 0 { still += 1 } else if step <= 3 { grain += 1 } else if step >= 40 { edges += 1 }
            }
        }
        let count = Double(max(1, (width - 1) * (height - 1)))
        return (Double(flat) / count, still + grain == 0 ? 1 : Double(grain) / Double(still + grain), Double(edges) / count)
    }
}
