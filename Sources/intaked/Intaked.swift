import IntakeConfig

/// The daemon's entry point. The watcher, queue and workers arrive with the daemon issue; until
/// then this validates the configuration so that `make run` exercises what exists.
@main
struct Intaked {
    static func main() throws {
        var arguments = CommandLine.arguments.dropFirst()
        var configPath: String?
        while let argument = arguments.popFirst() {
            if argument == "--config" { configPath = arguments.popFirst() }
        }
        let configuration = try ConfigurationFile.load(explicitPath: configPath)
        print("intaked: configuration valid; state root \(configuration.daemon.root)")
    }
}
