import CKernels

#if canImport(Glibc)
    import Glibc
#endif

/// The network of the digit and dial readers: a short stack of 3×3 convolutions, max-pools and
/// dense layers over a small crop of one or more channels (luma; luma and redness for dials), in
/// Swift (the convolutions in C with AVX where the processor has it, `CKernels`), ending in 100
/// classes, tenths 0.0…9.9. Forward here, for inference and training;
/// the backward pass lives with the trainer (IntakeTraining), which alone needs it.
///
/// Activations are stored height × width × channels (channels last), weights with the output
/// channel innermost, so that every inner loop runs over contiguous floats, sixteen or thirty-two
/// channels at a time in SIMD registers, and needs no BLAS. One `DigitNetwork` is immutable and
/// shared; callers bring their own buffers.
package struct DigitNetwork: Sendable {
    /// One layer, in the order the input goes through them.
    package enum Layer: Equatable, Sendable {
        /// A 3×3 convolution, stride 1, zero padding 1, followed by ReLU.
        case convolution(outputs: Int)
        /// A 2×2 max-pool, stride 2 (an odd last row or column is dropped).
        case maxPool
        /// A fully connected layer over the flattened input, with ReLU unless it is the last.
        case dense(outputs: Int, relu: Bool)
    }

    /// The size of one activation, height × width × channels.
    package struct Shape: Equatable, Sendable {
        package var height: Int
        package var width: Int
        package var channels: Int
        package var count: Int { height * width * channels }
    }

    package let layers: [Layer]
    /// `shapes[0]` is the input, `shapes[i + 1]` the output of `layers[i]`.
    package let shapes: [Shape]
    /// Where `layers[i]`'s weights start in the parameter array; its biases follow them.
    package let weightOffsets: [Int]
    /// How many weights `layers[i]` has (0 for a pool); its bias count is its output channels.
    package let weightCounts: [Int]
    /// How many weights and biases there are, all layers together.
    package let parameterCount: Int
    /// Where `layers[i]`'s output starts in an activations buffer.
    package let activationOffsets: [Int]
    /// The floats an activations buffer needs: every layer's output, one after the other.
    package let activationCount: Int

    package var input: Shape { shapes[0] }
    package var outputCount: Int { shapes[layers.count].count }
    /// The largest activation, the size of the trainer's gradient buffers.
    package var largestActivation: Int { shapes.map(\.count).max() ?? 0 }

    /// Checks that the layers fit together and lays out parameters and activations.
    package init(inputWidth: Int, inputHeight: Int, inputChannels: Int = 1, layers: [Layer]) throws(DigitModelError) {
        guard (4...256).contains(inputWidth), (4...256).contains(inputHeight) else {
            throw DigitModelError("input size \(inputWidth)×\(inputHeight) is outside 4…256")
        }
        guard (1...8).contains(inputChannels) else { throw DigitModelError("\(inputChannels) input channels is outside 1…8") }
        guard !layers.isEmpty, case .dense(DigitDecoding.classCount, false) = layers.last else {
            throw DigitModelError("the last layer must be a dense layer of \(DigitDecoding.classCount) classes without ReLU")
        }
        var shape = Shape(height: inputHeight, width: inputWidth, channels: inputChannels)
        var shapes = [shape], weightOffsets: [Int] = [], weightCounts: [Int] = [], activationOffsets: [Int] = []
        var parameters = 0, activations = 0
        for (index, layer) in layers.enumerated() {
            var weights = 0
            switch layer {
            case .convolution(let outputs):
                guard shape.width > 1, outputs > 0, outputs % Block.scalarCount == 0, outputs <= 512 else {
                    throw DigitModelError(
                        "layer \(index): a convolution needs a multiple of \(Block.scalarCount) channels up to 512 (got \(outputs)) on a spatial input"
                    )
                }
                weights = 9 * shape.channels * outputs
                shape.channels = outputs
            case .maxPool:
                guard shape.width >= 2, shape.height >= 2 else { throw DigitModelError("layer \(index): nothing left to pool") }
                shape.width /= 2
                shape.height /= 2
            case .dense(let outputs, let relu):
                guard outputs > 0, outputs <= 4096 else { throw DigitModelError("layer \(index): dense layer of \(outputs) outputs") }
                guard relu || index == layers.count - 1 else {
                    throw DigitModelError("layer \(index): only the last dense layer may be linear")
                }
                weights = shape.count * outputs
                shape = Shape(height: 1, width: 1, channels: outputs)
            }
            if index < layers.count - 1, case .dense = layer, case .convolution = layers[index + 1] {
                throw DigitModelError("layer \(index + 1): a convolution cannot follow a dense layer")
            }
            weightOffsets.append(parameters)
            weightCounts.append(weights)
            parameters += weights + (weights > 0 ? shape.channels : 0)
            activationOffsets.append(activations)
            activations += shape.count
            shapes.append(shape)
        }
        self.layers = layers
        self.shapes = shapes
        self.weightOffsets = weightOffsets
        self.weightCounts = weightCounts
        self.parameterCount = parameters
        self.activationOffsets = activationOffsets
        self.activationCount = activations
    }

    // MARK: Forward

    /// Whether this processor runs the AVX convolution (`intake_convolution3x3_avx`): the build
    /// targets baseline x86-64, whose SSE registers hold half as many floats.
    package static let hasAVX = intake_has_avx()

    /// Runs `input` (the preprocessed crop) through every layer, writing each layer's output into
    /// `activations` (at `activationOffsets`); the logits are the last `outputCount` floats.
    /// The convolutions run in AVX where the processor has it, with the same results to the last
    /// bit (`usingAVX: false` keeps them in Swift, for the test that says so).
    package func forward(
        input: UnsafePointer<Float>, parameters: UnsafePointer<Float>, activations: UnsafeMutablePointer<Float>, usingAVX: Bool = Self.hasAVX
    ) {
        var source = input
        for (index, layer) in layers.enumerated() {
            let from = shapes[index], to = shapes[index + 1]
            let output = activations + activationOffsets[index]
            let weights = parameters + weightOffsets[index], bias = weights + weightCounts[index]
            switch layer {
            case .convolution:
                if usingAVX {
                    intake_convolution3x3_avx(
                        source, Int32(from.height), Int32(from.width), Int32(from.channels), weights, bias, output, Int32(to.channels))
                } else {
                    Self.convolutionForward(source, from, weights, bias, output, to.channels)
                }
            case .maxPool:
                Self.maxPoolForward(source, from, output)
            case .dense(let outputs, let relu):
                Self.denseForward(source, from.count, weights, bias, output, outputs, relu: relu)
            }
            source = UnsafePointer(output)
        }
    }

    /// Softmax of `logits` in place, in Double for the sums so that tiny probabilities still add up.
    package static func softmax(_ logits: UnsafeMutablePointer<Float>, count: Int) {
        var largest = -Float.infinity
        for i in 0..<count { largest = max(largest, logits[i]) }
        var sum = 0.0
        for i in 0..<count {
            let e = exp(Double(logits[i] - largest))
            logits[i] = Float(e)
            sum += e
        }
        let scale = Float(1 / sum)
        for i in 0..<count { logits[i] *= scale }
    }

    private static func convolutionForward(
        _ input: UnsafePointer<Float>, _ shape: Shape, _ weights: UnsafePointer<Float>, _ bias: UnsafePointer<Float>,
        _ output: UnsafeMutablePointer<Float>, _ outputs: Int
    ) {
        let height = shape.height, width = shape.width, inputs = shape.channels
        // Two blocks of output channels at a time, accumulated in registers over every tap.
        for block in stride(from: 0, to: outputs, by: 2 * Block.scalarCount) {
            let pair = block + Block.scalarCount < outputs
            for y in 0..<height {
                let rows = max(0, 1 - y)..<min(3, height + 1 - y)
                for x in 0..<width {
                    let columns = max(0, 1 - x)..<min(3, width + 1 - x)
                    var sum = loadBlock(bias + block)
                    var sum2 = pair ? loadBlock(bias + block + Block.scalarCount) : Block()
                    for ky in rows {
                        for kx in columns {
                            let pixel = input + ((y &+ ky &- 1) &* width &+ (x &+ kx &- 1)) &* inputs
                            var tap = weights + ((ky &* 3 &+ kx) &* inputs &* outputs &+ block)
                            // No test for the zeros ReLU leaves: the branch mispredicts on half
                            // of them, and a zero input adds a zero.
                            if pair {
                                for c in 0..<inputs {
                                    let a = pixel[c]
                                    sum += a * loadBlock(tap)
                                    sum2 += a * loadBlock(tap + Block.scalarCount)
                                    tap += outputs
                                }
                            } else {
                                for c in 0..<inputs {
                                    sum += pixel[c] * loadBlock(tap)
                                    tap += outputs
                                }
                            }
                        }
                    }
                    let out = output + ((y &* width &+ x) &* outputs &+ block)
                    storeBlock(sum.replacing(with: 0, where: sum .< 0), out)
                    if pair { storeBlock(sum2.replacing(with: 0, where: sum2 .< 0), out + Block.scalarCount) }
                }
            }
        }
    }

    private static func maxPoolForward(_ input: UnsafePointer<Float>, _ shape: Shape, _ output: UnsafeMutablePointer<Float>) {
        let width = shape.width, channels = shape.channels
        for y in 0..<(shape.height / 2) {
            for x in 0..<(width / 2) {
                let a = input + ((2 * y) * width + 2 * x) * channels, b = a + channels
                let c = a + width * channels, d = c + channels
                let out = output + (y * (width / 2) + x) * channels
                for k in 0..<channels { out[k] = max(max(a[k], b[k]), max(c[k], d[k])) }
            }
        }
    }

    private static func denseForward(
        _ input: UnsafePointer<Float>, _ inputs: Int, _ weights: UnsafePointer<Float>, _ bias: UnsafePointer<Float>,
        _ output: UnsafeMutablePointer<Float>, _ outputs: Int, relu: Bool
    ) {
        for o in 0..<outputs { output[o] = bias[o] }
        for i in 0..<inputs {
            let a = input[i]
            if a == 0 { continue }
            axpy(outputs, a, weights + i * outputs, output)
        }
        if relu { for o in 0..<outputs where output[o] < 0 { output[o] = 0 } }
    }
}

