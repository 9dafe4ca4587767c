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
        #expect(Redaction.redact("worker --password hunter2 --x") == "worker --password *** --x")
        #expect(Redaction.redact("connecting with password=S3cr3t\u{1B}]0;x") == "connecting with password=***;x")
    }
}

@Suite("Connection string redaction")
struct ConnectionStringRedactionTests {
    @Test("key=value strings: password values hidden, quoting and spaces around = understood")
    func keyValue() {
        #expect(
            Redaction.connectionString("host=db password='a b\\' c' user=app")
                == "host=db password=*** user=app"
        )
        #expect(Redaction.connectionString("host = db  password = pw") == "host=db password=***")
        #expect(Redaction.secrets(inConnectionString: "host=db password='a b'") == ["a b", "'a b'"])
    }

    @Test("URIs: the password and secret parameters hidden")
    func uri() {
        #expect(
            Redaction.connectionString("postgresql://app:S3cr3tPw@db:5432/x?sslmode=require&password=p2")
                == "postgresql://app:***@db:5432/x?sslmode=require&password=***"
        )
        #expect(Redaction.connectionString("postgres://[::1]:5432/x") == "postgres://[::1]:5432/x")
        #expect(Redaction.secrets(inConnectionString: "postgresql://app:a%40b@db/x") == ["a%40b", "a@b"])
    }

    @Test(
        "malformed strings are hidden wholesale",
        arguments: [
            "postgresql://app:S3cr3tPw%zz@db/x", "postgresql://app:S3cr3tPw@[::1/appdb", "host=127.0.0.1 S3cr3tPw",
            "host='127.0.0.1 password=S3cr3tPw", "postgresql://app:S3cr3tPw@db/x?password",
        ]
    )
    func malformed(_ text: String) {
        #expect(Redaction.connectionString(text) == Redaction.malformedConnectionString)
        #expect(Redaction.secrets(inConnectionString: text) == nil)
    }

    @Test("libpq's parse errors lose the secret they quote, keep their shape")
    func libpqMessages() {
        let cases: [(String, String, String)] = [
            (
                "postgresql://app:S3cr3tPw%zz@db/x", "invalid percent-encoded token: \"S3cr3tPw%zz\"",
                "invalid percent-encoded token: \"***\""
            ),
            (
                "postgresql://app:S3cr3tPw@[::1/appdb",
                "end of string reached when looking for matching \"]\" in IPv6 host address in URI: \"postgresql://app:S3cr3tPw@[::1/appdb\"",
                "end of string reached when looking for matching \"]\" in IPv6 host address in URI: \"***\""
            ),
            (
                "host=127.0.0.1 S3cr3tPw", "missing \"=\" after \"S3cr3tPw\" in connection info string",
                "missing \"=\" after \"***\" in connection info string"
            ),
            ("host=x S3cr3tPw=1", "invalid connection option \"S3cr3tPw\"", "invalid connection option \"***\""),
            (
                "port=abc", "invalid integer value \"abc\" for connection option \"port\"",
                "invalid integer value \"***\" for connection option \"port\""
            ),
        ]
        for (dsn, message, expected) in cases {
            let shown = Redaction.libpqMessage(message, connectionString: dsn, parseFailed: true)
            #expect(shown == expected)
            #expect(!shown.contains("S3cr3tPw"))
        }
    }

    @Test("a connection failure keeps host and user, loses the password wherever libpq put it")
    func connectionFailure() {
        let message = "connection to server at \"db\" failed: FATAL: password authentication failed for user \"app\""
        #expect(Redaction.libpqMessage(message, connectionString: "host=db password=pw", parseFailed: false) == message)
        #expect(
            Redaction.libpqMessage(
                "could not translate \"pwd-x\"",
                connectionString: "password=pwd-x",
                parseFailed: false
            )
                == "could not translate \"***\""
        )
    }
}

@Suite("Connection string redaction: what stays readable")
struct ConnectionStringReadabilityTests {
    @Test("a misspelt lowercase key is still named; one with capitals or digits (a password) is not")
    func misspeltKey() {
        #expect(
            Redaction.libpqMessage("invalid connection option \"hots\"", connectionString: "hots=x", parseFailed: true)
                == "invalid connection option \"hots\""
        )
        #expect(
            Redaction.libpqMessage(
                "invalid connection option \"hunter2\"",
                connectionString: "hunter2=1",
                parseFailed: true
            ) == "invalid connection option \"***\""
        )
    }
}
