import ArgumentParser
import IntakeMeter

/// intake-train: trains the meter reader's models and writes their weights (format:
/// DigitWeightsFile). Digits learn from the labelled wheel crops of the corpus; dials learn only
/// from dials this program renders (DialRenderer), and the corpus's needle crops only measure
/// them. Run from the package root, it finds ../shared/corpus (or $INTAKE_CORPUS). Both are
/// deterministic for a seed.
@main
struct IntakeTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "intake-train",
        abstract: "Train the meter reader's digit and dial models (make train-digits, make train-dials); measure the quality labels (make bench-labels).",
        subcommands: [Digits.self, Dials.self, Labels.self],
        defaultSubcommand: Digits.self)
}

/// What both models' training takes; each model has its own defaults for what is not given.
struct TrainingFlags: ParsableArguments {
    @Option(help: "The corpus root (default: $INTAKE_CORPUS, else ../shared/corpus).")
    var corpus: String?
    @Option(help: "Where to write the weights (default: etc/meters/digits.weights or dials.weights).")
    var out: String?
    @Option(help: "Passes over the training data.")
    var epochs: Int?
    @Option(help: "The seed every random choice derives from.")
    var seed: UInt64?
    @Option(name: .customLong("batch"), help: "Samples per step.")
    var batchSize: Int?
    @Option(name: .customLong("lr"), help: "Peak learning rate (Adam, cosine schedule with warm-up).")
    var learningRate: Float?
    @Option(help: "Training threads.")
    var threads: Int?
    @Option(name: .customLong("sigma"), help: "Width, in classes, of the circular Gaussian the targets are smoothed with.")
    var labelSigma: Double?
    @Option(help: "Layers: c<channels> (3×3 convolution), p (2×2 pool), d<units> (dense), e.g. c32,p,c64,p,d128.")
    var layers: String?

    func validate() throws {
        for (name, value) in [("epochs", epochs), ("batch", batchSize), ("threads", threads)] {
            if let value, value < (name == "batch" ? 2 : 1) { throw ValidationError("--\(name) must be at least \(name == "batch" ? 2 : 1)") }
        }
        if let learningRate, learningRate <= 0 { throw ValidationError("--lr must be positive") }
        if let labelSigma, labelSigma <= 0 { throw ValidationError("--sigma must be positive") }
    }

    /// `options` with every flag given put over its defaults.
    func apply(to options: inout TrainingOptions) {
        if let corpus { options.corpus = corpus }
        if let out { options.out = out }
        if let epochs { options.epochs = epochs }
        if let seed { options.seed = seed }
        if let batchSize { options.batchSize = batchSize }
        if let learningRate { options.learningRate = learningRate }
        if let threads { options.threads = threads }
        if let labelSigma { options.labelSigma = labelSigma }
        if let layers { options.layers = TrainingOptions.parseLayers(layers) }
    }
}

struct Digits: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Train the digit model on the corpus's labelled wheel crops.")

    @OptionGroup var flags: TrainingFlags
    @Option(name: .customLong("invert"), help: "How often a training crop is shown in negative (0–1).")
    var inversion: Float?
    @Option(help: "Share of the training wheels rendered in another typeface (0–0.9).")
    var renderedShare: Double?
    @Option(help: "Only measure these weights on the validation crops.")
    var measure: String?
    @Option(help: "Only write 64 rendered wheels, as training shows them, into this folder, to look at.")
    var preview: String?

    func validate() throws {
        if let renderedShare, !(0...0.9).contains(renderedShare) { throw ValidationError("--rendered-share must be from 0 to 0.9") }
    }

    func run() {
        var options = TrainingOptions(kind: .digits)
        flags.apply(to: &options)
        if let inversion { options.inversion = inversion }
        if let renderedShare { options.renderedWheelShare = renderedShare }
        if let preview {
            writeWheelPreviews(64, folder: preview, options: options)
            say("wrote 64 rendered wheels to \(preview)")
        } else if let measure {
            measureDigits(weights: measure, options: options)
        } else {
            trainDigits(options)
        }
    }
}

struct Dials: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train the dial model on rendered dials; the corpus's needle crops only measure it.")

    @OptionGroup var flags: TrainingFlags
    @Option(help: "Dials rendered for each epoch (each epoch renders new ones).")
    var dialsPerEpoch: Int?
    @Option(help: "Side of the square input, in pixels.")
    var size: Int?
    @Option(help: "Only write 64 rendered dials into this folder, to look at.")
    var preview: String?
    @Option(help: "Only measure these weights on the needle crops.")
    var measure: String?
    @Option(help: "With --measure: write the tuning half's readings to this file.")
    var dump: String?

    func validate() throws {
        if let dialsPerEpoch, dialsPerEpoch < 1 { throw ValidationError("--dials-per-epoch must be at least 1") }
        if let size, !(4...256).contains(size) { throw ValidationError("--size must be from 4 to 256") }
    }

    func run() {
        if let preview {
            writePreviews(64, folder: preview, seed: 1)
            say("wrote 64 rendered dials to \(preview)")
            return
        }
        var options = TrainingOptions(kind: .dials)
        flags.apply(to: &options)
        if let dialsPerEpoch { options.dialsPerEpoch = dialsPerEpoch }
        if let size { (options.inputWidth, options.inputHeight) = (size, size) }
        if let measure {
            measureDials(weights: measure, dump: dump, options: options)
        } else {
            trainDials(options)
        }
    }
}
