/// Counts written as people read them: `1 crontab line`, `2 crontab lines`.
package enum Plural {
    /// `count` followed by `singular` when it is 1, else by `plural`.
    package static func count(_ count: Int, _ singular: String, _ plural: String) -> String {
        "\(count) " + (count == 1 ? singular : plural)
    }
}
