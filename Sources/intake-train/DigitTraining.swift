// Training the counter-wheel digit reader on the haverland crops of the shared corpus
// (meters/digits, Apache-2.0), written to etc/meters/digits.weights (format: DigitWeightsFile).
//
// With the defaults it takes about 8 minutes on two cores and reads 99.73% of the validation crops
// within half a digit (99.49% within 0.2, 98.33% within 0.1). Each training crop is changed in view,
// light and colour (`WheelViewChange`), and one training wheel in seven is rendered in another
// typeface (`WheelRenderer`): what the wheels of meters outside the corpus differ by.
//
// Deterministic: the validation split is a hash of each path (1 in 10, never trained on), and
// every random choice (initial weights, order, augmentation) derives from --seed, so the same
// command (same --threads) on the same corpus writes the same weights. The threads share each
// mini-batch and their gradients are added in a fixed order.

import Foundation
import IntakeCodecs
import IntakeMeter
import IntakeTraining
import IntakeCore

// MARK: Data

/// Every crop decoded once and resampled to the input size, as luma in 0...1 exactly as the meter
/// reader prepares it (what validation measures), and as red, green and blue planes (what
/// augmentation changes before it takes luma); neither normalised yet, so that augmentation works
/// on the pixels before the normalisation inference applies.
struct Dataset {
    var samples: [DigitSample] = []
    var pixels: [Float] = []
    var planes: [Float] = []
    let pixelsPerSample: Int
}

func loadDataset(folder: String, samples all: [DigitSample], width: Int, height: Int, threads: Int) -> (Dataset, failures: [String]) {
    let perSample = width * height
    let results = UnsafeMutableBufferPointer<Float>.allocate(capacity: all.count * perSample)
    defer { results.deallocate() }
    let colours = UnsafeMutableBufferPointer<Float>.allocate(capacity: all.count * 3 * perSample)
    defer { colours.deallocate() }
    let ok = UnsafeMutableBufferPointer<Bool>.allocate(capacity: all.count)
    defer { ok.deallocate() }
    let errors = UnsafeMutableBufferPointer<String?>.allocate(capacity: all.count)
    errors.initialize(repeating: nil)
    defer {
        errors.deinitialize()
        errors.deallocate()
    }
    inParallel(threads) { part in
        guard let codec = try? JPEGCodec() else { fatalError("TurboJPEG could not be initialised") }
        var index = part
        while index < all.count {
            do throws(CodecError) {
                guard let bytes = try? WholeFile.read(folder + "/" + all[index].path) else {
                    throw CodecError("unreadable file")
                }
                let crop = try DigitCorpus.decodeCrop(bytes, jpeg: codec)
                DigitPreprocessing.grayscale(crop, width: width, height: height, into: results.baseAddress! + index * perSample)
                colourPlanes(crop, width: width, height: height, into: colours.baseAddress! + index * 3 * perSample)
                ok[index] = true
            } catch {
                ok[index] = false
                errors[index] = "\(all[index].path): \(error.reason)"
            }
            index += threads
        }
    }
    var dataset = Dataset(pixelsPerSample: perSample)
    var failures: [String] = []
    for index in all.indices {
        if ok[index] {
            dataset.samples.append(all[index])
            dataset.pixels.append(contentsOf: results[(index * perSample)..<((index + 1) * perSample)])
            dataset.planes.append(contentsOf: colours[(index * 3 * perSample)..<((index + 1) * 3 * perSample)])
        } else {
            failures.append(errors[index] ?? all[index].path)
        }
    }
    return (dataset, failures)
}

