import ArgumentParser
import IntakeConfig
import IntakeWeb

/// `intake token`: the bearer tokens `intake serve` asks for on any address but loopback.
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Add, list and remove the bearer tokens intake serve accepts.",
        discussion: "Tokens are kept hashed in [web] tokens_file; a new token is printed once and kept nowhere.",
        subcommands: [Add.self, List.self, Remove.self])

    struct Options: ParsableArguments {
        @Option(help: "Configuration file (its [web] tokens_file).")
        var config: String?

        var tokensFile: String { loadConfiguration(config).web.tokensFile }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a token (or replace the one of that name) and print it once.")

        @Argument(help: "A name to know the token by, e.g. ci-beta.")
        var name: String

        @Option(help: "An environment it may upload to (repeat for more).")
        var env: [String] = []

        @Flag(help: "It may also read jobs, events and files.")
        var read = false

        @OptionGroup var options: Options

        func run() throws {
            guard !env.isEmpty || read else { fail("give the token something to do: --env ENV to upload, --read to read") }
            // A token for an environment the configuration does not have (a typo) would be
            // printed and never let anything through.
            let configured = loadConfiguration(options.config).environments.map(\.name)
            for environment in env where !configured.contains(environment) {
                fail("--env \(environment) is not an environment of the configuration (\(configured.joined(separator: ", ")))")
            }
            do {
                let secret = try TokenFile.add(name: name, environments: env, mayRead: read, to: options.tokensFile)
                output(secret + "\n")
            } catch {
                fail("\(error)")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the tokens by name, with their rights (never the tokens).")

        @OptionGroup var options: Options

        func run() throws {
            do {
                let (tokens, malformed) = try TokenFile.parse(options.tokensFile)
                for token in tokens {
                    output("\(token.name)\tupload: \(token.environments.isEmpty ? "-" : token.environments.joined(separator: ","))\tread: \(token.mayRead ? "yes" : "no")\n")
                }
                // Said, not skipped in silence: such a line is a token no request can use.
                if !malformed.isEmpty {
                    warn("\(options.tokensFile): line \(malformed.map(String.init).joined(separator: ", ")) is not a token and counts for nothing")
                }
            } catch {
                fail("\(error)")
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove the token of that name: it is refused from the next request on.")

        @Argument(help: "The token's name.")
        var name: String

        @OptionGroup var options: Options

        func run() throws {
            do {
                guard try TokenFile.remove(name: name, from: options.tokensFile) else { fail("no token named \(name)") }
            } catch {
                fail("\(error)")
            }
        }
    }
}
