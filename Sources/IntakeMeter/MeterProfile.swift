#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif
internal import IntakeConfig
import IntakeCore

/// A rectangle of whole pixels in a meter's reference frame: where a wheel or dial is to be cut out.
///
/// The reference frame is the reference image's pixel grid, x to the right and y down; (x, y) is
/// the top-left pixel of the box.
public struct Box: Sendable, Equatable, CustomStringConvertible {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    /// The box's centre in pixel coordinates (pixel centres at whole numbers).
    public var center: (x: Double, y: Double) {
        (Double(x) + Double(width - 1) / 2, Double(y) + Double(height - 1) / 2)
    }

    /// `49×71 at (438, 62)`.
    public var description: String { "\(width)×\(height) at (\(x), \(y))" }
}

/// An alignment mark: a small crop of the reference image that the aligner looks for in each photo.
public struct MeterMark: Sendable, Equatable {
    /// Path of the crop (JPEG or PNG), resolved against the profile's folder.
    public var imagePath: String
    /// Top-left corner of the crop in the reference frame.
    public var x: Int
    public var y: Int

    public init(imagePath: String, x: Int, y: Int) {
        self.imagePath = imagePath
        self.x = x
        self.y = y
    }
}

/// A black counter wheel: its box and what one step of it is worth.
public struct MeterWheel: Sendable, Equatable {
    public var box: Box
    /// The wheel's weight in the meter's unit: 100, 10, 1… (1 for the wheel of whole units).
    public var place: Double

    public init(box: Box, place: Double) {
        self.box = box
        self.place = place
    }
}

/// A red analog dial: its box (a square around the dial face) and the value of one of its ten steps.
public struct MeterDial: Sendable, Equatable {
    public var box: Box
    /// What the digit the needle points at is worth: 0.1, 0.01…
    public var factor: Double

    public init(box: Box, factor: Double) {
        self.box = box
        self.factor = factor
    }
}

/// Why a meter profile was refused: the file, and the line and key to blame when there is one.
public struct MeterProfileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The profile file as given to `load`.
    public var file: String
    /// 1-based line; nil when the file as a whole is the problem.
    public var line: Int?
    /// The key to blame, e.g. `wheels[2].width` (array elements counted from 1); nil when none is.
    public var key: String?
    /// What is wrong, in words that say what to change.
    public var message: String

    public init(file: String, line: Int? = nil, key: String? = nil, message: String) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    /// `file:line: message`, the layout editors and terminals recognise.
    public var description: String {
        if let line { "\(file):\(line): \(message)" } else { "\(file): \(message)" }
    }
}

/// What the daemon knows about one fixed-camera meter: the reference frame, the marks to align a
/// photo by, the boxes of its wheels and dials, and the limits its readings are judged by.
///
/// Read from `etc/meters/<meter>.toml`; see `etc/meters/demo-meter.toml` for every key.
public struct MeterProfile: Sendable, Equatable {
    /// The meter's name, as reports show it.
    public var name: String
    /// The file the profile was read from; empty for a profile built in code.
    public var path: String
    /// Path of the reference image, resolved against the profile's folder: it defines the frame.
    public var referencePath: String
    /// The unit readings are in, e.g. `m3`.
    public var unit: String
    /// Decimals a reading is given to: the resolution of the finest dial or wheel.
    public var decimals: Int
    /// How far a reading may stray from what the manual readings allow and still match.
    public var tolerance: Double
    /// Consumption per hour above which a reading is implausible; nil when unknown.
    public var maximumRatePerHour: Double?
    /// The confidence every position must reach for the reading to count: below it the photo is
    /// `unreadable`. At least `MeterAssembler.minimumConfidence`, the default: a meter whose
    /// wrong readings cost more (billing, alarms) may ask for more, never for less.
    public var minimumConfidence: Double
    /// The angle that turns a photo upright into the reference frame, in degrees, positive
    /// clockwise as seen on screen, as the camera was mounted when the profile was made. Only a
    /// record: the aligner finds any turn by itself, and `intake meter check` says how far the
    /// camera has turned since.
    public var initialRotationDegrees: Double
    /// Optional marks: crops of the reference that each photo is also searched for by
    /// correlation, once its landmarks have placed it. They add precise correspondences; a mark
    /// that is covered or out of frame is simply left out.
    public var marks: [MeterMark]
    /// Counter wheels, most significant first.
    public var wheels: [MeterWheel]
    /// Analog dials, most significant first.
    public var dials: [MeterDial]

