import FoundationEssentials
import SystemPackage
import WardenSupport

/// The run's writes that matter, checked: the report, the journal, the run log. A failed one is an
/// `error:` line on standard error and a non-zero exit; the workers are restored all the same
/// (their own journal was written before the crontab changed).
extension Supervisor {
    /// Writes the report to the state directory and to `--report`; returns what failed.
    func writeReport(_ report: RunReport) -> [String] {
        let text = Array((report.json.serialized(pretty: true) + "\n").utf8)
        var failures: [String] = []
        do {
            try stateDirectory.write(Data(text), to: "upgrade-report.json")
        } catch {
            failures.append("the report was not written: \(error.summary)")
        }
        if let path = settings.reportPath {
            do {
                try CheckedWrite.replace(path, with: text, durably: true)
                log.say("report: \(path)")
            } catch {
                failures.append("the report was not written: \(error.summary)")
            }
        }
        return failures
    }

    /// The journal's and the run log's failed writes so far, each said once as an `error:` line.
    func writeFailures(journal: RunJournalStore) -> [String] {
        var failures = journal.failures.map { "the run journal was not updated: \($0.summary)" }
        if let (first, count) = log.fileFailure {
            failures.append("\(count) lines were not written to the run log: \(first.summary)")
        }
        return failures
    }

    /// The exit status after the failures: each one said on standard error; 70 when the run had none of its own.
    func finalStatus(_ status: Int32, failures: [String]) -> Int32 {
        var said = Set<String>()
        for failure in failures where said.insert(failure).inserted {
            log.warn(failure)
            _ = try? FileDescriptor.standardError.writeAll(Array("error: \(failure)\n".utf8))
        }
        return failures.isEmpty || status != 0 ? status : Self.supervisorFailureStatus
    }
}
