/// JSON sidecars in the inbox: `<name>.json` (or `<stem>.json`) dropped before the image `<name>`,
/// carrying what its uploader claims (the reading, the meter, the time). A sidecar is never a job
/// of its own: it is claimed with its image, right after it, into spool/sidecars/<job>.json, and is
/// filed beside the original when the job ends. One whose image never comes is set aside in
/// failed/ after `meters.sidecar_wait_seconds`, so nothing is left in the inbox unexplained.
enum Sidecar {
    static let suffix: [UInt8] = Array(".json".utf8)

    /// Whether an inbox name is a sidecar's rather than an image's.
    static func isSidecarName(_ name: [UInt8]) -> Bool {
        name.count > suffix.count && name.suffix(suffix.count).elementsEqual(suffix)
    }

    static func isSidecarName(_ name: String) -> Bool { isSidecarName(Array(name.utf8)) }

    /// The sidecar waiting beside the inbox file `image`, if any: `<name>.json` first, then
    /// `<stem>.json`. Only a regular file counts; a link named like a sidecar is never followed.
    static func beside(_ image: BytePath) -> BytePath? {
        let name = image.name
        guard !isSidecarName(name) else { return nil }
        let folder = BytePath(Array(image.bytes.dropLast(name.count + 1)))
        var candidates = [name + suffix]
        if let dot = name.lastIndex(of: UInt8(ascii: ".")), dot > 0 { candidates.append(Array(name[..<dot]) + suffix) }
        for candidate in candidates {
            let path = folder.appending(candidate)
            if path.linkStatus()?.isRegularFile == true { return path }
        }
        return nil
    }
}
