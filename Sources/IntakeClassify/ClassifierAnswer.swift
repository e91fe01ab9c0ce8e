internal import FoundationEssentials

/// Reads an external classifier's answer: JSON, either `{"labels": [...]}` or a bare array, each
/// label `{"name": …, "confidence": …, "box": …}`. Every rule broken is reported with the label's
/// number (counting from 1) and what was wrong with it.
package enum ClassifierAnswer {
    /// The longest label name accepted, in bytes of UTF-8: counted in characters, one letter
    /// with thousands of combining marks passed as one, and on PostgreSQL its row outgrew the
    /// index on label names, so the job could never be recorded.
    static let longestName = 200
    /// The most labels one answer may give: each is a row of the job's.
    static let mostLabels = 256

    package static func labels(from output: [UInt8], source: String) -> Result<[Label], InvalidAnswer> {
        let trimmed = output.drop { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
        guard !trimmed.isEmpty else { return .failure(InvalidAnswer(reason: "answered nothing on standard output; expected JSON labels")) }
        let document: JSONValue
        do {
            document = try JSONDecoder().decode(JSONValue.self, from: Data(output))
        } catch {
            return .failure(InvalidAnswer(reason: "answered something that is not JSON: \(excerpt(output))"))
        }
        let items: [JSONValue]
        switch document {
        case .array(let array):
            items = array
        case .object(let object):
            guard case .array(let array)? = object["labels"] else {
                return .failure(InvalidAnswer(reason: "answered a JSON object without a \"labels\" array: \(excerpt(output))"))
            }
            items = array
        default:
            return .failure(InvalidAnswer(reason: "answered JSON that is neither {\"labels\": [...]} nor an array: \(excerpt(output))"))
        }
        guard items.count <= mostLabels else {
            return .failure(InvalidAnswer(reason: "answered \(items.count) labels; at most \(mostLabels) are allowed"))
        }
        var labels: [Label] = []
        for (index, item) in items.enumerated() {
            switch label(item, number: index + 1, source: source) {
            case .success(let label): labels.append(label)
            case .failure(let invalid): return .failure(invalid)
            }
        }
        return .success(labels)
    }

    private static func label(_ item: JSONValue, number: Int, source: String) -> Result<Label, InvalidAnswer> {
        let subject = "label \(number)"
        guard case .object(let fields) = item else {
            return .failure(InvalidAnswer(reason: "\(subject) is \(item.kind), not an object like {\"name\": \"cat\", \"confidence\": 0.9}"))
        }
        guard case .string(let name)? = fields["name"] else {
            return .failure(InvalidAnswer(reason: "\(subject) has no name: \"name\" must be a string, got \(fields["name"]?.kind ?? "nothing")"))
        }
        guard !name.isEmpty else { return .failure(InvalidAnswer(reason: "\(subject) has an empty name")) }
        guard name.utf8.count <= longestName else {
            return .failure(InvalidAnswer(reason: "\(subject) has a name of \(name.utf8.count) bytes; at most \(longestName) are allowed"))
        }
        // Names go into logs, reports and the database (where PostgreSQL would cut one at a NUL).
        guard !name.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) else {
            return .failure(InvalidAnswer(reason: "\(subject) (\(ExternalClassifier.escapingControls(name))) has a control character in its name"))
        }
        guard case .number(let confidence)? = fields["confidence"] else {
            return .failure(
                InvalidAnswer(
                    reason:
                        "\(subject) (\(name)) has no confidence: \"confidence\" must be a number from 0 to 1, got \(fields["confidence"]?.kind ?? "nothing")"
                ))
        }
        guard (0...1).contains(confidence) else {
            return .failure(InvalidAnswer(reason: "\(subject) (\(name)) has confidence \(confidence), outside 0–1"))
        }
        var box: LabelBox? = nil
        switch fields["box"] {
        case nil, .null?:
            break
        case .array(let values)? where values.count == 4:
            let numbers = values.compactMap(\.number)
            guard numbers.count == 4 else {
                return .failure(InvalidAnswer(reason: "\(subject) (\(name)) has a box [x, y, width, height] that is not four numbers"))
            }
            box = LabelBox(x: numbers[0], y: numbers[1], width: numbers[2], height: numbers[3])
        case .object(let corner)?:
            guard let x = corner["x"]?.number, let y = corner["y"]?.number, let width = corner["width"]?.number,
                let height = corner["height"]?.number
            else {
                return .failure(InvalidAnswer(reason: "\(subject) (\(name)) has a box object without numbers \"x\", \"y\", \"width\" and \"height\""))
            }
            box = LabelBox(x: x, y: y, width: width, height: height)
        default:
            return .failure(
                InvalidAnswer(
                    reason: "\(subject) (\(name)) has a box that is neither [x, y, width, height] nor {\"x\", \"y\", \"width\", \"height\"}"))
        }
        if let box, box.width < 0 || box.height < 0 {
            return .failure(InvalidAnswer(reason: "\(subject) (\(name)) has a box with a negative size (\(box.width) × \(box.height))"))
        }
        return .success(Label(name: name, confidence: confidence, source: source, box: box))
    }

    /// The first 80 bytes of the answer, one line, control characters escaped, so that the log shows what came.
    static func excerpt(_ output: [UInt8]) -> String {
        let head = String(decoding: output.prefix(80), as: UTF8.self)
        let line = ExternalClassifier.escapingControls(head)
        return output.count > 80 ? line + "…" : line
    }
}

/// Why an answer was refused.
package struct InvalidAnswer: Error {
    var reason: String
}

/// Any JSON value, decoded without a schema so that the checks above can say what was found.
enum JSONValue: Decodable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    var number: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    /// What the value is, for messages: `a string ("x")`, `an array`, `the number 3`.
    var kind: String {
        switch self {
        case .null: "null"
        case .bool(let value): "\(value)"
        case .number(let value): "the number \(value)"
        case .string(let value): "a string (\"\(ExternalClassifier.escapingControls(String(value.prefix(40))))\")"
        case .array: "an array"
        case .object: "an object"
        }
    }
}