    public init(
        name: String, path: String = "", referencePath: String, unit: String, decimals: Int, tolerance: Double,
        maximumRatePerHour: Double?, initialRotationDegrees: Double, marks: [MeterMark], wheels: [MeterWheel],
        dials: [MeterDial], minimumConfidence: Double = MeterAssembler.minimumConfidence
    ) {
        self.name = name
        self.path = path
        self.referencePath = referencePath
        self.unit = unit
        self.decimals = decimals
        self.tolerance = tolerance
        self.maximumRatePerHour = maximumRatePerHour
        self.minimumConfidence = minimumConfidence
        self.initialRotationDegrees = initialRotationDegrees
        self.marks = marks
        self.wheels = wheels
        self.dials = dials
    }

    /// The limits the verdict on a reading of this meter uses.
    public var limits: MeterLimits {
        MeterLimits(unit: unit, tolerance: tolerance, maximumRatePerHour: maximumRatePerHour, decimals: decimals)
    }

    /// The profile file for `meter` in `folder` (`<folder>/<meter>.toml`), or nil when there is none.
    ///
    /// The meter name comes from an inbox subfolder or a filename, so names that could reach
    /// outside the folder (a slash, a leading dot) are treated as having no profile.
    public static func find(meter: String, in folder: String) -> String? {
        guard SafeName.refusal(ofComponent: meter) == nil else { return nil }
        let path = (folder.hasSuffix("/") ? folder : folder + "/") + meter + ".toml"
        var status = stat()
        guard stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { return nil }
        return path
    }

    /// Reads and checks a profile file. Paths inside it are resolved against its folder; the
    /// images are not opened here (`LoadedProfile.load` does that).
    public static func load(path: String) throws(MeterProfileError) -> MeterProfile {
        let bytes: [UInt8]
        do {
            bytes = try WholeFile.read(path)
        } catch {
            let reason = error.code == ENOENT ? "meter profile not found" : "can't read meter profile: \(ErrnoText.describe(error.code))"
            throw MeterProfileError(file: path, message: reason)
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw MeterProfileError(file: path, message: "meter profile is not valid UTF-8")
        }
        return try parse(text, path: path)
    }

