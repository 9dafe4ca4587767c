/// A statement to send in a pipeline, its parameters already in text form (`nil`: SQL `NULL`).
package struct PipelinedStatement: Sendable {
    /// The statement; parameters are written `$1`, `$2`, ….
    package var sql: String
    /// The parameters' text.
    package var parameters: [String?]

    /// Creates a statement.
    package init(sql: String, parameters: [String?] = []) {
        self.sql = sql
        self.parameters = parameters
    }
}