/// `crop`'s red, green and blue planes in 0...1, each resampled to `width` × `height` as
/// `DigitPreprocessing.grayscale` resamples luma, one after another into `output`.
func colourPlanes(_ crop: RGBImage, width: Int, height: Int, into output: UnsafeMutablePointer<Float>) {
    let count = crop.width * crop.height, pixels = crop.storage.base
    let plane = UnsafeMutablePointer<Float>.allocate(capacity: count)
    defer { plane.deallocate() }
    for channel in 0..<3 {
        for i in 0..<count { plane[i] = Float(pixels[i * 3 + channel]) * (1 / 255) }
        DigitPreprocessing.resample(plane, width: crop.width, height: crop.height, to: width, height, into: output + channel * width * height)
    }
}

struct Figures {
    var within05 = 0, within02 = 0, within01 = 0, exactTenth = 0, count = 0
    var confidenceSum = 0.0
    var worst: [(path: String, label: Double, reading: DigitReading)] = []
    var outcomes: [(distance: Double, confidence: Double)] = []

    /// At a confidence cut-off: the share of crops kept, and the share of those within 0.5.
    func kept(atConfidence threshold: Double) -> (kept: Double, right: Double) {
        let kept = outcomes.filter { $0.confidence >= threshold }
        let right = kept.filter { $0.distance <= 0.5 + 1e-9 }.count
        return (Double(kept.count) / Double(max(outcomes.count, 1)), Double(right) / Double(max(kept.count, 1)))
    }

    func percent(_ n: Int) -> String { String(format: "%.2f%%", 100 * Double(n) / Double(max(count, 1))) }
}

/// The validation figures of `model` on `indices` of `dataset`, both cores: on the crops as the
/// meter reader prepares them, or on the crops under one fixed `change` (`WheelViewChange.shifts`).
func evaluateDigits(_ model: DigitModel, _ dataset: Dataset, _ indices: [Int], threads: Int, change: WheelViewChange? = nil) -> Figures {
    let network = model.network
    let readings = UnsafeMutableBufferPointer<DigitReading>.allocate(capacity: indices.count)
    defer { readings.deallocate() }
    dataset.pixels.withUnsafeBufferPointer { pixels in
        dataset.planes.withUnsafeBufferPointer { planes in
            inParallel(threads) { part in
                let input = UnsafeMutablePointer<Float>.allocate(capacity: network.input.count)
                defer { input.deallocate() }
                var unused = SplitMix64(seed: 0, stream: 0, item: 0)  // the shifts add no noise
                var i = part
                while i < indices.count {
                    let sample = indices[i]
                    if let change {
                        change.apply(
                            planes: planes.baseAddress! + sample * 3 * dataset.pixelsPerSample, width: network.input.width,
                            height: network.input.height, into: input, random: &unused)
                    } else {
                        input.update(from: pixels.baseAddress! + sample * dataset.pixelsPerSample, count: network.input.count)
                    }
                    DigitPreprocessing.normalise(input, count: network.input.count)
                    (readings.baseAddress! + i).initialize(to: model.read(preprocessed: input))
                    i += threads
                }
            }
        }
    }
    var figures = Figures()
    for (i, index) in indices.enumerated() {
        let label = dataset.samples[index].value, reading = readings[i]
        let distance = DigitReading.circularDistance(reading.value, label)
        figures.count += 1
        if distance <= 0.5 + 1e-9 { figures.within05 += 1 } else { figures.worst.append((dataset.samples[index].path, label, reading)) }
        if distance <= 0.2 + 1e-9 { figures.within02 += 1 }
        if distance <= 0.1 + 1e-9 { figures.within01 += 1 }
        if Int((reading.value * 10).rounded()) % 100 == dataset.samples[index].tenths { figures.exactTenth += 1 }
        figures.confidenceSum += reading.confidence
        figures.outcomes.append((distance, reading.confidence))
    }
    return figures
}

