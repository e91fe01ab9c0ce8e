import IntakeCore
#if canImport(Glibc)
import Glibc
#endif

/// Why a digit model could not be loaded or built, in words for the log.
public struct DigitModelError: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String

    public init(_ reason: String) { self.reason = reason }

    public var description: String { reason }
}

/// What a weights file reads: counter-wheel digits or dial needles. Both are 100 tenths, 0.0…9.9,
/// from the same network; they differ in their input (see `DigitPreprocessing`, `DialPreprocessing`).
public enum ReaderKind: UInt32, Sendable, CustomStringConvertible {
    case digits = 1, dials = 2

    public var description: String { self == .digits ? "digit" : "dial" }
}

/// The weights file of a tenths model (`etc/meters/digits.weights`, `etc/meters/dials.weights`),
/// written by `intake-train`, read by `DigitModel`. All integers are UInt32, little-endian:
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 4 | magic `IDGT` |
/// | 4 | 4 | format version (2; version 1 files, digits only, are still read: they lack the next two fields) |
/// | 8 | 4 | kind: 1 = digits, 2 = dials (`ReaderKind`) |
/// | 12 | 4 | input channels (1 for digits: luma; 2 for dials: luma and redness) |
/// | 16 | 4 | input width (pixels) |
/// | 20 | 4 | input height (pixels) |
/// | 24 | 4 | parameter encoding: 1 = Float32, 2 = Float16 (IEEE binary16), little-endian |
/// | 28 | 4 | layer count L |
/// | 32 | 8·L | per layer: kind (1 = 3×3 convolution + ReLU, 2 = 2×2 max-pool, 3 = dense + ReLU, 4 = dense, linear: the logits), outputs (channels or units; 0 for a pool) |
/// | 32+8L | 4 | parameter count P (must equal what the layers imply) |
/// | 36+8L | P·(4 or 2) | parameters, layer by layer: weights, then biases |
/// | end − 4 | 4 | FNV-1a (32-bit) of every byte before it |
///
/// Weight layouts: a convolution's are [ky][kx][input channel][output channel]; a dense layer's
/// [input][output], its input flattened height × width × channels (channels innermost). The last
/// layer has 100 outputs, tenths 0.0…9.9. The trainer writes Float16: half the size, and no
/// measurable change in the readings (it reports its figures with the rounded weights).
package enum DigitWeightsFile {
    package static let magic: [UInt8] = Array("IDGT".utf8)
    package static let version: UInt32 = 2

    private enum Kind: UInt32 {
        case convolution = 1, maxPool = 2, denseReLU = 3, denseLinear = 4
    }

    /// How the parameters are stored.
    package enum Encoding: UInt32, Sendable {
        case float32 = 1, float16 = 2

        var bytes: Int { self == .float32 ? 4 : 2 }
    }

    /// The file's bytes for `network` with `parameters`.
    package static func encode(
        _ network: DigitNetwork, kind: ReaderKind = .digits, parameters: [Float], encoding: Encoding = .float16
    ) -> [UInt8] {
        precondition(parameters.count == network.parameterCount, "parameter count does not match the network")
        var bytes = magic
        func append(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
        append(version)
        append(kind.rawValue)
        append(UInt32(network.input.channels))
        append(UInt32(network.input.width))
        append(UInt32(network.input.height))
        append(encoding.rawValue)
        append(UInt32(network.layers.count))
        for layer in network.layers {
            switch layer {
            case .convolution(let outputs): append(Kind.convolution.rawValue); append(UInt32(outputs))
            case .maxPool: append(Kind.maxPool.rawValue); append(0)
            case .dense(let outputs, let relu):
                append((relu ? Kind.denseReLU : Kind.denseLinear).rawValue)
                append(UInt32(outputs))
            }
        }
        append(UInt32(parameters.count))
        bytes.reserveCapacity(bytes.count + encoding.bytes * parameters.count + 4)
        switch encoding {
        case .float32: for value in parameters { append(value.bitPattern) }
        case .float16: for value in parameters { withUnsafeBytes(of: Float16(value).bitPattern.littleEndian) { bytes += $0 } }
        }
        append(fnv1a(bytes[...]))
        return bytes
    }

    /// The network and parameters in `bytes`, or what is wrong with them.
    package static func decode(_ bytes: [UInt8]) throws(DigitModelError) -> (network: DigitNetwork, kind: ReaderKind, parameters: [Float]) {
        guard bytes.count >= 4, Array(bytes[0..<4]) == magic else {
            throw DigitModelError("not a weights file (no IDGT magic)")
        }
        var offset = 4
        func next(_ field: String) throws(DigitModelError) -> UInt32 {
            guard offset + 4 <= bytes.count else { throw DigitModelError("weights file truncated in its \(field) (\(bytes.count) bytes)") }
            let value = UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
            offset += 4
            return value
        }
        let fileVersion = try next("version")
        guard fileVersion == version || fileVersion == 1 else {
            throw DigitModelError("weights file version \(fileVersion); this intake reads versions 1 and \(version)")
        }
        var kind = ReaderKind.digits, channels = 1
        if fileVersion >= 2 {
            let code = try next("kind")
            guard let known = ReaderKind(rawValue: code) else { throw DigitModelError("weights file of unknown kind \(code)") }
            kind = known
            channels = Int(try next("input channels"))
        }
        let width = Int(try next("input width")), height = Int(try next("input height"))
        let code = try next("parameter encoding")
        guard let encoding = Encoding(rawValue: code) else {
            throw DigitModelError("weights file: unknown parameter encoding \(code)")
        }
        let layerCount = Int(try next("layer count"))
        guard (1...64).contains(layerCount) else { throw DigitModelError("weights file declares \(layerCount) layers") }
        var layers: [DigitNetwork.Layer] = []
        for index in 0..<layerCount {
            let code = try next("layer table"), outputs = Int(try next("layer table"))
            switch Kind(rawValue: code) {
            case .convolution: layers.append(.convolution(outputs: outputs))
            case .maxPool: layers.append(.maxPool)
            case .denseReLU: layers.append(.dense(outputs: outputs, relu: true))
            case .denseLinear: layers.append(.dense(outputs: outputs, relu: false))
            case nil: throw DigitModelError("weights file: layer \(index) has unknown kind \(code)")
            }
        }
        let network = try DigitNetwork(inputWidth: width, inputHeight: height, inputChannels: channels, layers: layers)
        let count = Int(try next("parameter count"))
        guard count == network.parameterCount else {
            throw DigitModelError("weights file holds \(count) parameters; its layers need \(network.parameterCount)")
        }
        let expectedSize = offset + encoding.bytes * count + 4
        guard bytes.count == expectedSize else {
            throw DigitModelError("weights file is \(bytes.count) bytes; its header implies \(expectedSize) (truncated or padded)")
        }
        let storedChecksum = UInt32(bytes[expectedSize - 4]) | UInt32(bytes[expectedSize - 3]) << 8
            | UInt32(bytes[expectedSize - 2]) << 16 | UInt32(bytes[expectedSize - 1]) << 24
        guard storedChecksum == fnv1a(bytes[0..<(expectedSize - 4)]) else {
            throw DigitModelError("weights file is corrupt (checksum mismatch)")
        }
        var parameters = [Float](repeating: 0, count: count)
        for i in 0..<count {
            let o = offset + encoding.bytes * i
            switch encoding {
            case .float32:
                let bits = UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24
                parameters[i] = Float(bitPattern: bits)
            case .float16:
                parameters[i] = Float(Float16(bitPattern: UInt16(bytes[o]) | UInt16(bytes[o + 1]) << 8))
            }
            guard parameters[i].isFinite else { throw DigitModelError("weights file: parameter \(i) is not a finite number") }
        }
        return (network, kind, parameters)
    }

    /// Reads and decodes the file at `path`, which must hold a model of `kind`.
    package static func read(path: String, kind: ReaderKind) throws(DigitModelError) -> (network: DigitNetwork, parameters: [Float]) {
        let bytes: [UInt8]
        do {
            bytes = try WholeFile.read(path)
        } catch {
            throw DigitModelError("cannot read \(kind) weights \(path): \(ErrnoText.describe(error.code))")
        }
        let decoded: (network: DigitNetwork, kind: ReaderKind, parameters: [Float])
        do {
            decoded = try decode(bytes)
        } catch {
            throw DigitModelError("\(kind) weights \(path): \(error.reason)")
        }
        guard decoded.kind == kind else {
            throw DigitModelError("\(path) holds \(decoded.kind) weights, not \(kind) weights (retrain with `make train-\(kind)s`)")
        }
        return (decoded.network, decoded.parameters)
    }

    /// Writes the file at `path` through a temporary name, so a reader never sees half of it.
    package static func write(
        _ network: DigitNetwork, kind: ReaderKind = .digits, parameters: [Float], encoding: Encoding = .float16, to path: String
    ) throws(DigitModelError) {
        let bytes = encode(network, kind: kind, parameters: parameters, encoding: encoding)
        do {
            try WholeFile.write(bytes, to: path, through: path + ".tmp", sync: true)
        } catch {
            throw DigitModelError("\(error)")
        }
    }

    /// `parameters` as the file will give them back: rounded through Float16 when so encoded.
    package static func rounded(_ parameters: [Float], encoding: Encoding = .float16) -> [Float] {
        encoding == .float32 ? parameters : parameters.map { Float(Float16($0)) }
    }

    /// FNV-1a, 32-bit: enough to catch a damaged file, cheap to compute.
    package static func fnv1a(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var hash: UInt32 = 0x811C_9DC5
        for byte in bytes { hash = (hash ^ UInt32(byte)) &* 0x0100_0193 }
        return hash
    }
}
