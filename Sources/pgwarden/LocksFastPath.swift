/// `pgwarden locks` in its common one-shot forms, read without swift-argument-parser.
///
/// Parsing a command line with swift-argument-parser reflects on every command type and casts each
/// property to its protocols: the Swift runtime's protocol-conformance scans read every conformance
/// record of the binary, about 40% of the instructions of a cold `locks --json` and a good part of
/// its resident memory (BENCHMARKS.md, "Footprint"). A monitoring check runs exactly that command,
/// often. This reads only command lines whose meaning is beyond doubt: `locks` followed by any of
/// `--json`, `--all-databases` and `--dsn VALUE` (or `--dsn=VALUE`), each at most once, with a
/// value that is not blank (``ConnectionOptions/isBlank(_:)``) and does not start with `-`. Anything else (help, a repeated or unknown
/// option, `--watch`, a missing or option-like value) goes through swift-argument-parser, which
/// gives the same run for these forms (LocksFastPathTests checks each against it) and the errors
/// and help for all others.
enum LocksFastPath {
    /// The request `arguments` (the command line without the program name) make, or nil when
    /// swift-argument-parser must read them.
    static func parse(_ arguments: [String]) -> LocksRequest? {
        guard arguments.first == "locks" else { return nil }
        var request = LocksRequest()
        var rest = arguments.dropFirst()
        while let argument = rest.popFirst() {
            switch argument {
            case "--json":
                guard !request.json else { return nil }
                request.json = true
            case "--all-databases":
                guard !request.allDatabases else { return nil }
                request.allDatabases = true
            case "--dsn":
                guard request.connectionString == nil, let value = rest.popFirst(), isPlainValue(value) else {
                    return nil
                }
                request.connectionString = value
            default:
                let prefix = "--dsn="
                guard request.connectionString == nil, argument.hasPrefix(prefix) else { return nil }
                let value = String(argument.dropFirst(prefix.count))
                guard isPlainValue(value) else { return nil }
                request.connectionString = value
            }
        }
        return request
    }

    /// A value no parser could take for an option or the end of the options.
    private static func isPlainValue(_ value: String) -> Bool {
        !ConnectionOptions.isBlank(value) && !value.hasPrefix("-")
    }
}
