import FoundationEssentials

/// The journal's JSON: the crontab is kept as base64 (exact bytes, whatever they are), and also as
/// text when it is UTF-8, so that an operator can read it and restore it by hand.
extension PauseRecord {
    private enum CodingKeys: String, CodingKey {
        case version, user, patterns, phase, workers, owner
        case pauseID = "pause_id"
        case pausedAt = "paused_at"
        case crontabBefore = "crontab_before"
        case crontabBeforeBase64 = "crontab_before_base64"
        case installingBase64 = "installing_base64"
        case pausedLines = "paused_lines"
        case resumedAt = "resumed_at"
    }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            pauseID: try container.decode(String.self, forKey: .pauseID),
            user: try container.decode(String.self, forKey: .user),
            patterns: try container.decode([String].self, forKey: .patterns),
            pausedAt: try container.decode(Date.self, forKey: .pausedAt),
            phase: try container.decode(Phase.self, forKey: .phase),
            crontabBefore: try Self.bytes(container, base64: .crontabBeforeBase64, text: .crontabBefore) ?? [],
            pausedLines: try container.decode([CrontabPause.PausedLine].self, forKey: .pausedLines),
            owner: try container.decode(String.self, forKey: .owner)
        )
        version = try container.decodeIfPresent(Int.self, forKey: .version) ?? 1
        workers = try container.decodeIfPresent([Worker].self, forKey: .workers) ?? []
        resumedAt = try container.decodeIfPresent(Date.self, forKey: .resumedAt)
        installing = try Self.bytes(container, base64: .installingBase64, text: nil)
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(version, forKey: .version)
        try container.encode(pauseID, forKey: .pauseID)
        try container.encode(user, forKey: .user)
        try container.encode(patterns, forKey: .patterns)
        try container.encode(pausedAt, forKey: .pausedAt)
        try container.encode(phase, forKey: .phase)
        try container.encode(Data(crontabBefore).base64EncodedString(), forKey: .crontabBeforeBase64)
        if let text = String(validating: crontabBefore, as: UTF8.self) {
            try container.encode(text, forKey: .crontabBefore)
        }
        try container.encode(pausedLines, forKey: .pausedLines)
        try container.encode(workers, forKey: .workers)
        try container.encodeIfPresent(resumedAt, forKey: .resumedAt)
        try container.encode(owner, forKey: .owner)
        try container.encodeIfPresent(installing.map { Data($0).base64EncodedString() }, forKey: .installingBase64)
    }

    private static func bytes(
        _ container: KeyedDecodingContainer<CodingKeys>,
        base64: CodingKeys,
        text: CodingKeys?
    ) throws -> [UInt8]? {
        if let encoded = try container.decodeIfPresent(String.self, forKey: base64) {
            guard let data = Data(base64Encoded: encoded) else {
                throw DecodingError.dataCorruptedError(forKey: base64, in: container, debugDescription: "not base64")
            }
            return Array(data)
        }
        guard let text, let plain = try container.decodeIfPresent(String.self, forKey: text) else { return nil }
        return Array(plain.utf8)
    }
}
