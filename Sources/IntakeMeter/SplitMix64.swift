#if canImport(Glibc)
    import Glibc
#endif

/// SplitMix64: small, fast, and the same on every machine, which reproducibility needs.
package struct SplitMix64 {
    package var state: UInt64

    package init(_ seed: UInt64) { state = seed }

    /// A generator for one purpose (`stream`) and one item, independent of thread scheduling.
    package init(seed: UInt64, stream: UInt64, item: UInt64) {
        var mixer = SplitMix64(seed ^ (stream &* 0x9E37_79B9_7F4A_7C15))
        state = mixer.next() ^ (item &* 0xD1B5_4A32_D192_ED03)
        _ = next()
    }

    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `range`.
    package mutating func uniform(_ range: ClosedRange<Float>) -> Float {
        let unit = Float(next() >> 40) / Float(1 << 24)
        return range.lowerBound + (range.upperBound - range.lowerBound) * unit
    }

    /// Standard normal (Box–Muller).
    package mutating func normal() -> Float {
        let u = max(Float(next() >> 40) / Float(1 << 24), 1e-7), v = Float(next() >> 40) / Float(1 << 24)
        return (-2 * log(u)).squareRoot() * cos(2 * Float.pi * v)
    }

    package mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}
