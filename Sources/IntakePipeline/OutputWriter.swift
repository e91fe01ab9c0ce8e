public import IntakeCore
/// Where a job's outputs were written.
public struct JobOutputs: Sendable, Codable, Equatable {
    public var derivative: String
    /// Counter-clockwise angle → path.
    public var rotations: [Int: String]

    public init(derivative: String, rotations: [Int: String]) {
        self.derivative = derivative
        self.rotations = rotations
    }
}

/// Puts a processed image's derivative and rotations in their places under the state root.
public enum OutputWriter {
    /// Writes every output of `image` (not yet durable: the caller syncs a batch). The 360-degree
    /// "rotation" is the derivative itself, so it is a hard link to it rather than a second copy:
    /// same bytes, no extra inode, and creating inodes is most of what writing small files costs.
    public static func write(
        _ image: ProcessedImage, job: JobID, name: String, environment: String, date: CalendarDate,
        layout: OutputLayout, size: Int, temporaryFolder: (_ destination: String) -> String? = { _ in nil }
    ) throws(IntakeError) -> JobOutputs {
        let derivative = layout.derivative(environment: environment, date: date, job: job, name: name, size: size)
        try DurableFile.write(image.derivative, to: derivative, temporaryFolder: temporaryFolder(derivative))
        var rotations: [Int: String] = [:]
        for (angle, jpeg) in image.rotations.sorted(by: { $0.key < $1.key }) {
            let path = layout.rotation(environment: environment, angle: angle, job: job, name: name)
            if angle == 360 {
                try DurableFile.link(derivative, to: path, temporaryFolder: temporaryFolder(path))
            } else {
                try DurableFile.write(jpeg, to: path, temporaryFolder: temporaryFolder(path))
            }
            rotations[angle] = path
        }
        return JobOutputs(derivative: derivative, rotations: rotations)
    }
}
