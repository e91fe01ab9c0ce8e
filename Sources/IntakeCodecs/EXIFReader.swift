internal import CExif

#if canImport(Glibc)
import Glibc
#endif

/// The EXIF facts intake records, as the file holds them.
public struct EXIFInfo: Sendable, Equatable, Codable {
    public var make: String?
    public var model: String?
    public var lens: String?
    /// DateTimeOriginal as stored ("2024:05:01 13:45:10"), local time of the camera.
    public var dateTaken: String?
    /// Decimal degrees, south and west negative.
    public var latitude: Double?
    public var longitude: Double?
    /// Metres, below sea level negative.
    public var altitude: Double?
    /// The orientation tag's raw value; only 1–8 are meaningful.
    public var orientation: Int?
    /// Seconds.
    public var exposureTime: Double?
    public var fNumber: Double?
    public var iso: Int?
    /// Millimetres.
    public var focalLength: Double?
    /// Where a value came from when not from its standard EXIF tag: field name → source
    /// ("iso": "maker note (Canon)"). Absent when every value is the standard tag's.
    public var sources: [String: String]?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case make, model, lens, dateTaken = "date_taken", latitude, longitude, altitude, orientation
        case exposureTime = "exposure_time", fNumber = "f_number", iso, focalLength = "focal_length", sources
    }
}

/// What reading EXIF found. Broken EXIF never fails an image: its complaints are `problems`.
public struct EXIFReading: Sendable {
    public var info: EXIFInfo?
    public var problems: [String]
}

/// Reads EXIF through libexif, with FOLLOW_SPECIFICATION off so that it reports what the file
/// holds instead of "repairing" it.
public enum EXIFReader {
    /// Reads an APP1 payload that starts with "Exif\0\0".
    public static func read(app1 payload: UnsafeRawBufferPointer) -> EXIFReading {
        guard let data = exif_data_new() else { return EXIFReading(info: nil, problems: ["libexif out of memory"]) }
        defer { exif_data_unref(data) }
        exif_data_unset_option(data, EXIF_DATA_OPTION_FOLLOW_SPECIFICATION)

        let collector = ProblemCollector()
        let log = exif_log_new()
        defer { exif_log_unref(log) }
        exif_log_set_func(log, collectProblem, Unmanaged.passUnretained(collector).toOpaque())
        exif_data_log(data, log)

        exif_data_load_data(data, payload.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt32(clamping: payload.count))
        let info = Entries(data: data).info
        return EXIFReading(info: info, problems: collector.problems)
    }

    /// Reads a bare TIFF-structured EXIF block, as PNG's eXIf chunk holds it.
    public static func read(tiff: [UInt8]) -> EXIFReading {
        let payload = Array("Exif\0\0".utf8) + tiff
        return payload.withUnsafeBytes { read(app1: $0) }
    }
}

private final class ProblemCollector {
    var problems: [String] = []
}

/// libexif's log callback: keeps complaints about corrupt data, drops its debug chatter.
private let collectProblem: ExifLogFunc = { _, code, domain, format, arguments, context in
    guard let context, let format, let arguments, code == EXIF_LOG_CODE_CORRUPT_DATA || code == EXIF_LOG_CODE_NO_MEMORY else { return }
    var buffer = [CChar](repeating: 0, count: 512)
    _ = vsnprintf(&buffer, buffer.count, format, arguments)
    let message = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    let collector = Unmanaged<ProblemCollector>.fromOpaque(context).takeUnretainedValue()
    if collector.problems.count < 20, !collector.problems.contains(message) { collector.problems.append(message) }
}

/// Typed access to the entries of one loaded ExifData.
private struct Entries {
    let data: UnsafeMutablePointer<ExifData>
    let order: ExifByteOrder

    init(data: UnsafeMutablePointer<ExifData>) {
        self.data = data
        order = exif_data_get_byte_order(data)
    }

    enum IFD: Int { case zero = 0, exif = 2, gps = 3 }

