extension StatementAnalysis {
    /// The analysis with the rehearsal's locks in place of the static ones: the locks the rehearsal backend held
    /// are certain; a static lock that depends on rows (a foreign key's check or action) stays, marked so, when
    /// the rehearsal did not show it at least as strongly; every other static lock is dropped, since PostgreSQL
    /// itself did not take it. A statement the rehearsal did not run keeps its static locks, said as such.
    package func merging(_ rehearsed: RehearsedStatement?, facts: CatalogFacts) -> StatementAnalysis {
        guard let rehearsed else { return self }
        var merged = self
        switch rehearsed {
        case .notRun(let reason):
            merged.notes.append("not rehearsed (\(reason)): its locks are static analysis, not certain")
        case .unseenCode(let reason):
            merged.notes.append("not rehearsed (\(reason)): its locks are static analysis, not certain")
            // Like a DO block's, what that code locks is not forecast: a limit cannot be checked on it.
            if merged.notForecast == nil {
                merged.notForecast = "it runs code that is not PostgreSQL's own, not rehearsed on the real server"
            }
        case .ran(let locks, let temporary):
            merged.notForecast = nil
            merged.locks = locks.map { lock in
                let known = facts.relation(lock.key)
                let reason =
                    self.locks.first { $0.relation == lock.qualifiedName && $0.mode == lock.mode }?.reason
                    ?? self.locks.first { $0.relation.split(separator: ".").last.map(String.init) == lock.name }?.reason
                    ?? "taken in the rehearsal"
                return RelationLock(
                    relation: lock.qualifiedName,
                    mode: lock.mode,
                    reason: reason,
                    facts: known,
                    source: .rehearsal
                )
            }
            for lock in self.locks where lock.dependsOnRows {
                let shown = merged.locks.contains { $0.relation == lock.relation && $0.mode >= lock.mode }
                if !shown { merged.locks.append(lock) }
            }
            // Work on a relation the statement does not lock because a temporary table shadowed its name is not its
            // work; a relation it does not lock anew because its transaction already holds the lock keeps its work.
            let locked = Set(merged.locks.map(\.relation))
            let shadowed = Set(temporary.map { $0.split(separator: ".").last.map(String.init) ?? $0 })
            func shadowedWork(_ work: RelationWork) -> Bool {
                !locked.contains(work.relation)
                    && shadowed.contains(work.relation.split(separator: ".").last.map(String.init) ?? work.relation)
            }
            merged.rewrites.removeAll(where: shadowedWork)
            merged.scans.removeAll(where: shadowedWork)
            if merged.locks.isEmpty { merged.advice = [] }
            if !temporary.isEmpty {
                merged.notes.append(
                    "locks only the session's own temporary "
                        + (temporary.count == 1 ? "table " : "tables ") + temporary.joined(separator: ", ")
                        + ": no other session can hold it"
                )
            }
            // What the static analysis said of relations it resolved otherwise (an unknown name) no longer holds.
            merged.notes.removeAll { $0.hasSuffix("forecast from the statement alone") }
        }
        return merged
    }
}