    /// Checks a profile given as text; `path` names it in errors and anchors its relative paths.
    public static func parse(_ text: String, path: String) throws(MeterProfileError) -> MeterProfile {
        let root: TOMLTable
        do {
            root = try TOML.parse(text, fileName: path)
        } catch {
            throw MeterProfileError(file: path, line: error.line, message: error.message)
        }
        // Unknown keys are refused before anything else: a misspelt key is the likeliest mistake,
        // and "unknown key tolerence" says more than "tolerance is missing".
        let reader = try ProfileTableReader(
            table: root, prefix: "", file: path, headerLine: nil,
            keys: [
                "name", "reference", "unit", "decimals", "tolerance", "max_rate_per_hour", "minimum_confidence", "initial_rotation_degrees",
                "marks", "wheels", "dials",
            ])
        let folder = ProfileFile.folder(of: path)

        let name = try reader.string("name") { !$0.isEmpty }
        let reference = ProfileFile.resolve(try reader.string("reference") { !$0.isEmpty }, against: folder)
        let unit = try reader.string("unit") { !$0.isEmpty }
        let decimals = try reader.integer("decimals", mustBe: "an integer from 0 to 9") { (0...9).contains($0) }
        let tolerance = try reader.number("tolerance", mustBe: "a number ≥ 0") { $0 >= 0 }
        let maximumRate = try reader.optionalNumber("max_rate_per_hour", mustBe: "a number > 0") { $0 > 0 }
        let floor = MeterAssembler.minimumConfidence
        let minimumConfidence =
            try reader.optionalNumber("minimum_confidence", mustBe: "a number from \(floor) (the default) to 1") {
                (floor...1).contains($0)
            } ?? floor
        let rotation =
            try reader.optionalNumber("initial_rotation_degrees", mustBe: "a number of degrees from -180 to 180") {
                (-180...180).contains($0)
            } ?? 0

        let markTables = try reader.tables("marks")
        let wheelTables = try reader.tables("wheels")
        let dialTables = try reader.tables("dials")
        guard !wheelTables.isEmpty || !dialTables.isEmpty else {
            throw MeterProfileError(file: path, line: 1, message: "a profile needs at least one [[wheels]] or [[dials]] box to read")
        }

        var marks: [MeterMark] = []
        for (index, table) in markTables.enumerated() {
            let mark = try ProfileTableReader(
                table: table.table, prefix: "marks[\(index + 1)].", file: path, headerLine: table.line, keys: ["image", "x", "y"])
            let image = ProfileFile.resolve(try mark.string("image") { !$0.isEmpty }, against: folder)
            let x = try mark.integer("x", mustBe: "a pixel position ≥ 0") { $0 >= 0 }
            let y = try mark.integer("y", mustBe: "a pixel position ≥ 0") { $0 >= 0 }
            marks.append(MeterMark(imagePath: image, x: x, y: y))
        }
        var wheels: [MeterWheel] = []
        for (index, table) in wheelTables.enumerated() {
            let wheel = try ProfileTableReader(
                table: table.table, prefix: "wheels[\(index + 1)].", file: path, headerLine: table.line,
                keys: ["x", "y", "width", "height", "place"])
            let box = try wheel.box()
            let place = try wheel.number("place", mustBe: "a number > 0 (100, 10, 1…)") { $0 > 0 }
            wheels.append(MeterWheel(box: box, place: place))
        }
        var dials: [MeterDial] = []
        for (index, table) in dialTables.enumerated() {
            let dial = try ProfileTableReader(
                table: table.table, prefix: "dials[\(index + 1)].", file: path, headerLine: table.line,
                keys: ["x", "y", "width", "height", "factor"])
            let box = try dial.box()
            let factor = try dial.number("factor", mustBe: "a number > 0 (0.1, 0.01…)") { $0 > 0 }
            dials.append(MeterDial(box: box, factor: factor))
        }
        return MeterProfile(
            name: name, path: path, referencePath: reference, unit: unit, decimals: decimals, tolerance: tolerance,
            maximumRatePerHour: maximumRate, initialRotationDegrees: rotation, marks: marks, wheels: wheels, dials: dials,
            minimumConfidence: minimumConfidence)
    }
}

/// Reads typed values from one table of a profile, after refusing any key it does not know
/// (a typo, most likely) rather than silently ignoring it.
private struct ProfileTableReader {
    let table: TOMLTable
    /// `wheels[2].` for the second wheel, empty for the root: prefixed to keys in errors.
    let prefix: String
    let file: String
    /// Line standing for the table, blamed when a required key is missing; nil for the root.
    let headerLine: Int?

    init(table: TOMLTable, prefix: String, file: String, headerLine: Int?, keys: [String]) throws(MeterProfileError) {
        self.table = table
        self.prefix = prefix
        self.file = file
        self.headerLine = headerLine
        for entry in table.entries where !keys.contains(entry.key) {
            throw MeterProfileError(
                file: file, line: entry.line, key: prefix + entry.key,
                message: "unknown key \"\(prefix + entry.key)\" (known here: \(keys.joined(separator: ", ")))")
        }
    }

    /// The value of a key that must be present.
    private func required(_ key: String, mustBe requirement: String) throws(MeterProfileError) -> TOMLValue {
        guard let value = table[key] else {
            throw MeterProfileError(
                file: file, line: headerLine ?? 1, key: prefix + key, message: "\"\(prefix + key)\" is missing: it must be \(requirement)")
        }
        return value
    }

