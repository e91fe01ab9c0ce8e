/// FNV-1a (64-bit) of a text's UTF-8 bytes: the same on every machine, run and start, unlike
/// `hashValue`. What splits corpora into halves by path, and spreads hosts over an inbox scan.
public enum StableHash {
    public static func fnv1a(_ text: String) -> UInt64 {
        text.utf8.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01B3 }
    }
}
