import FoundationEssentials
import WardenSupport

/// How long something under a lock is expected to take, in seconds: a range and its middle.
package struct SecondsEstimate: Sendable, Equatable {
    package var low: Double
    package var expected: Double
    package var high: Double

    package init(low: Double, expected: Double, high: Double) {
        self.low = low
        self.expected = expected
        self.high = high
    }

    /// Nothing.
    package static let zero = SecondsEstimate(low: 0, expected: 0, high: 0)

    /// Two pieces of work one after the other.
    package static func + (left: SecondsEstimate, right: SecondsEstimate) -> SecondsEstimate {
        SecondsEstimate(
            low: left.low + right.low,
            expected: left.expected + right.expected,
            high: left.high + right.high
        )
    }

    /// `~5 s`, `~0.3 s`, `~2 min`: the expected seconds, as an operator reads them.
    package var text: String { "~" + Self.format(expected) }

    /// `1.2–4.8 s`.
    package var rangeText: String { Self.format(low, unit: false) + "–" + Self.format(high) }

    /// `5.0 s`, `42 s`, `0.04 s`, `5 min`.
    package static func format(_ seconds: Double, unit: Bool = true) -> String {
        let suffix = unit ? " s" : ""
        if seconds >= 120 { return String(printf: "%.0f", seconds / 60) + (unit ? " min" : "") }
        if seconds >= 10 { return String(printf: "%.0f", seconds) + suffix }
        if seconds >= 0.1 { return String(printf: "%.1f", seconds) + suffix }
        return String(printf: "%.2f", seconds) + suffix
    }
}

/// What a statement does to a relation's bytes under its lock, each costed at its own measured throughput.
package enum WorkKind: String, Sendable, Equatable {
    /// The heap and TOAST written anew row by row, then every index rebuilt (`ALTER COLUMN TYPE`, a volatile default).
    case rewrite
    /// The heap's tuples copied into new files outside shared buffers, then every index rebuilt (`VACUUM FULL`,
    /// `CLUSTER`): cheaper per byte than a rewrite, which inserts (and WAL-logs) row by row through shared buffers.
    case heapCopy
    /// Every row read and an expression checked (`SET NOT NULL`, `ADD CONSTRAINT … CHECK`, `ATTACH PARTITION`).
    case scan
    /// Every row read, sorted and written into one index (`CREATE INDEX`, a unique constraint's index).
    case indexBuild
    /// Every row's key looked up in the referenced table (`ADD FOREIGN KEY`, `VALIDATE CONSTRAINT` of one).
    case foreignKeyCheck

    /// How an operator names it in a summary: `rewrite`, `scan`, `index build`, `foreign-key check`.
    package var phrase: String {
        switch self {
        case .rewrite, .heapCopy: "rewrite"
        case .scan: "scan"
        case .indexBuild: "index build"
        case .foreignKeyCheck: "foreign-key check"
        }
    }
}

