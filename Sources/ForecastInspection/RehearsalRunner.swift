import Forecast
import PGWardenSQL
import Postgres
import SQLParser

/// Runs a script's statements, in order, on the rehearsal's session on the copy, and reads after each the relation
/// locks its backend added: the statements run as the migration's session runs them (its transaction blocks, `SET`,
/// temporary tables, search_path), each inside a savepoint of the script's transaction or in a transaction of its own
/// that commits, so that what one changes the next sees.
struct RehearsalRunner {
    let session: Connection
    /// The copy is on a server of its own (`--rehearse-dsn`).
    let isolated: Bool
    /// Relations of the copy by oid, so that a lock on one the statement dropped can still be named.
    private var names: [Int: (schema: String, name: String, kind: String, persistence: String)] = [:]
    /// Whether the session is in a transaction block the script opened.
    private var inBlock = false
    /// Whether a statement since ``names`` was read may have created, renamed or dropped a relation.
    private var namesStale = false
    /// On the real server: what in the copy and the script runs code that is not PostgreSQL's own.
    private var userCode = RehearsalUserCode()
    /// On the real server: what the copy said using each set of relations runs, since the last statement that could
    /// change the catalog or how names resolve (a run of DML asks once).
    private var relationCodeSaid: [RelationCodeQuery: [RelationCode]] = [:]

    init(session: Connection, isolated: Bool) {
        self.session = session
        self.isolated = isolated
    }

    /// The rehearsal of each statement, by number; with `singleTransaction`, as if the script began with BEGIN and
    /// ended with COMMIT.
    mutating func rehearse(_ statements: [ParsedStatement], singleTransaction: Bool) async throws(PostgresError)
        -> [Int: RehearsedStatement]
    {
        try await readNames()
        if !isolated { try await readUserCode() }
        if singleTransaction {
            _ = try await session.query("BEGIN")
            inBlock = true
        }
        var results: [Int: RehearsedStatement] = [:]
        for statement in statements {
            results[statement.number] = try await rehearse(statement)
        }
        if inBlock { _ = try await session.query("ROLLBACK") }
        return results
    }

    private mutating func rehearse(_ statement: ParsedStatement) async throws(PostgresError) -> RehearsedStatement {
        let wasInBlock = inBlock
        let result = try await rehearse(statement, step: try await step(of: statement))
        var ran = false
        if case .ran = result { ran = true }
        userCode.learn(statement, ran: ran, inBlock: wasInBlock)
        if !Self.keepsCatalogAndNames(statement) { relationCodeSaid.removeAll() }
        return result
    }

    /// The statement's step; on the real server, skipped when using the relations it names would run code that is
    /// not PostgreSQL's own (the copy's catalog says, as the rehearsal's session resolves the names).
    private mutating func step(of statement: ParsedStatement) async throws(PostgresError) -> RehearsalStep {
        let step = RehearsalStep.of(statement, isolated: isolated, userCode: userCode)
        guard !isolated, step == .run || step == .outsideBlock,
            let query = RehearsalStep.relationCodeQuery(statement, userCode: userCode)
        else { return step }
        if relationCodeSaid[query] == nil { relationCodeSaid[query] = try await relationCode(query) }
        return RehearsalStep.skipping(for: relationCodeSaid[query] ?? []) ?? step
    }

    /// Whether `statement` leaves the copy's catalog and the session's name resolution as they were: INSERT, UPDATE,
    /// DELETE, MERGE and SELECT (but SELECT INTO, which creates a table), calling no `set_config` (which can set
    /// search_path). Whatever else, failed or not, may have changed either.
    static func keepsCatalogAndNames(_ statement: ParsedStatement) -> Bool {
        guard case .success(let tree) = statement.result, let (type, node) = tree.typed else { return false }
        guard ["InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt", "SelectStmt"].contains(type) else { return false }
        if type == "SelectStmt", node["intoClause"] != nil { return false }
        return !tree.descendants(ofType: "FuncCall").contains { call in
            call["funcname"]?.elements.last?.text?.lowercased() == "set_config"
        }
    }

    private mutating func rehearse(_ statement: ParsedStatement, step: RehearsalStep) async throws(PostgresError)
        -> RehearsedStatement
    {
        switch step {
        case .skip(let reason):
            return .notRun(reason: reason)
        case .unseenCode(let reason):
            return .unseenCode(reason: reason)
        case .control(let sql, let opens):
            do {
                _ = try await session.query(sql)
            } catch let error where error.code == .server {
                return .notRun(reason: "PostgreSQL refused it on the copy: \(error.message)")
            }
            inBlock = opens
            namesStale = true
            return .ran(locks: [], temporary: [])
        case .outsideBlock:
            return try await runOutsideBlock(statement.sql)
        case .run:
            // A lock is named as the relation was called before the statement: what the real database calls it now.
            if namesStale { try await readNames() }
            let result = try await run(statement.sql)
            namesStale = !isDataStatement(statement)
            return result
        }
    }

    private func isDataStatement(_ statement: ParsedStatement) -> Bool {
        guard case .success(let tree) = statement.result, let type = tree.type else { return false }
        return ["SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt", "VariableSetStmt"].contains(type)
    }

