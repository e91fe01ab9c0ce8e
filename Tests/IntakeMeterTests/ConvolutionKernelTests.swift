import IntakeMeter
import Testing

/// The networks' convolution runs in AVX where the processor has it (`CKernels`), and must give
/// what the Swift loop gives, bit for bit: the readings, the committed figures and a training run
/// for a seed may not depend on the machine.
@Suite struct ConvolutionKernelTests {
    /// Every activation of `network` on `input`, through the AVX kernel or the Swift loop.
    static func activations(_ network: DigitNetwork, _ parameters: [Float], _ input: [Float], usingAVX: Bool) -> [UInt32] {
        var activations = [Float](repeating: .nan, count: network.activationCount)
        parameters.withUnsafeBufferPointer { parameters in
            input.withUnsafeBufferPointer { input in
                activations.withUnsafeMutableBufferPointer {
                    network.forward(input: input.baseAddress!, parameters: parameters.baseAddress!, activations: $0.baseAddress!, usingAVX: usingAVX)
                }
            }
        }
        return activations.map(\.bitPattern)
    }

    /// How many activations differ in any bit.
    static func differing(_ a: [UInt32], _ b: [UInt32]) -> Int { zip(a, b).filter { $0 != $1 }.count + abs(a.count - b.count) }

    /// Inputs with runs of zeros (which both loops skip), negative values and a wide range.
    static func inputs(count: Int, seed: UInt64) -> [[Float]] {
        var random = SplitMix64(seed)
        return (0..<4).map { variant in
            (0..<count).map { i in
                let value = Float(Double(random.next() >> 11) / Double(1 << 53)) * 6 - 3
                return variant > 0 && i % (variant + 1) == 0 ? 0 : value * Float(1 + variant)
            }
        }
    }

    static var packageRoot: String {
        var path = #filePath
        for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
        return path
    }

    @Test(
        .enabled(if: DigitNetwork.hasAVX, "this processor has no AVX: only the Swift loop runs here"),
        arguments: [("digits.weights", ReaderKind.digits), ("dials.weights", ReaderKind.dials)])
    func theCommittedModelsGiveTheSameActivationsToTheLastBit(file: String, kind: ReaderKind) throws {
        let model = try DigitModel(weightsAt: Self.packageRoot + "/etc/meters/" + file, kind: kind)
        for input in Self.inputs(count: model.network.input.count, seed: 7) {
            let avx = Self.activations(model.network, model.parameters, input, usingAVX: true)
            let swift = Self.activations(model.network, model.parameters, input, usingAVX: false)
            #expect(Self.differing(avx, swift) == 0, "activations that differ, of \(avx.count)")
            #expect(avx.contains { $0 != 0 }, "the activations are not all zero")
        }
    }

    @Test(.enabled(if: DigitNetwork.hasAVX, "this processor has no AVX: only the Swift loop runs here"))
    func anOddNumberOfSixteenChannelBlocksAndATinyPlaneAreTheSameToo() throws {
        // 48 channels: a pair of blocks and one alone; a 5×4 plane: most pixels are at an edge.
        let network = try DigitNetwork(
            inputWidth: 5, inputHeight: 4, inputChannels: 5,
            layers: [.convolution(outputs: 48), .convolution(outputs: 16), .dense(outputs: 100, relu: false)])
        var random = SplitMix64(11)
        let parameters = (0..<network.parameterCount).map { _ in Float(Double(random.next() >> 11) / Double(1 << 53)) - 0.5 }
        for input in Self.inputs(count: network.input.count, seed: 3) {
            let avx = Self.activations(network, parameters, input, usingAVX: true)
            let swift = Self.activations(network, parameters, input, usingAVX: false)
            #expect(Self.differing(avx, swift) == 0, "activations that differ, of \(avx.count)")
        }
    }
}
