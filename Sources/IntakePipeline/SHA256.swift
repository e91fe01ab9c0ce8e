internal import CCrypto

/// SHA-256, the identity of every file (duplicates, the dead letter's sha256), by OpenSSL's
/// libcrypto: it uses the CPU's SHA instructions where there are some, and is maintained by people
/// whose job that is.
public enum SHA256 {
    /// The digest of `data` as 64 lowercase hexadecimal digits.
    public static func hex(of data: UnsafeRawBufferPointer) -> String {
        var digest = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        // OpenSSL reads nothing when the length is 0, but wants a pointer all the same.
        let empty: UInt8 = 0
        withUnsafePointer(to: empty) { fallback in
            _ = CCrypto.SHA256(data.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? fallback, data.count, &digest)
        }
        return hex(digest)
    }

    public static func hex(of bytes: [UInt8]) -> String {
        bytes.withUnsafeBytes { hex(of: $0) }
    }

    static func hex(_ digest: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var hex = [UInt8]()
        hex.reserveCapacity(64)
        for byte in digest {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: hex, as: UTF8.self)
    }

    /// The digest of bytes that arrive in pieces (an upload streamed to disk), never held whole.
    public struct Stream: ~Copyable {
        private let context: OpaquePointer

        public init() {
            context = EVP_MD_CTX_new()
            EVP_DigestInit_ex(context, EVP_sha256(), nil)
        }

        deinit { EVP_MD_CTX_free(context) }

        public mutating func update(_ bytes: UnsafeRawBufferPointer) {
            guard let base = bytes.baseAddress, bytes.count > 0 else { return }
            EVP_DigestUpdate(context, base, bytes.count)
        }

        /// The digest of everything given so far, as 64 lowercase hexadecimal digits.
        public consuming func finish() -> String {
            var digest = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
            var length: UInt32 = 0
            EVP_DigestFinal_ex(context, &digest, &length)
            return SHA256.hex(digest)
        }
    }
}
