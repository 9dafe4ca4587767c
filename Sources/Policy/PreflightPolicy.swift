import ConfigFile

/// The `[preflight]` table: what `pgwarden upgrade` may do with its forecast before the migration starts.
///
/// Nothing acts without such a table. The guard, which supervises no migration, reads it (one policy
/// file serves both) and does nothing with it.
package struct PreflightPolicy: Sendable, Equatable {
    /// `terminate_idle_in_transaction`: terminate a session idle in transaction at least this long that
    /// holds a lock a statement of the migration would wait on, so that the statement never queues.
    package var terminateIdleInTransaction: Duration?
    /// `refuse_if_waits_on_protected`: refuse to start when a statement would wait on a session that
    /// `[protect]` protects (pgwarden may not end it, and the migration would queue behind it).
    package var refuseIfWaitsOnProtected: Bool
    /// `max_rewrite_mb`: refuse to start when a statement would rewrite more than this many MiB
    /// under its lock.
    package var maxRewriteMegabytes: Int?
    /// `max_block`: refuse to start when a relation's reads or writes are expected to be blocked (the forecast's
    /// high estimate of a block) longer than this.
    package var maxBlock: MaxBlock?

    /// The limit `max_block` sets.
    package enum MaxBlock: Sendable, Equatable {
        /// A duration, such as `"5s"`.
        case duration(Duration)
        /// `"request-timeout"`: the `--request-timeout` the run is given.
        case requestTimeout
    }

    /// Creates a preflight policy.
    package init(
        terminateIdleInTransaction: Duration? = nil,
        refuseIfWaitsOnProtected: Bool = false,
        maxRewriteMegabytes: Int? = nil,
        maxBlock: MaxBlock? = nil
    ) {
        self.terminateIdleInTransaction = terminateIdleInTransaction
        self.refuseIfWaitsOnProtected = refuseIfWaitsOnProtected
        self.maxRewriteMegabytes = maxRewriteMegabytes
        self.maxBlock = maxBlock
    }

    /// The most `max_rewrite_mb` may say: 1 PiB.
    package static let maximumRewriteMegabytes = 1 << 30
}

extension PreflightPolicy {
    init(_ table: ConfigTable, file: String) throws(ConfigError) {
        var reader = ConfigTableReader(table, file: file, context: "[preflight]")
        let maxBlock: MaxBlock?
        if case .string("request-timeout")? = table.entries.first(where: { $0.key == "max_block" })?.value {
            _ = try reader.string("max_block")
            maxBlock = .requestTimeout
        } else {
            maxBlock = try reader.duration("max_block").map(MaxBlock.duration)
        }
        self.init(
            terminateIdleInTransaction: try reader.duration("terminate_idle_in_transaction", in: .zeroOrMore),
            refuseIfWaitsOnProtected: try reader.bool("refuse_if_waits_on_protected") ?? false,
            maxRewriteMegabytes: try reader.integer(
                "max_rewrite_mb",
                in: 0...PreflightPolicy.maximumRewriteMegabytes
            ),
            maxBlock: maxBlock
        )
        try reader.finish()
    }
}
