@testable import IntakeWeb
import Testing

/// The multipart reader on bodies cut at every place a network could cut them.
@Suite struct MultipartReaderTests {
    static let boundary = "----intake-test-7MA4YWxkTrZu0gW"

    static func body(_ parts: [(name: String, filename: String?, content: [UInt8])], closed: Bool = true) -> [UInt8] {
        var body: [UInt8] = Array("preamble to ignore\r\n".utf8)
        for part in parts {
            body += Array("--\(boundary)\r\n".utf8)
            let file = part.filename.map { "; filename=\"\($0)\"" } ?? ""
            body += Array("Content-Disposition: form-data; name=\"\(part.name)\"\(file)\r\nContent-Type: application/octet-stream\r\n\r\n".utf8)
            body += part.content + Array("\r\n".utf8)
        }
        if closed { body += Array("--\(boundary)--\r\nepilogue".utf8) }
        return body
    }

    /// The parts as (name, filename, content) from the events of feeding `body` in chunks of `size`.
    static func parts(_ body: [UInt8], chunk size: Int) throws -> (parts: [(String, String?, [UInt8])], complete: Bool) {
        var reader = try #require(MultipartReader(contentType: "multipart/form-data; boundary=\"\(boundary)\""))
        var parts: [(String, String?, [UInt8])] = []
        var offset = 0
        while offset < body.count {
            for event in try reader.feed(body[offset..<min(body.count, offset + size)]) {
                switch event {
                case .part(let name, let filename): parts.append((name, filename, []))
                case .content(let bytes): parts[parts.count - 1].2 += bytes
                case .partEnd: break
                }
            }
            offset += size
        }
        return (parts, reader.isComplete)
    }

    @Test func partsComeOutTheSameWhereverTheBodyIsCut() throws {
        // Content that holds most of a boundary, a lone CR LF and dashes: none of it ends the part.
        let tricky = Array("a\r\n--\(Self.boundary.dropLast())x\r\n----\r\n".utf8) + (0..<300).map { UInt8($0 % 256) }
        let expected: [(String, String?, [UInt8])] = [("file", "a b;c.jpg", tricky), ("site", nil, Array("north".utf8)), ("file", "empty.jpg", [])]
        let body = Self.body(expected.map { (name: $0.0, filename: $0.1, content: $0.2) })
        for size in [1, 2, 3, 7, 16, 41, 64, 1000, body.count] {
            let (parts, complete) = try Self.parts(body, chunk: size)
            #expect(complete, "chunks of \(size)")
            #expect(parts.count == expected.count, "chunks of \(size)")
            for (part, want) in zip(parts, expected) {
                #expect(part.0 == want.0 && part.1 == want.1 && part.2 == want.2, "chunks of \(size): \(part.0) \(String(describing: part.1))")
            }
        }
    }

    @Test func aBodyWithoutItsClosingBoundaryIsIncomplete() throws {
        let body = Self.body([(name: "file", filename: "a.jpg", content: [1, 2, 3])], closed: false)
        #expect(try Self.parts(body, chunk: 5).complete == false)
    }

    @Test func malformedBodiesAreRefusedSayingWhy() throws {
        var reader = try #require(MultipartReader(contentType: "multipart/form-data; boundary=b"))
        #expect(throws: MultipartReader.Malformed.self) { _ = try reader.feed(Array("--b\r\nContent-Type: text/plain\r\n\r\nx".utf8)) }
        var long = try #require(MultipartReader(contentType: "multipart/form-data; boundary=b"))
        #expect(throws: MultipartReader.Malformed.self) {
            _ = try long.feed(Array("--b\r\nX-Filler: ".utf8) + [UInt8](repeating: 65, count: MultipartReader.maximumHeaderBytes + 10))
        }
        // A file name in Latin-1 is refused, not made U+FFFD (two such names would become one).
        var latin = try #require(MultipartReader(contentType: "multipart/form-data; boundary=b"))
        #expect(throws: MultipartReader.Malformed.self) {
            _ = try latin.feed(Array("--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"caf".utf8) + [0xE9] + Array(".jpg\"\r\n\r\nx".utf8))
        }
        #expect(MultipartReader(contentType: "multipart/form-data") == nil)
        #expect(MultipartReader(contentType: "multipart/mixed; boundary=b") == nil)
        #expect(MultipartReader(contentType: "multipart/form-data; boundary=\(String(repeating: "x", count: 71))") == nil)
    }
}