    var info: EXIFInfo? {
        var info = EXIFInfo()
        info.make = string(.zero, 0x010F)
        info.model = string(.zero, 0x0110)
        info.orientation = integer(.zero, 0x0112)
        info.dateTaken = string(.exif, 0x9003)
        info.exposureTime = rational(.exif, 0x829A)
        info.fNumber = rational(.exif, 0x829D)
        info.iso = integer(.exif, 0x8827)
        info.focalLength = rational(.exif, 0x920A)
        info.lens = string(.exif, 0xA434)
        if info.iso == nil || info.lens == nil, let note = MakerNote(data) {
            // Cameras that keep these only in their maker note (Canon's ISO, above all).
            let source = "maker note" + (info.make.map { " (\($0))" } ?? "")
            if info.iso == nil, let iso = note.iso {
                info.iso = iso
                info.sources = (info.sources ?? [:]).merging(["iso": source]) { $1 }
            }
            if info.lens == nil, let lens = note.lens {
                info.lens = lens
                info.sources = (info.sources ?? [:]).merging(["lens": source]) { $1 }
            }
        }
        if info.dateTaken == nil, let note = entry(.exif, 0x927C),
            let date = ReconyxNote.dateTaken(
                UnsafeBufferPointer(start: note.pointee.data, count: Int(note.pointee.size)), littleEndian: order == EXIF_BYTE_ORDER_INTEL)
        {
            // Reconyx trail cameras keep the date only in their maker note, which libexif cannot read.
            info.dateTaken = date
            info.sources = (info.sources ?? [:]).merging(["date_taken": "maker note (Reconyx)"]) { $1 }
        }
        if let latitude = degrees(0x0002), let reference = string(.gps, 0x0001) {
            info.latitude = reference.hasPrefix("S") ? -latitude : latitude
        }
        if let longitude = degrees(0x0004), let reference = string(.gps, 0x0003) {
            info.longitude = reference.hasPrefix("W") ? -longitude : longitude
        }
        if let altitude = rational(.gps, 0x0006) {
            info.altitude = integer(.gps, 0x0005) == 1 ? -altitude : altitude
        }
        return info == EXIFInfo() ? nil : info
    }

    private func entry(_ ifd: IFD, _ tag: UInt32) -> UnsafeMutablePointer<ExifEntry>? {
        let content: UnsafeMutablePointer<ExifContent>? =
            withUnsafePointer(to: data.pointee.ifd) { tuple in
                tuple.withMemoryRebound(to: UnsafeMutablePointer<ExifContent>?.self, capacity: 5) { $0[ifd.rawValue] }
            }
        guard let content, let entry = exif_content_get_entry(content, ExifTag(tag)), entry.pointee.data != nil else { return nil }
        return entry
    }

    private func string(_ ifd: IFD, _ tag: UInt32) -> String? {
        guard let e = entry(ifd, tag), e.pointee.format == EXIF_FORMAT_ASCII || e.pointee.format == EXIF_FORMAT_UNDEFINED
        else { return nil }
        let bytes = UnsafeBufferPointer(start: e.pointee.data, count: Int(e.pointee.size)).prefix { $0 != 0 }
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: " \t\r\n")
        return text.isEmpty ? nil : text
    }

    private func integer(_ ifd: IFD, _ tag: UInt32) -> Int? {
        guard let e = entry(ifd, tag), e.pointee.components >= 1 else { return nil }
        let p = e.pointee.data!
        switch e.pointee.format {
        case EXIF_FORMAT_SHORT where e.pointee.size >= 2: return Int(exif_get_short(p, order))
        case EXIF_FORMAT_SSHORT where e.pointee.size >= 2: return Int(exif_get_sshort(p, order))
        case EXIF_FORMAT_LONG where e.pointee.size >= 4: return Int(exif_get_long(p, order))
        case EXIF_FORMAT_SLONG where e.pointee.size >= 4: return Int(exif_get_slong(p, order))
        case EXIF_FORMAT_BYTE, EXIF_FORMAT_UNDEFINED: return Int(p[0])
        default: return nil
        }
    }

    /// The `index`th rational of an entry, as a Double; nil for 0/0 or a zero denominator.
    private func rational(_ ifd: IFD, _ tag: UInt32, index: Int = 0) -> Double? {
        guard let e = entry(ifd, tag), Int(e.pointee.components) > index, Int(e.pointee.size) >= (index + 1) * 8 else { return nil }
        let p = e.pointee.data! + index * 8
        switch e.pointee.format {
        case EXIF_FORMAT_RATIONAL:
            let r = exif_get_rational(p, order)
            return r.denominator == 0 ? nil : Double(r.numerator) / Double(r.denominator)
        case EXIF_FORMAT_SRATIONAL:
            let r = exif_get_srational(p, order)
            return r.denominator == 0 ? nil : Double(r.numerator) / Double(r.denominator)
        default: return nil
        }
    }

    /// GPS degrees, minutes, seconds as decimal degrees.
    private func degrees(_ tag: UInt32) -> Double? {
        guard let d = rational(.gps, tag, index: 0) else { return nil }
        let m = rational(.gps, tag, index: 1) ?? 0, s = rational(.gps, tag, index: 2) ?? 0
        let value = d + m / 60 + s / 3600
        return value.isFinite && value <= 180 ? value : nil
    }
}

extension String {
    /// Without the characters of `set` at either end (Foundation's, without Foundation).
    func trimmingCharacters(in set: String) -> String {
        let unwanted = Set(set)
        var scalars = Substring(self)
        while let first = scalars.first, unwanted.contains(first) { scalars.removeFirst() }
        while let last = scalars.last, unwanted.contains(last) { scalars.removeLast() }
        return String(scalars)
    }
}