    private func invalid(_ key: String, mustBe requirement: String, got value: TOMLValue) -> MeterProfileError {
        MeterProfileError(
            file: file, line: table.line(of: key), key: prefix + key,
            message: "\"\(prefix + key)\" must be \(requirement), got \(Self.render(value))")
    }

    func string(_ key: String, where isValid: (String) -> Bool) throws(MeterProfileError) -> String {
        let value = try required(key, mustBe: "a non-empty string")
        guard case .string(let string) = value, isValid(string) else { throw invalid(key, mustBe: "a non-empty string", got: value) }
        return string
    }

    func integer(_ key: String, mustBe requirement: String, where isValid: (Int) -> Bool) throws(MeterProfileError) -> Int {
        let value = try required(key, mustBe: requirement)
        guard case .integer(let integer) = value, isValid(integer) else { throw invalid(key, mustBe: requirement, got: value) }
        return integer
    }

    /// A finite number; integers are accepted too (`1` means 1.0).
    func number(_ key: String, mustBe requirement: String, where isValid: (Double) -> Bool) throws(MeterProfileError) -> Double {
        let value = try required(key, mustBe: requirement)
        return try number(key, value, mustBe: requirement, where: isValid)
    }

    func optionalNumber(
        _ key: String, mustBe requirement: String, where isValid: (Double) -> Bool
    ) throws(MeterProfileError) -> Double? {
        guard let value = table[key] else { return nil }
        return try number(key, value, mustBe: requirement, where: isValid)
    }

    private func number(
        _ key: String, _ value: TOMLValue, mustBe requirement: String, where isValid: (Double) -> Bool
    ) throws(MeterProfileError) -> Double {
        let number: Double? =
            switch value {
            case .integer(let integer): Double(integer)
            case .float(let float): float
            default: nil
            }
        guard let number, number.isFinite, isValid(number) else { throw invalid(key, mustBe: requirement, got: value) }
        return number
    }

    /// `x`, `y`, `width`, `height` of a wheel or dial.
    func box() throws(MeterProfileError) -> Box {
        let x = try integer("x", mustBe: "a pixel position ≥ 0") { $0 >= 0 }
        let y = try integer("y", mustBe: "a pixel position ≥ 0") { $0 >= 0 }
        let width = try integer("width", mustBe: "a size in pixels from 4 to 4096") { (4...4096).contains($0) }
        let height = try integer("height", mustBe: "a size in pixels from 4 to 4096") { (4...4096).contains($0) }
        return Box(x: x, y: y, width: width, height: height)
    }

    /// The elements of an array of tables (`[[wheels]]`) with the line of each; none when absent.
    func tables(_ key: String) throws(MeterProfileError) -> [(table: TOMLTable, line: Int?)] {
        guard let value = table[key] else { return [] }
        guard case .array(let elements) = value else {
            throw invalid(key, mustBe: "an array of tables, written as [[\(key)]] sections", got: value)
        }
        var tables: [(table: TOMLTable, line: Int?)] = []
        for element in elements {
            guard case .table(let element) = element else {
                throw invalid(key, mustBe: "an array of tables, written as [[\(key)]] sections", got: value)
            }
            // The first key's line stands for the element; the parser keeps no line per element.
            tables.append((element, element.entries.first?.line ?? table.line(of: key)))
        }
        return tables
    }

    private static func render(_ value: TOMLValue) -> String {
        switch value {
        case .string(let string): "\"\(string)\""
        case .integer(let integer): String(integer)
        case .float(let float): String(float)
        case .boolean(let boolean): String(boolean)
        case .array: "an array"
        case .table: "a table"
        }
    }
}

/// Paths in profiles.
enum ProfileFile {
    /// The folder part of `path`, `.` when it has none.
    static func folder(of path: String) -> String { PathText.folder(of: path) }

    /// `path` as written in a profile: absolute as is, relative to the profile's folder otherwise.
    static func resolve(_ path: String, against folder: String) -> String {
        if path.hasPrefix("/") || folder == "." { return path }
        return (folder.hasSuffix("/") ? folder : folder + "/") + path
    }
}