/// This server's throughput, measured by a short calibration on a scratch table of its own.
package struct Calibration: Sendable, Equatable, Codable {
    /// The server: its system identifier, else `host:port`.
    package var server: String
    /// Its major, such as 15.
    package var major: Int
    /// When it was measured.
    package var measuredAt: Date
    /// The calibration table's heap bytes.
    package var tableBytes: Int64
    /// Heap bytes read per second by a validating scan (`ADD CONSTRAINT … CHECK`).
    package var scanBytesPerSecond: Double
    /// Heap bytes written per second by a rewrite without indexes (`ALTER COLUMN TYPE`).
    package var rewriteBytesPerSecond: Double
    /// Heap bytes indexed per second by `CREATE INDEX` on one bigint column.
    package var indexBuildBytesPerSecond: Double
    /// Heap bytes indexed per second by `CREATE INDEX` on one text column (collation-aware comparisons).
    package var textIndexBuildBytesPerSecond: Double
    /// Heap bytes of the referencing table checked per second by `ADD FOREIGN KEY`.
    package var foreignKeyBytesPerSecond: Double
    /// How long the calibration itself took, scratch database included.
    package var tookSeconds: Double
    /// Heap bytes read per second by the same scan when the table's pages are not in shared buffers (read from the
    /// kernel, and on a cluster with data checksums verified): how a table larger than shared_buffers is
    /// always scanned (through a small ring of buffers). `nil` in a calibration kept from before it was measured.
    package var readScanBytesPerSecond: Double?
    /// The server's shared_buffers, in bytes.
    package var sharedBufferBytes: Int64?
    /// How many processes share a large `CREATE INDEX`'s heap scan: the leader and the workers
    /// `max_parallel_maintenance_workers` and `maintenance_work_mem` allow it. `nil` in a calibration kept from before.
    package var indexBuildParticipants: Int?
    /// Heap bytes copied per second by `VACUUM FULL` (no index); `nil` in a calibration kept from before.
    package var heapCopyBytesPerSecond: Double?

    package init(
        server: String,
        major: Int,
        measuredAt: Date,
        tableBytes: Int64,
        scanBytesPerSecond: Double,
        rewriteBytesPerSecond: Double,
        indexBuildBytesPerSecond: Double,
        textIndexBuildBytesPerSecond: Double,
        foreignKeyBytesPerSecond: Double,
        tookSeconds: Double,
        readScanBytesPerSecond: Double? = nil,
        sharedBufferBytes: Int64? = nil,
        heapCopyBytesPerSecond: Double? = nil
    ) {
        self.server = server
        self.major = major
        self.measuredAt = measuredAt
        self.tableBytes = tableBytes
        self.scanBytesPerSecond = scanBytesPerSecond
        self.rewriteBytesPerSecond = rewriteBytesPerSecond
        self.indexBuildBytesPerSecond = indexBuildBytesPerSecond
        self.textIndexBuildBytesPerSecond = textIndexBuildBytesPerSecond
        self.foreignKeyBytesPerSecond = foreignKeyBytesPerSecond
        self.tookSeconds = tookSeconds
        self.readScanBytesPerSecond = readScanBytesPerSecond
        self.sharedBufferBytes = sharedBufferBytes
        self.heapCopyBytesPerSecond = heapCopyBytesPerSecond
    }

    /// How long a calibration is kept.
    package static let lifetimeSeconds: Double = 86_400

    /// Whether it may be used for `server` at `major` at `now`: the same server and major, measured less than a day
    /// ago (and not in the future: a clock set back is a reason to measure again), every throughput positive (the
    /// scan from outside shared buffers included: one kept from before it was measured is measured again).
    package func isUsable(server: String, major: Int, now: Date) -> Bool {
        let age = now.timeIntervalSince(measuredAt)
        let rates = [
            scanBytesPerSecond, rewriteBytesPerSecond, indexBuildBytesPerSecond, textIndexBuildBytesPerSecond,
            foreignKeyBytesPerSecond, readScanBytesPerSecond ?? 0, heapCopyBytesPerSecond ?? 0,
        ]
        return self.server == server && self.major == major && age >= 0 && age < Self.lifetimeSeconds
            && rates.allSatisfy { $0.isFinite && $0 > 0 }
    }

    /// The cache file's name for a server and major: letters, digits, `-` and `_` of the server kept.
    package static func fileName(server: String, major: Int) -> String {
        let safe = String(server.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" }.prefix(80))
        return "calibration-\(safe)-\(major).json"
    }

    /// One line for the output: what was measured, and its own cost.
    package var summary: String {
        let megabytes = Double(tableBytes) / 1_048_576
        func rate(_ value: Double) -> String { String(printf: "%.0f MB/s", value / 1_048_576) }
        let read = readScanBytesPerSecond.map { " (\(rate($0)) from outside shared buffers)" } ?? ""
        return String(printf: "calibrated on a %.0f MB scratch table in %.1f s: ", megabytes, tookSeconds)
            + "scan \(rate(scanBytesPerSecond))\(read), rewrite \(rate(rewriteBytesPerSecond)), index build"
            + " \(rate(indexBuildBytesPerSecond)) (on text \(rate(textIndexBuildBytesPerSecond))), foreign-key check"
            + " \(rate(foreignKeyBytesPerSecond))"
            + (heapCopyBytesPerSecond.map { ", VACUUM FULL \(rate($0))" } ?? "")
    }
}

/// The estimate model: bytes divided by this server's measured throughput, per kind of work; pure.
package enum EstimateModel {
    /// The low end of the range, as a fraction of the expected seconds: the table is cached and the server idle.
    package static let lowFactor = 0.6
    /// The high end: the table is read from disk, or the server is busy.
    package static let highFactor = 2.0
    /// Tables much larger than the calibration's: their pages come from disk, not the cache, more often.
    static let coldFactor = 1.5

    /// The seconds of one piece of work on a relation of `tableBytes` (heap and TOAST, partitions summed) with
    /// `indexes` indexes built (or rebuilt after a rewrite), `textIndexes` of them on a collatable column.
    package static func seconds(
        _ kind: WorkKind,
        tableBytes: Int64,
        indexes: Int,
        textIndexes: Int = 0,
        calibration: Calibration
    ) -> SecondsEstimate {
        let bytes = Double(max(tableBytes, 0))
        let text = min(max(textIndexes, 0), max(indexes, 0))
        let builds =
            Double(max(indexes, 0) - text) * bytes / calibration.indexBuildBytesPerSecond
            + Double(text) * bytes / calibration.textIndexBuildBytesPerSecond
        // Each index build reads the heap once more, as does the rewrite (the old heap) and a scan.
        let reads = readSeconds(bytes: bytes, calibration: calibration)
        let expected: Double
        switch kind {
        case .rewrite: expected = bytes / calibration.rewriteBytesPerSecond + builds + reads * Double(1 + indexes)
        case .heapCopy:
            let rate = calibration.heapCopyBytesPerSecond ?? calibration.rewriteBytesPerSecond
            expected = bytes / rate + builds + reads * Double(1 + indexes)
        case .scan: expected = bytes / calibration.scanBytesPerSecond + reads
        case .indexBuild:
            // A large build scans the heap in parallel: its reads from the kernel are shared among the participants.
            let participants = Double(max(calibration.indexBuildParticipants ?? 1, 1))
            expected = builds + reads * Double(max(indexes, 0)) / participants
        case .foreignKeyCheck: expected = bytes / calibration.foreignKeyBytesPerSecond + reads
        }
        let cold = tableBytes > 8 * calibration.tableBytes ? coldFactor : 1
        return SecondsEstimate(low: expected * lowFactor, expected: expected, high: expected * highFactor * cold)
    }

    /// What one pass over a heap of `bytes` costs beyond the calibration's, which read its scratch table from shared
    /// buffers: nothing for a table that fits in shared_buffers (its pages may be there from its last use, as the
    /// calibration's were); a larger one cannot be, and PostgreSQL scans it through a small ring of buffers, so every
    /// page comes from the kernel
    /// (and with data checksums is verified): the difference between the calibration's scan from outside shared
    /// buffers and its scan from inside, per byte. Zero when either is unknown.
    static func readSeconds(bytes: Double, calibration: Calibration) -> Double {
        guard let read = calibration.readScanBytesPerSecond, read > 0, let shared = calibration.sharedBufferBytes,
            bytes > Double(shared)
        else { return 0 }
        return max(0, bytes / read - bytes / calibration.scanBytesPerSecond)
    }

    /// The pieces of one relation's work, each with its seconds: a rewrite is the heap written (`rewrite 162 MB`) and
    /// its indexes rebuilt (`3 indexes rebuilt`); `nil` when its size is unknown (or it was never analysed).
    package static func parts(of work: RelationWork, calibration: Calibration) -> [EstimatePart]? {
        guard let facts = work.facts, facts.tableBytes > 0 || facts.rows >= 0 else { return nil }
        let size = ForecastPlanner.describe(bytes: facts.tableBytes)
        switch work.kind {
        case .rewrite, .heapCopy:
            var parts = [
                EstimatePart(
                    label: "rewrite \(size)",
                    seconds: seconds(work.kind, tableBytes: facts.tableBytes, indexes: 0, calibration: calibration)
                )
            ]
            if facts.indexCount > 0 {
                parts.append(
                    EstimatePart(
                        label: facts.indexCount == 1 ? "1 index rebuilt" : "\(facts.indexCount) indexes rebuilt",
                        seconds: seconds(
                            .indexBuild,
                            tableBytes: facts.tableBytes,
                            indexes: facts.indexCount,
                            textIndexes: facts.textIndexCount,
                            calibration: calibration
                        )
                    )
                )
            }
            return parts
        case .indexBuild:
            let label = work.indexes == 1 ? "index build on \(size)" : "\(work.indexes) indexes built on \(size)"
            let estimate = seconds(
                .indexBuild,
                tableBytes: facts.tableBytes,
                indexes: work.indexes,
                textIndexes: work.textIndexes,
                calibration: calibration
            )
            return [EstimatePart(label: label, seconds: estimate)]
        case .scan, .foreignKeyCheck:
            let estimate = seconds(work.kind, tableBytes: facts.tableBytes, indexes: 0, calibration: calibration)
            return [EstimatePart(label: "\(work.kind.phrase) \(size)", seconds: estimate)]
        }
    }

    /// The seconds of a statement's work: each relation it rewrites or scans, in turn; `nil` when it does none, or
    /// when the size of one is unknown.
    package static func seconds(of work: [RelationWork], calibration: Calibration) -> SecondsEstimate? {
        guard !work.isEmpty else { return nil }
        var total = SecondsEstimate.zero
        for item in work {
            guard let parts = parts(of: item, calibration: calibration) else { return nil }
            for part in parts { total = total + part.seconds }
        }
        return total
    }
}

/// One piece of a statement's work and its seconds, such as `rewrite 162 MB` ~5 s.
package struct EstimatePart: Sendable, Equatable {
    /// What, as the summary names it.
    package var label: String
    package var seconds: SecondsEstimate

    package init(label: String, seconds: SecondsEstimate) {
        self.label = label
        self.seconds = seconds
    }
}
