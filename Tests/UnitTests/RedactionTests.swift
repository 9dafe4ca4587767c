import Testing
import WardenSupport

@Suite("Redaction")
struct RedactionTests {
    @Test("hides password-like values and URI passwords, leaves the rest")
    func redacts() {
        #expect(Redaction.redact("PGPASSWORD=hunter2 psql -c 'x'") == "PGPASSWORD=*** psql -c 'x'")
        #expect(Redaction.redact("host=db password=s3cr3t user=app") == "host=db password=*** user=app")
        #expect(Redaction.redact("postgresql://app:s3cr3t@db:5432/x") == "postgresql://app:***@db:5432/x")
        #expect(Redaction.redact("token=a&secret=b") == "token=***&secret=***")
        #expect(Redaction.redact("python app-cli --runforseconds 3540") == "python app-cli --runforseconds 3540")
    }
}
