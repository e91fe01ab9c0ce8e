@testable import IntakeMeter
import Testing

/// The landmark descriptors are compared with the processor's POPCNT where it has one
/// (`CKernels`), and must find what the Swift loop finds: the same nearest, the same distances,
/// the first of equals.
@Suite struct DescriptorMatchingTests {
    /// `count` random descriptors, some of them copies of others and of each other's near
    /// neighbours, so that ties and second-nearest distances of every kind occur.
    static func descriptors(_ count: Int, seed: UInt64, from others: LandmarkSet? = nil) -> LandmarkSet {
        var random = SplitMix64(seed)
        var set = LandmarkSet()
        for i in 0..<count {
            set.landmarks.append(Landmark(x: Double(i), y: 0, level: 0, angle: 0, score: 1))
            if let others, others.count > 0, i % 3 == 0 {
                let source = Int(random.next() % UInt64(others.count))
                for word in 0..<4 { set.descriptors.append(others.descriptors[4 * source + word] ^ (i % 2 == 0 ? 0 : 1 << (random.next() % 64))) }
            } else {
                for _ in 0..<4 { set.descriptors.append(random.next()) }
            }
        }
        return set
    }

    @Test(
        .enabled(if: LandmarkMatching.hasPOPCNT, "this processor has no POPCNT: only the Swift loop runs here"),
        arguments: [(0, 5), (5, 0), (1, 1), (300, 200), (57, 1000)])
    func thePOPCNTComparisonFindsWhatTheSwiftOneFinds(references: Int, photos: Int) {
        let reference = Self.descriptors(references, seed: UInt64(references))
        let photo = Self.descriptors(photos, seed: UInt64(photos) + 99, from: reference)
        let fast = LandmarkMatching.nearest(reference: reference, photo: photo, usingPOPCNT: true)
        let plain = LandmarkMatching.nearest(reference: reference, photo: photo, usingPOPCNT: false)
        #expect(fast.index == plain.index)
        #expect(fast.best == plain.best)
        #expect(fast.second == plain.second)
        if references > 1, photos > 0 { #expect(plain.best.contains(0), "copies were found at distance 0") }
    }
}