/// The corpus's labelled wheel crops, loaded, with the validation crops (1 in 10 by a hash of
/// the path, never trained on) and the training crops.
func loadDigitCorpus(_ options: TrainingOptions) -> (dataset: Dataset, training: [Int], validation: [Int]) {
    let corpusRoot = options.corpusRoot
    guard let folder = DigitCorpus.digitsFolder(corpusRoot) else {
        fail("no labels.csv in \(corpusRoot) or \(corpusRoot)/meters/digits (use --corpus PATH)")
    }
    let started = seconds()
    let labelled: [DigitSample]
    do { labelled = try DigitCorpus.samples(folder: folder) } catch { fail("\(error)") }
    let (dataset, failures) = loadDataset(
        folder: folder, samples: labelled, width: options.inputWidth, height: options.inputHeight, threads: options.threads)
    for failure in failures.prefix(10) { say("skipped \(failure)") }
    let validation = dataset.samples.indices.filter { DigitCorpus.isValidation(dataset.samples[$0].path) }
    let training = dataset.samples.indices.filter { !DigitCorpus.isValidation(dataset.samples[$0].path) }
    say(
        "corpus \(folder): \(labelled.count) labelled, \(failures.count) undecodable; \(training.count) training, \(validation.count) validation; "
            + String(format: "loaded in %.1f s", seconds() - started))
    return (dataset, training, validation)
}

/// Trains the digit model on the corpus's digit crops and writes its weights.
func trainDigits(_ options: TrainingOptions) {
    let started = seconds()
    let network: DigitNetwork
    do {
        network = try DigitNetwork(inputWidth: options.inputWidth, inputHeight: options.inputHeight, layers: options.layers)
    } catch {
        fail("\(error)")
    }
    let (dataset, training, validation) = loadDigitCorpus(options)
    say("network: input \(options.inputWidth)×\(options.inputHeight), \(describe(options.layers)), \(network.parameterCount) parameters")

    // Items past the corpus's crops are wheels rendered afresh each time (`WheelRenderer`).
    let rendered = Int((Double(training.count) * options.renderedWheelShare / (1 - options.renderedWheelShare)).rounded())
    let firstRendered = dataset.samples.count
    say("\(rendered) rendered wheels an epoch among the \(training.count) training crops")
    let curriculum = Curriculum(
        items: training + (firstRendered..<(firstRendered + rendered)),
        prepare: { index, input, random in
            let change = WheelViewChange.random(&random, inversion: options.inversion)
            let label: Int
            if index >= firstRendered {
                let wheel = WheelRenderer(tenths: random.below(100), random: &random)
                let planes = UnsafeMutablePointer<Float>.allocate(capacity: 3 * dataset.pixelsPerSample)
                defer { planes.deallocate() }
                wheel.draw(width: options.inputWidth, height: options.inputHeight, into: planes)
                change.apply(planes: planes, width: options.inputWidth, height: options.inputHeight, into: input, random: &random)
                label = wheel.tenths
            } else {
                dataset.planes.withUnsafeBufferPointer { planes in
                    change.apply(
                        planes: planes.baseAddress! + index * 3 * dataset.pixelsPerSample, width: options.inputWidth,
                        height: options.inputHeight, into: input, random: &random)
                }
                label = dataset.samples[index].tenths
            }
            DigitPreprocessing.normalise(input, count: options.inputWidth * options.inputHeight)
            return Double(label)
        },
        report: { parameters in
            let figures = evaluateDigits(DigitModel(network: network, parameters: parameters), dataset, validation, threads: options.threads)
            return "validation within 0.5 \(figures.percent(figures.within05))  0.2 \(figures.percent(figures.within02))  "
                + "0.1 \(figures.percent(figures.within01))"
        })
    let trained = train(network, curriculum, options: options)
    // The figures are those of the weights as shipped: rounded to Float16 as the file stores them.
    reportDigits(DigitModel(network: network, parameters: DigitWeightsFile.rounded(trained)), dataset, validation, threads: options.threads)
    do {
        try DigitWeightsFile.write(network, kind: .digits, parameters: trained, to: options.out)
    } catch {
        fail("\(error)")
    }
    say(
        String(format: "wrote %@ (%d bytes) in %.0f s", options.out, DigitWeightsFile.encode(network, parameters: trained).count, seconds() - started)
    )
}

