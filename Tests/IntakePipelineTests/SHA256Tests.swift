import CSHA256
import Testing

/// The SHA-256 every file's identity rests on (duplicates, the dead letter's sha256), against the
/// standard's test vectors; and the CPU-instruction path against the portable one on every length
/// around the block and padding boundaries.
@Suite struct SHA256Tests {
    func hex(_ bytes: [UInt8], portable: Bool = false) -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        bytes.withUnsafeBytes { data in
            if portable {
                intake_sha256_portable(data.baseAddress, data.count, &digest)
            } else {
                intake_sha256(data.baseAddress, data.count, &digest)
            }
        }
        return digest.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
    ])
    func standardVectors(message: String, expected: String) {
        #expect(hex(Array(message.utf8)) == expected)
        #expect(hex(Array(message.utf8), portable: true) == expected)
    }

    @Test func aMillionAs() {
        let expected = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        #expect(hex([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)) == expected)
    }

    @Test func bothPathsAgreeOnEveryLengthAroundTheBlocks() {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<1_200).map { _ in UInt8.random(in: 0...255, using: &generator) }
        for length in 0...bytes.count {
            let message = Array(bytes[0..<length])
            #expect(hex(message) == hex(message, portable: true), "length \(length)")
        }
        print("SHA-256 uses the CPU's SHA instructions: \(intake_sha256_uses_cpu_instructions() != 0)")
    }
}
