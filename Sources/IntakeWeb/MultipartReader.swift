/// Splits a `multipart/form-data` body (RFC 7578) into its parts as the bytes arrive, never
/// holding a part's content whole: each chunk of content is handed on as soon as it cannot be
/// the start of the next boundary. Header blocks are bounded; a body that breaks the format is
/// refused with what was wrong.
struct MultipartReader {
    enum Event: Equatable {
        /// A part begins: its form field's name, and the file name when it is a file.
        case part(name: String, filename: String?)
        /// Bytes of the current part's content, in order.
        case content([UInt8])
        /// The current part is complete.
        case partEnd
    }

    struct Malformed: Error, Equatable, CustomStringConvertible {
        let description: String
    }

    /// The longest header block of one part.
    static let maximumHeaderBytes = 8 << 10

    private enum State { case preamble, headers, content, afterBoundary, done }

    /// `\r\n--boundary`: what ends a part's content.
    private let delimiter: [UInt8]
    private var state = State.preamble
    private var buffer: [UInt8] = []

    /// The boundary from a `Content-Type: multipart/form-data; boundary=…` header; nil when the
    /// header is not one.
    init?(contentType: String) {
        let parts = contentType.split(separator: ";").map { $0.trimmingSpaces }
        guard parts.first?.lowercased() == "multipart/form-data",
              let parameter = parts.dropFirst().first(where: { $0.lowercased().hasPrefix("boundary=") })
        else { return nil }
        var boundary = String(parameter.dropFirst("boundary=".count))
        if boundary.hasPrefix("\""), boundary.hasSuffix("\""), boundary.count >= 2 { boundary = String(boundary.dropFirst().dropLast()) }
        guard (1...70).contains(boundary.utf8.count) else { return nil }
        delimiter = Array("\r\n--\(boundary)".utf8)
    }

    var isComplete: Bool { state == .done }

    /// Takes the next bytes of the body and says what they complete.
    mutating func feed(_ bytes: some Collection<UInt8>) throws(Malformed) -> [Event] {
        buffer.append(contentsOf: bytes)
        var events: [Event] = []
        while true {
            switch state {
            case .preamble:
                // The first boundary may open the body, without the line break before it.
                let opening = Array(delimiter.dropFirst(2))
                if buffer.starts(with: opening) {
                    buffer.removeFirst(opening.count)
                    state = .afterBoundary
                } else if let index = buffer.firstRange(of: delimiter) {
                    buffer.removeSubrange(..<index.upperBound)
                    state = .afterBoundary
                } else {
                    // Preamble is ignored; keep only what could start the boundary.
                    if buffer.count > delimiter.count { buffer.removeFirst(buffer.count - delimiter.count) }
                    return events
                }
            case .afterBoundary:
                guard buffer.count >= 2 else { return events }
                if buffer.starts(with: Array("--".utf8)) {
                    state = .done
                    buffer.removeAll()
                    return events
                }
                // Transport padding is allowed before the line break.
                guard let lineEnd = buffer.firstRange(of: Array("\r\n".utf8)) else {
                    guard buffer.count < 256 else { throw Malformed(description: "a boundary is not followed by a line break") }
                    return events
                }
                guard buffer[..<lineEnd.lowerBound].allSatisfy({ $0 == 0x20 || $0 == 0x09 }) else {
                    throw Malformed(description: "a boundary is followed by text")
                }
                buffer.removeSubrange(..<lineEnd.upperBound)
                state = .headers
            case .headers:
                guard let end = buffer.firstRange(of: Array("\r\n\r\n".utf8)) else {
                    guard buffer.count <= Self.maximumHeaderBytes else {
                        throw Malformed(description: "a part's headers are over \(Self.maximumHeaderBytes / 1024) KB")
                    }
                    return events
                }
                // Not repaired: two file names with different stray bytes would become one.
                guard let block = String(validating: buffer[..<end.lowerBound], as: UTF8.self) else {
                    throw Malformed(description: "a part's headers are not UTF-8 text (a file name in another encoding?)")
                }
                buffer.removeSubrange(..<end.upperBound)
                events.append(try Self.part(block))
                state = .content
            case .content:
                if let end = buffer.firstRange(of: delimiter) {
                    if end.lowerBound > 0 { events.append(.content(Array(buffer[..<end.lowerBound]))) }
                    events.append(.partEnd)
                    buffer.removeSubrange(..<end.upperBound)
                    state = .afterBoundary
                } else {
                    // All but what could be the start of the delimiter is content.
                    let safe = buffer.count - (delimiter.count - 1)
                    if safe > 0 {
                        events.append(.content(Array(buffer[..<safe])))
                        buffer.removeFirst(safe)
                    }
                    return events
                }
            case .done:
                buffer.removeAll()
                return events
            }
        }
    }

    /// The part's field name and file name, from its `Content-Disposition: form-data` header.
    private static func part(_ block: String) throws(Malformed) -> Event {
        let lines = block.split(separator: "\r\n", omittingEmptySubsequences: false)
        guard let disposition = lines.first(where: { $0.lowercased().hasPrefix("content-disposition:") }) else {
            throw Malformed(description: "a part has no Content-Disposition header")
        }
        let value = disposition.dropFirst("content-disposition:".count)
        var name: String?, filename: String?
        for parameter in Self.parameters(String(value)).dropFirst() {
            switch parameter.key.lowercased() {
            case "name": name = parameter.value
            case "filename": filename = parameter.value
            default: break
            }
        }
        guard let name else { throw Malformed(description: "a part's Content-Disposition has no name") }
        return .part(name: name, filename: filename)
    }

    /// `form-data; name="a"; filename="b c.jpg"` → [("form-data", ""), ("name", "a"), ("filename", "b c.jpg")].
    /// Quoted values may hold `;`, and `\"` for a quote.
    static func parameters(_ value: String) -> [(key: String, value: String)] {
        var result: [(key: String, value: String)] = []
        var current = "", inQuotes = false, escaped = false
        var pieces: [String] = []
        for character in value {
            if escaped {
                current.append(character)
                escaped = false
            } else if inQuotes && character == "\\" {
                escaped = true
            } else if character == "\"" {
                inQuotes.toggle()
            } else if character == ";" && !inQuotes {
                pieces.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        pieces.append(current)
        for piece in pieces {
            let trimmed = piece.trimmingSpaces
            if let equals = trimmed.firstIndex(of: "=") {
                result.append((String(trimmed[..<equals]).trimmingSpaces, String(trimmed[trimmed.index(after: equals)...])))
            } else {
                result.append((trimmed, ""))
            }
        }
        return result
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs.
    var trimmingSpaces: String {
        let characters = Array(self)
        guard let first = characters.firstIndex(where: { $0 != " " && $0 != "\t" }),
              let last = characters.lastIndex(where: { $0 != " " && $0 != "\t" })
        else { return "" }
        return String(characters[first...last])
    }
}