/// Only measures the digit weights at `path` on the validation crops, as training ends by doing.
func measureDigits(weights path: String, options: TrainingOptions) {
    let model: DigitModel
    do { model = try DigitModel(weightsAt: path, kind: .digits) } catch { fail("\(path): \(error)") }
    var options = options
    (options.inputWidth, options.inputHeight) = (model.network.input.width, model.network.input.height)
    let (dataset, _, validation) = loadDigitCorpus(options)
    reportDigits(model, dataset, validation, threads: options.threads)
}

/// Prints `model`'s figures on the validation crops: as the meter reader sees them, by confidence,
/// its worst misses, and under each of the fixed changes of view (`WheelViewChange.shifts`) that
/// stand in for wheels of other meters.
func reportDigits(_ model: DigitModel, _ dataset: Dataset, _ validation: [Int], threads: Int) {
    let final = evaluateDigits(model, dataset, validation, threads: threads)
    say("validation (\(final.count) crops, never trained on), with the weights as written:")
    say("  within 0.5 (half a digit): \(final.percent(final.within05))")
    say("  within 0.2:                \(final.percent(final.within02))")
    say("  within 0.1:                \(final.percent(final.within01))")
    say("  tenth exact:               \(final.percent(final.exactTenth))")
    say(String(format: "  mean confidence:           %.3f", final.confidenceSum / Double(max(final.count, 1))))
    for threshold in [0.5, 0.7, 0.9] {
        let (kept, right) = final.kept(atConfidence: threshold)
        say(String(format: "  confidence ≥ %.1f: %.2f%% of crops, %.2f%% of them within 0.5", threshold, 100 * kept, 100 * right))
    }
    for miss in final.worst.prefix(30) {
        say(String(format: "  miss %@: label %.1f read %.2f (confidence %.2f)", miss.path, miss.label, miss.reading.value, miss.reading.confidence))
    }
    say("validation under one change of view each (what other meters' wheels differ by):")
    for shift in WheelViewChange.shifts {
        let figures = evaluateDigits(model, dataset, validation, threads: threads, change: shift.change)
        say("  \(shift.name.padding(toLength: 22, withPad: " ", startingAt: 0)) within 0.5 \(figures.percent(figures.within05))  0.2 \(figures.percent(figures.within02))")
    }
}

/// Writes `count` rendered wheels, as the trainer shows them (changed by `WheelViewChange`, before
/// normalisation), enlarged four times as grey PGM files into `folder`, to look at.
func writeWheelPreviews(_ count: Int, folder: String, options: TrainingOptions) {
    let width = options.inputWidth, height = options.inputHeight, zoom = 4
    let planes = UnsafeMutablePointer<Float>.allocate(capacity: 3 * width * height)
    defer { planes.deallocate() }
    let luma = UnsafeMutablePointer<Float>.allocate(capacity: width * height)
    defer { luma.deallocate() }
    for item in 0..<count {
        var random = SplitMix64(seed: options.seed, stream: 3, item: UInt64(item))
        let change = WheelViewChange.random(&random, inversion: options.inversion)
        let wheel = WheelRenderer(tenths: random.below(100), random: &random)
        wheel.draw(width: width, height: height, into: planes)
        change.apply(planes: planes, width: width, height: height, into: luma, random: &random)
        var bytes = Array("P5\n\(width * zoom) \(height * zoom)\n255\n".utf8)
        for y in 0..<(height * zoom) {
            for x in 0..<(width * zoom) { bytes.append(UInt8(min(max(luma[(y / zoom) * width + x / zoom] * 255, 0), 255))) }
        }
        _ = FileManager.default.createFile(
            atPath: folder + String(format: "/%.1f_%04d.pgm", Double(wheel.tenths) / 10, item), contents: Data(bytes))
    }
}
