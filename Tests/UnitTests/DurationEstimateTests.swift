import Forecast
import Foundation
import Testing

@Suite("The estimate model: bytes over this server's measured throughput")
struct DurationEstimateTests {
    static let megabyte: Double = 1_048_576

    /// 40 MB calibrated: scan 200 MB/s, rewrite 50 MB/s, index build 100 MB/s, foreign-key check 80 MB/s.
    static let calibration = Calibration(
        server: "7000000000000000001",
        major: 15,
        measuredAt: Date(timeIntervalSince1970: 1_800_000_000),
        tableBytes: 40 << 20,
        scanBytesPerSecond: 200 * megabyte,
        rewriteBytesPerSecond: 50 * megabyte,
        indexBuildBytesPerSecond: 100 * megabyte,
        textIndexBuildBytesPerSecond: 25 * megabyte,
        foreignKeyBytesPerSecond: 80 * megabyte,
        tookSeconds: 2.5,
        readScanBytesPerSecond: 200 * megabyte,
        sharedBufferBytes: 128 << 20,
        heapCopyBytesPerSecond: 50 * megabyte
    )

    @Test(
        "a table larger than shared_buffers comes from the kernel: each pass over its heap costs the calibration's scan from outside shared buffers, an index build's shared among its parallel participants"
    )
    func readFromOutsideSharedBuffers() {
        var calibration = Self.calibration
        calibration.readScanBytesPerSecond = 100 * Self.megabyte  // 10 ms/MB against 5 ms/MB from shared buffers
        // 100 MB, under 128 MB: it may be cached, as calibrated.
        for kind in [WorkKind.scan, .rewrite, .indexBuild, .foreignKeyCheck] {
            #expect(
                EstimateModel.seconds(kind, tableBytes: 100 << 20, indexes: 1, calibration: calibration)
                    == EstimateModel.seconds(kind, tableBytes: 100 << 20, indexes: 1, calibration: Self.calibration)
            )
        }
        // 200 MB: 1 s more per pass over the heap.
        let bytes: Int64 = 200 << 20
        let scan = EstimateModel.seconds(.scan, tableBytes: bytes, indexes: 0, calibration: calibration)
        #expect(abs(scan.expected - (1.0 + 1.0)) < 1e-9)
        let check = EstimateModel.seconds(.foreignKeyCheck, tableBytes: bytes, indexes: 0, calibration: calibration)
        #expect(abs(check.expected - (2.5 + 1.0)) < 1e-9)
        let builds = EstimateModel.seconds(
            .indexBuild,
            tableBytes: bytes,
            indexes: 2,
            textIndexes: 1,
            calibration: calibration
        )
        #expect(abs(builds.expected - (2.0 + 8.0 + 2 * 1.0)) < 1e-9)
        // Two processes share a build's heap scan (the leader and one worker): half its reads from the kernel each.
        calibration.indexBuildParticipants = 2
        let parallel = EstimateModel.seconds(
            .indexBuild,
            tableBytes: bytes,
            indexes: 2,
            textIndexes: 1,
            calibration: calibration
        )
        #expect(abs(parallel.expected - (2.0 + 8.0 + 2 * 1.0 / 2)) < 1e-9)
        // The old heap read once, then each index rebuilt reads the new one.
        let rewrite = EstimateModel.seconds(.rewrite, tableBytes: bytes, indexes: 3, calibration: calibration)
        #expect(abs(rewrite.expected - (4.0 + 6.0 + 4 * 1.0)) < 1e-9)
        // A read scan faster than the scan from shared buffers (noise) adds nothing.
        calibration.readScanBytesPerSecond = 400 * Self.megabyte
        #expect(
            EstimateModel.seconds(.scan, tableBytes: bytes, indexes: 0, calibration: calibration).expected == 1.0
        )
    }

    @Test("VACUUM FULL and CLUSTER copy the heap at the calibrated VACUUM FULL's rate, then rebuild the indexes")
    func heapCopy() {
        var calibration = Self.calibration
        calibration.heapCopyBytesPerSecond = 100 * Self.megabyte
        let bytes: Int64 = 100 << 20
        let copy = EstimateModel.seconds(.heapCopy, tableBytes: bytes, indexes: 2, calibration: calibration)
        #expect(abs(copy.expected - (1.0 + 2 * 1.0)) < 1e-9)
        // A calibration without it: the rewrite's rate.
        calibration.heapCopyBytesPerSecond = nil
        let fallback = EstimateModel.seconds(.heapCopy, tableBytes: bytes, indexes: 2, calibration: calibration)
        #expect(abs(fallback.expected - (2.0 + 2 * 1.0)) < 1e-9)
        #expect(WorkKind.heapCopy.phrase == "rewrite")
    }

    @Test("a calibration kept from before the scan from outside shared buffers was measured is measured again")
    func keptWithoutReadScan() {
        var old = Self.calibration
        old.readScanBytesPerSecond = nil
        old.sharedBufferBytes = nil
        #expect(!old.isUsable(server: old.server, major: 15, now: old.measuredAt.addingTimeInterval(60)))
        let json =
            #"{"server":"s","major":15,"measuredAt":0,"tableBytes":1,"scanBytesPerSecond":1,"rewriteBytesPerSecond":1,"indexBuildBytesPerSecond":1,"textIndexBuildBytesPerSecond":1,"foreignKeyBytesPerSecond":1,"tookSeconds":1}"#
        let decoded = try? JSONDecoder().decode(Calibration.self, from: Data(json.utf8))
        #expect(decoded?.readScanBytesPerSecond == nil)
        #expect(
            decoded.map { EstimateModel.seconds(.scan, tableBytes: 1 << 30, indexes: 0, calibration: $0).expected }
                == Double(1 << 30)
        )
    }

    @Test("each kind of work costs its bytes at its own throughput")
    func perKind() {
        let bytes: Int64 = 100 << 20
        let scan = EstimateModel.seconds(.scan, tableBytes: bytes, indexes: 0, calibration: Self.calibration)
        #expect(abs(scan.expected - 0.5) < 1e-9)
        let build = EstimateModel.seconds(.indexBuild, tableBytes: bytes, indexes: 1, calibration: Self.calibration)
        #expect(abs(build.expected - 1.0) < 1e-9)
        let check = EstimateModel.seconds(
            .foreignKeyCheck,
            tableBytes: bytes,
            indexes: 0,
            calibration: Self.calibration
        )
        #expect(abs(check.expected - 1.25) < 1e-9)
        let text = EstimateModel.seconds(
            .indexBuild,
            tableBytes: bytes,
            indexes: 2,
            textIndexes: 1,
            calibration: Self.calibration
        )
        #expect(abs(text.expected - (1.0 + 4.0)) < 1e-9)
    }

    @Test("a rewrite writes the heap, then rebuilds every index")
    func rewriteRebuildsIndexes() {
        let bytes: Int64 = 100 << 20
        let bare = EstimateModel.seconds(.rewrite, tableBytes: bytes, indexes: 0, calibration: Self.calibration)
        #expect(abs(bare.expected - 2.0) < 1e-9)
        let indexed = EstimateModel.seconds(.rewrite, tableBytes: bytes, indexes: 3, calibration: Self.calibration)
        #expect(abs(indexed.expected - 5.0) < 1e-9)
    }

    @Test("the range brackets the expected seconds, wider for a table far larger than the calibration's")
    func range() {
        let small = EstimateModel.seconds(.scan, tableBytes: 100 << 20, indexes: 0, calibration: Self.calibration)
        #expect(small.low < small.expected && small.expected < small.high)
        #expect(abs(small.high / small.expected - EstimateModel.highFactor) < 1e-9)
        let large = EstimateModel.seconds(.scan, tableBytes: 1 << 30, indexes: 0, calibration: Self.calibration)
        #expect(large.high / large.expected > EstimateModel.highFactor)
    }

    @Test("a statement's work is summed; unknown size or no work gives no estimate")
    func statementSum() {
        var facts = RelationFacts(oid: 1, qualifiedName: "public.t", kind: "r", bytes: 150 << 20, rows: 1000)
        facts.tableBytes = 100 << 20
        facts.indexCount = 2
        let work = [
            RelationWork(relation: "public.t", reason: "type change", facts: facts, kind: .rewrite),
            RelationWork(relation: "public.t", reason: "check", facts: facts, kind: .scan),
        ]
        let total = EstimateModel.seconds(of: work, calibration: Self.calibration)
        let expected: Double = 2.0 + 2 * 1.0 + 0.5
        #expect(abs((total?.expected ?? 0) - expected) < 1e-9)
        #expect(EstimateModel.seconds(of: [], calibration: Self.calibration) == nil)
        let unknown = [RelationWork(relation: "t", reason: "x", facts: nil, kind: .scan)]
        #expect(EstimateModel.seconds(of: unknown, calibration: Self.calibration) == nil)
    }

    @Test("a calibration is used for its own server and major for a day, never from the future")
    func freshness() {
        let at = Self.calibration.measuredAt
        let server = Self.calibration.server
        #expect(Self.calibration.isUsable(server: server, major: 15, now: at.addingTimeInterval(3600)))
        #expect(!Self.calibration.isUsable(server: server, major: 15, now: at.addingTimeInterval(86_401)))
        #expect(!Self.calibration.isUsable(server: server, major: 15, now: at.addingTimeInterval(-60)))
        #expect(!Self.calibration.isUsable(server: server, major: 18, now: at))
        #expect(!Self.calibration.isUsable(server: "other", major: 15, now: at))
        var broken = Self.calibration
        broken.scanBytesPerSecond = 0
        #expect(!broken.isUsable(server: server, major: 15, now: at))
    }

    @Test("the cache file is named by server and major, safely")
    func fileName() {
        #expect(Calibration.fileName(server: "db.example:5432", major: 15) == "calibration-db_example_5432-15.json")
        #expect(!Calibration.fileName(server: "../../etc/passwd", major: 15).contains("/"))
    }

    @Test("estimates read as an operator reads seconds")
    func text() {
        #expect(SecondsEstimate(low: 3, expected: 5, high: 10).text == "~5.0 s")
        #expect(SecondsEstimate(low: 3, expected: 42, high: 90).text == "~42 s")
        #expect(SecondsEstimate(low: 0.01, expected: 0.04, high: 0.08).text == "~0.04 s")
        #expect(SecondsEstimate(low: 100, expected: 300, high: 600).text == "~5 min")
        #expect(SecondsEstimate(low: 1.2, expected: 2, high: 4.8).rangeText == "1.2–4.8 s")
    }
}
