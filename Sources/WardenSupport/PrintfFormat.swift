#if canImport(Glibc)
    import Glibc
#endif

extension String {
    /// `format` filled in as C's `printf` does (`%.1f`, `%02d`, `%04x`), with the C locale's `.`
    /// as decimal point: what `String(format:)` gave, without the whole of Foundation.
    package init(printf format: String, _ arguments: any CVarArg...) {
        self = withVaList(arguments) { list in
            var buffer = [CChar](repeating: 0, count: 512)
            let length = Int(
                buffer.withUnsafeMutableBufferPointer { vsnprintf($0.baseAddress, $0.count, format, list) }
            )
            guard length >= buffer.count else {
                return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            }
            // Longer than the buffer: once more with room for all of it.
            return withVaList(arguments) { again in
                var large = [CChar](repeating: 0, count: length + 1)
                _ = large.withUnsafeMutableBufferPointer { vsnprintf($0.baseAddress, $0.count, format, again) }
                return large.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            }
        }
    }
}
