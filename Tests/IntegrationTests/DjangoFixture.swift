import Foundation
import TestSupport

/// The Django project of `Tests/Fixtures/django` (PyPI Django, psycopg2): app `shop`, migration 0001 creates
/// `shop_order`; pending after it, 0002 adds a column, 0003 an index (`atomic = False`), 0004 runs Python
/// (RunPython). Its settings take the database from libpq's environment.
enum DjangoFixture {
    static let packageRoot = ForecastCommandTests.packageRoot
    static let python = packageRoot + "/.venv/bin/python"
    static let managePy = packageRoot + "/Tests/Fixtures/django/manage.py"
    /// `python manage.py migrate`, as an operator types it (with paths).
    static let migrate = [python, managePy, "migrate"]
    static let pending = ["shop.0002_order_note", "shop.0003_order_total_index", "shop.0004_fill_note"]

    /// Brings `database` to `shop 0001_initial` with a few orders.
    static func prepare(_ database: ScratchDatabase) async throws {
        let result = try await TestCrontab.runOffPool(
            "/usr/bin/env",
            ["PGDATABASE=\(database.name)"] + migrate + ["shop", "0001"]
        )
        guard result.status == 0 else { throw TestSupportError("migrate shop 0001 failed: \(result.error)") }
        let session = try await database.session("pgwarden-tests-setup")
        _ = try await session.query("INSERT INTO shop_order (total) SELECT g FROM generate_series(1, 100) AS g")
        await session.close()
    }
}
