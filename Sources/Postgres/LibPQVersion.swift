import CLibPQ

/// The libpq this binary runs with (the shared library loaded, not the headers it was built against).
package enum LibPQVersion {
    /// `PQlibVersion()`, such as `150004`.
    package static var number: Int { Int(PQlibVersion()) }

    /// `15.4`, or `9.6.24` for a release before 10.
    package static var text: String { format(number) }

    /// `150004` as `15.4`; `90624` as `9.6.24`.
    package static func format(_ number: Int) -> String {
        number >= 100_000
            ? "\(number / 10_000).\(number % 10_000)"
            : "\(number / 10_000).\(number / 100 % 100).\(number % 100)"
    }
}
