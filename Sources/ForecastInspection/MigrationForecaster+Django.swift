import Forecast
import FoundationEssentials
import Postgres
import WardenSupport

extension MigrationForecaster {
    /// The SQL of the migrations `migrate` will run, with what to warn about and what it leaves out (RunPython).
    ///
    /// - Parameter environment: libpq's variables for Django's connection; `nil`: those of ``connectionString``.
    package func djangoSQL(_ migrate: DjangoMigrate, environment: [String: String]? = nil) async throws
        -> DjangoMigrationSQL
    {
        let variables =
            environment ?? (connectionString.flatMap { try? ConnectionEnvironment.variables(for: $0) } ?? [:])
        return try await DjangoMigrationSQL.render(migrate, environment: Self.djangoEnvironment(variables))
    }

    /// Django's environment for the read-only commands: its own application_name, and a lock timeout so that
    /// reading `django_migrations` never queues behind a lock.
    package static func djangoEnvironment(_ variables: [String: String]) -> [String: String] {
        var environment = variables
        environment["PGAPPNAME"] = "pgwarden-forecast-django"
        let inherited = environment["PGOPTIONS"] ?? ProcessInfo.processInfo.environment["PGOPTIONS"] ?? ""
        environment["PGOPTIONS"] = (inherited + " -c lock_timeout=5s").trimmed()
        return environment
    }
}