// MARK: Kernels

/// The unit of channels a convolution works in: sixteen floats, four SSE registers. The kernels
/// keep two blocks of accumulators live where the channels allow (eight registers); a SIMD32
/// type instead is split badly by the compiler on baseline x86-64 and runs ten times slower.
@usableFromInline package typealias Block = SIMD16<Float>

@inlinable @inline(__always)
package func loadBlock(_ pointer: UnsafePointer<Float>) -> Block {
    UnsafeRawPointer(pointer).loadUnaligned(as: Block.self)
}

@inlinable @inline(__always)
package func loadBlock(_ pointer: UnsafeMutablePointer<Float>) -> Block {
    UnsafeRawPointer(pointer).loadUnaligned(as: Block.self)
}

@inlinable @inline(__always)
package func storeBlock(_ value: Block, _ pointer: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: Block.self)
}

@inlinable @inline(__always)
package func load8(_ pointer: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(pointer).loadUnaligned(as: SIMD8<Float>.self)
}

@inlinable @inline(__always)
package func load8(_ pointer: UnsafeMutablePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(pointer).loadUnaligned(as: SIMD8<Float>.self)
}

@inlinable @inline(__always)
package func store8(_ value: SIMD8<Float>, _ pointer: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: SIMD8<Float>.self)
}

/// y += a · x over `count` floats.
@inlinable @inline(__always)
package func axpy(_ count: Int, _ a: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
    var i = 0
    while i + 8 <= count {
        store8(load8(y + i) + a * load8(x + i), y + i)
        i += 8
    }
    while i < count {
        y[i] += a * x[i]
        i += 1
    }
}

/// x · y over `count` floats, summed in eight lanes (a fixed order, so results repeat exactly).
@inlinable @inline(__always)
package func dot(_ count: Int, _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>) -> Float {
    var lanes = SIMD8<Float>()
    var i = 0
    while i + 8 <= count {
        lanes += load8(x + i) * load8(y + i)
        i += 8
    }
    var sum = lanes.sum()
    while i < count {
        sum += x[i] * y[i]
        i += 1
    }
    return sum
}