    /// Runs `sql` where its locks can be read: in a savepoint of the script's transaction, or a transaction of its own;
    /// in one round trip with the reads of the locks held before (in the script's transaction) and after.
    private mutating func run(_ sql: String) async throws(PostgresError) -> RehearsedStatement {
        let (open, close) =
            inBlock ? ("SAVEPOINT pgwarden_rehearsal", "RELEASE SAVEPOINT pgwarden_rehearsal") : ("BEGIN", "COMMIT")
        let outcomes = try await session.pipeline(
            (inBlock ? [Queries.rehearsalLocks] : []) + [open, sql, Queries.rehearsalLocks, close]
        )
        let before = inBlock ? try heldLocks(outcomes[0]) : []
        let ran = Array(outcomes.suffix(4))
        if case .failed(let error) = ran[1] {
            _ = try await session.query(inBlock ? "ROLLBACK TO SAVEPOINT pgwarden_rehearsal" : "ROLLBACK")
            if inBlock { _ = try await session.query("RELEASE SAVEPOINT pgwarden_rehearsal") }
            if !inBlock, error.sqlState == "25001" { return try await runOutsideBlock(sql) }
            return .notRun(reason: "it failed on the schema-only copy: \(error.message)")
        }
        for outcome in [ran[0], ran[3]] { try Self.require(outcome) }
        // Read first: reading names the relations the statement created, which `added` looks up.
        let after = try heldLocks(ran[2])
        return added(before: before, after: after)
    }

    /// The outcome of a statement of the rehearsal's own, which must have run.
    @discardableResult
    private static func require(_ outcome: Connection.PipelineOutcome) throws(PostgresError) -> QueryResult {
        switch outcome {
        case .ran(let result): return result
        case .failed(let error): throw error
        case .notRun: throw PostgresError(code: .server, message: "the rehearsal's pipeline stopped early")
        }
    }

    /// A statement PostgreSQL refuses inside a transaction block: it runs alone, so that the copy changes as the
    /// real database will, but its locks are gone when it ends.
    private mutating func runOutsideBlock(_ sql: String) async throws(PostgresError) -> RehearsedStatement {
        if inBlock { return .notRun(reason: "PostgreSQL refuses it inside a transaction block") }
        do {
            _ = try await session.query(sql)
        } catch let error where error.code == .server {
            return .notRun(reason: "it failed on the schema-only copy: \(error.message)")
        }
        try await readNames()
        return .notRun(reason: "it cannot run inside a transaction block, where the rehearsal reads locks")
    }

    private typealias HeldLock = (oid: Int, mode: LockMode)

    /// The relation locks the backend held as `outcome` read them, naming the relations it did not know yet (those
    /// the statement created).
    private mutating func heldLocks(_ outcome: Connection.PipelineOutcome) throws(PostgresError) -> [HeldLock] {
        var held: [HeldLock] = []
        for row in try Self.require(outcome).rows {
            let oid = try row.require(Int.self, "oid")
            guard let mode = LockMode(name: try row.require(String.self, "mode")) else { continue }
            if names[oid] == nil, let schema = try row.decode(String.self, "schema"),
                let name = try row.decode(String.self, "name")
            {
                names[oid] = (
                    schema, name, try row.require(String.self, "kind"), try row.require(String.self, "persistence")
                )
            }
            held.append((oid, mode))
        }
        return held
    }

    /// The strongest mode per relation among the locks held after that were not held before, split into the
    /// copy's relations and the session's own temporary ones.
    private func added(before: [HeldLock], after: [HeldLock]) -> RehearsedStatement {
        var locks: [RehearsedLock] = []
        var temporary: [String] = []
        for lock in after where !before.contains(where: { $0.oid == lock.oid && $0.mode == lock.mode }) {
            guard let relation = names[lock.oid], ["r", "p", "v", "m", "f"].contains(relation.kind),
                !["pg_catalog", "information_schema"].contains(relation.schema),
                !relation.schema.hasPrefix("pg_toast")
            else { continue }
            if relation.persistence == "t" {
                if !temporary.contains(relation.name) { temporary.append(relation.name) }
                continue
            }
            if let index = locks.firstIndex(where: { $0.schema == relation.schema && $0.name == relation.name }) {
                locks[index].mode = max(locks[index].mode, lock.mode)
            } else {
                locks.append(RehearsedLock(schema: relation.schema, name: relation.name, mode: lock.mode))
            }
        }
        return .ran(locks: locks, temporary: temporary)
    }

    /// Reads what in the copy runs code that is not PostgreSQL's own: functions, operators, domains, casts.
    private mutating func readUserCode() async throws(PostgresError) {
        var functions: Set<String> = []
        var operators: Set<String> = []
        var domains: Set<String> = []
        var castTypes: Set<String> = []
        for row in try await session.query(Queries.rehearsalUserCode).rows {
            let name = try row.require(String.self, "name")
            switch try row.require(String.self, "kind") {
            case "f": functions.insert(name)
            case "o": operators.insert(name)
            case "c": castTypes.insert(name)
            default: domains.insert(name)
            }
        }
        userCode = RehearsalUserCode(
            functions: functions,
            operators: operators,
            domains: domains,
            castTypes: castTypes
        )
    }

    /// What using the query's relations would run, by the copy's catalog, in the rehearsal's own session.
    private func relationCode(_ query: RelationCodeQuery) async throws(PostgresError) -> [RelationCode] {
        let names =
            "{"
            + query.names.map { "\"" + $0.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"") + "\"" }
            .joined(separator: ",") + "}"
        return try await session.query(Queries.rehearsalRelationCode, [names, String(query.events)]).rows.map {
            row throws(PostgresError) in
            RelationCode(
                relation: try row.require(String.self, "relation"),
                what: try row.require(String.self, "what"),
                function: try row.require(String.self, "function")
            )
        }
    }

    /// Reads the copy's relations by oid.
    private mutating func readNames() async throws(PostgresError) {
        for row in try await session.query(Queries.rehearsalRelations).rows {
            names[try row.require(Int.self, "oid")] = (
                try row.require(String.self, "schema"), try row.require(String.self, "name"),
                try row.require(String.self, "kind"), try row.require(String.self, "persistence")
            )
        }
    }
}
