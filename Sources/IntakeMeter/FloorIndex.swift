/// ⌊`value`⌋ as an Int, for a value the caller has already bounded to a picture's range (never
/// NaN, never near Int's limits). Truncation, one lower for negatives: exactly `rounded(.down)`,
/// which on the baseline x86-64 the binaries are built for (no SSE4.1) is a call into libm, once
/// or twice per pixel in every resampling loop.
@inline(__always)
func floorIndex(_ value: Double) -> Int {
    let truncated = Int(value)
    return Double(truncated) > value ? truncated - 1 : truncated
}
